// libnss_elevate.so.2: the group database for role groups. Entry points
// only; the snapshot is read by common/snapshot/reader.cpp and packed by
// group_pack.cpp. glibc dlopens this into every process that resolves a
// group (sudo, sshd, id, ls...), so (DESIGN.md invariant 8, STYLE.md):
//   - no constructors, destructors, thread_local or threads; set-up runs
//     once under pthread_once on the first call;
//   - libc only (checked by tests/abi); nothing but _nss_elevate_* exported
//     (nss_elevate.map);
//   - no sockets, no daemon: the snapshot file is the whole interface, so
//     a stopped daemon cannot make a lookup hang;
//   - errno is kept across every call except for what *errnop reports;
//   - status values, chosen on purpose (docs/SNAPSHOT.md):
//       SUCCESS              the entry
//       NOTFOUND + ENOENT    the snapshot is valid and has no such group
//                            (or, for initgroups, no active membership)
//       UNAVAIL  + ENOENT    no usable snapshot: missing, unreadable, not
//                            root's, corrupt, unknown version ("no data":
//                            glibc moves on to the next service)
//       UNAVAIL  + errno     EMFILE, ENFILE, ENOMEM... (transient)
//       TRYAGAIN + ERANGE    the caller's buffer is too small: glibc retries
//                            with a larger one
//       TRYAGAIN + ENOMEM    initgroups_dyn could not grow the gid array
#include "common/snapshot/reader.h"
#include "nss_module/group_pack.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <nss.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSS_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using elevate::snapshot::Error;
using elevate::snapshot::GroupRef;
using elevate::snapshot::Lease;
using elevate::snapshot::Reader;

constinit Reader g_reader;
pthread_once_t g_once = PTHREAD_ONCE_INIT;
// An override that is not an absolute path shorter than PATH_MAX leaves
// this empty: every lookup then reports "no data" rather than silently
// reading the system snapshot.
char g_path[PATH_MAX] = ELEVATE_SNAPSHOT_DEFAULT_PATH;

// Enumeration state: the name of the last group returned, not an index, so
// a snapshot replaced halfway through neither repeats nor skips a group
// present in both, and cannot loop.
pthread_mutex_t g_enum_lock = PTHREAD_MUTEX_INITIALIZER;
char g_enum_last[ELEVATE_SNAPSHOT_MAX_NAME + 1];
size_t g_enum_last_len = 0;  // 0: start from the first group

void fork_prepare() {
    pthread_mutex_lock(&g_enum_lock);
    g_reader.fork_prepare();
}

void fork_parent() {
    g_reader.fork_parent();
    pthread_mutex_unlock(&g_enum_lock);
}

void fork_child() {
    g_reader.fork_child();
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&g_enum_lock, &fresh, sizeof g_enum_lock);
}

void init_once() {
    // secure_getenv: ignored in set-uid/set-gid (AT_SECURE) processes, so
    // nobody can point sudo or su at a snapshot of their own.
    const char* override_path = secure_getenv("ELEVATE_NSS_SNAPSHOT");
    if (override_path != nullptr) {
        size_t len = strnlen(override_path, sizeof g_path);
        if (override_path[0] == '/' && len < sizeof g_path)
            memcpy(g_path, override_path, len + 1);
        else
            g_path[0] = '\0';
    }
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int64_t wall_now() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec);
}

// Keeps the caller's errno: every return goes through done(), which puts
// errno back first and only then sets *errnop (glibc passes &errno).
class Call {
public:
    explicit Call(int* errnop) : errnop_(errnop), saved_(errno) { pthread_once(&g_once, init_once); }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    enum nss_status done(enum nss_status status, int err = 0) {
        errno = saved_;
        if (err != 0 && errnop_ != nullptr) *errnop_ = err;
        return status;
    }

    // The one place where "no snapshot" becomes an NSS status.
    enum nss_status no_data(Error e, int sys_errno) {
        if (e == Error::Resource && sys_errno != 0) return done(NSS_STATUS_UNAVAIL, sys_errno);
        return done(NSS_STATUS_UNAVAIL, ENOENT);
    }

private:
    int* errnop_;
    int saved_;
};

enum nss_status lookup(Call& call, const char* name, bool by_gid, gid_t gid, struct group* gr, char* buffer,
                       size_t buflen) {
    if (gr == nullptr || (!by_gid && name == nullptr)) return call.done(NSS_STATUS_NOTFOUND, ENOENT);
    Lease lease;
    int sys_errno = 0;
    Error e = g_reader.acquire(g_path, &lease, &sys_errno);
    if (e != Error::None) return call.no_data(e, sys_errno);
    GroupRef g;
    bool found = by_gid ? lease.view().find_gid(uint32_t(gid), &g)
                        : lease.view().find_group(name, strnlen(name, ELEVATE_SNAPSHOT_MAX_NAME + 1), &g);
    if (!found) return call.done(NSS_STATUS_NOTFOUND, ENOENT);
    if (elevate::nss::pack_group(lease.view(), g, wall_now(), gr, buffer, buflen) != 0)
        return call.done(NSS_STATUS_TRYAGAIN, ERANGE);
    return call.done(NSS_STATUS_SUCCESS);
}

// Signals stay blocked while the enumeration lock is held, as while a
// lease is: a handler that enumerated groups would deadlock otherwise.
class EnumLock {
public:
    EnumLock() {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved_);
        pthread_mutex_lock(&g_enum_lock);
    }
    ~EnumLock() {
        pthread_mutex_unlock(&g_enum_lock);
        pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
    }
    EnumLock(const EnumLock&) = delete;
    EnumLock& operator=(const EnumLock&) = delete;

private:
    sigset_t saved_;
};

void rewind_enumeration() {
    EnumLock lock;
    g_enum_last_len = 0;
    g_enum_last[0] = '\0';
}

}  // namespace

NSS_EXPORT enum nss_status _nss_elevate_getgrnam_r(const char* name, struct group* gr, char* buffer, size_t buflen,
                                                   int* errnop) {
    Call call(errnop);
    return lookup(call, name, false, 0, gr, buffer, buflen);
}

NSS_EXPORT enum nss_status _nss_elevate_getgrgid_r(gid_t gid, struct group* gr, char* buffer, size_t buflen,
                                                   int* errnop) {
    Call call(errnop);
    return lookup(call, nullptr, true, gid, gr, buffer, buflen);
}

NSS_EXPORT enum nss_status _nss_elevate_setgrent(int /*stayopen*/) {
    Call call(nullptr);
    rewind_enumeration();
    return call.done(NSS_STATUS_SUCCESS);
}

NSS_EXPORT enum nss_status _nss_elevate_endgrent(void) {
    Call call(nullptr);
    rewind_enumeration();
    return call.done(NSS_STATUS_SUCCESS);
}

NSS_EXPORT enum nss_status _nss_elevate_getgrent_r(struct group* gr, char* buffer, size_t buflen, int* errnop) {
    Call call(errnop);
    if (gr == nullptr) return call.done(NSS_STATUS_NOTFOUND, ENOENT);
    EnumLock lock;
    Lease lease;
    int sys_errno = 0;
    Error e = g_reader.acquire(g_path, &lease, &sys_errno);
    if (e != Error::None) return call.no_data(e, sys_errno);
    GroupRef g;
    if (!lease.view().group_after(g_enum_last, g_enum_last_len, &g)) return call.done(NSS_STATUS_NOTFOUND, ENOENT);
    // On ERANGE the position stays, so glibc's retry gets the same group.
    if (elevate::nss::pack_group(lease.view(), g, wall_now(), gr, buffer, buflen) != 0)
        return call.done(NSS_STATUS_TRYAGAIN, ERANGE);
    memcpy(g_enum_last, g.name, g.name_len);
    g_enum_last[g.name_len] = '\0';
    g_enum_last_len = g.name_len;
    return call.done(NSS_STATUS_SUCCESS);
}

NSS_EXPORT enum nss_status _nss_elevate_initgroups_dyn(const char* user, gid_t group, long int* start, long int* size,
                                                       gid_t** groupsp, long int limit, int* errnop) {
    Call call(errnop);
    if (user == nullptr || start == nullptr || size == nullptr || groupsp == nullptr)
        return call.done(NSS_STATUS_NOTFOUND, ENOENT);
    Lease lease;
    int sys_errno = 0;
    Error e = g_reader.acquire(g_path, &lease, &sys_errno);
    if (e != Error::None) return call.no_data(e, sys_errno);
    int err = 0;
    long added = elevate::nss::append_groups(lease.view(), user, group, wall_now(), start, size, groupsp, limit, &err);
    if (added < 0) return call.done(NSS_STATUS_TRYAGAIN, err);
    if (added == 0) return call.done(NSS_STATUS_NOTFOUND, ENOENT);
    return call.done(NSS_STATUS_SUCCESS);
}
