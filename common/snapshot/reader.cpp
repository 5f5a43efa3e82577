// Snapshot reader. libc only (this file ends up inside libnss_elevate.so.2):
// no std::, no new/delete, no static objects with constructors, no guards.
// docs/SNAPSHOT.md says what is checked and why.
#include "common/snapshot/reader.h"

#include "common/base/unique_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace elevate::snapshot {

namespace {

constexpr size_t kHeaderSize = sizeof(elevate_snapshot_header);

// strcmp order over counted strings: bytes as unsigned, a proper prefix
// first. The writer sorts std::string with operator<, which is the same.
int compare(const char* a, size_t alen, const char* b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) return c;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

struct Section {
    uint64_t offset;
    uint64_t length;
};

bool section_inside(const Section& s, uint64_t header_size, uint64_t size) {
    return s.offset % 8 == 0 && s.offset >= header_size && s.offset <= size && s.length <= size - s.offset;
}

// Sections that hold bytes must not share any.
bool sections_disjoint(Section* s, int n) {
    for (int i = 1; i < n; ++i) {  // insertion sort by offset, n <= 6
        Section key = s[i];
        int j = i - 1;
        while (j >= 0 && s[j].offset > key.offset) {
            s[j + 1] = s[j];
            --j;
        }
        s[j + 1] = key;
    }
    uint64_t end = 0;
    for (int i = 0; i < n; ++i) {
        if (s[i].length == 0) continue;
        if (s[i].offset < end) return false;
        end = s[i].offset + s[i].length;
    }
    return true;
}

bool owner_ok(const struct stat& st) {
    return st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

Error classify_errno(int err, int* sys_errno) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
            return Error::Missing;
        case EMFILE:
        case ENFILE:
        case ENOMEM:
        case EAGAIN:
        case EINTR:
        case ENOBUFS:
            if (sys_errno) *sys_errno = err;
            return Error::Resource;
        default:
            return Error::Unreadable;
    }
}

void block_signals(sigset_t* saved) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, saved);
}

void restore_signals(const sigset_t* saved) {
    pthread_sigmask(SIG_SETMASK, saved, nullptr);
}

// The directory holding the snapshot must be root's alone too (or sticky,
// like /tmp): otherwise someone could rename an old, still root-owned
// snapshot back into place and revive a revoked grant.
Error check_directory(const char* path, int* sys_errno) {
    char dir[PATH_MAX];
    size_t n = strnlen(path, sizeof dir);
    if (n == sizeof dir) return Error::Unreadable;
    const char* slash = static_cast<const char*>(memrchr(path, '/', n));
    if (slash == nullptr) {
        dir[0] = '.';
        dir[1] = '\0';
    } else if (slash == path) {
        dir[0] = '/';
        dir[1] = '\0';
    } else {
        size_t len = size_t(slash - path);
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    struct stat st;
    if (stat(dir, &st) != 0) return classify_errno(errno, sys_errno);
    if (!S_ISDIR(st.st_mode)) return Error::NotRegular;
    if (st.st_uid != 0) return Error::Insecure;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) return Error::Insecure;
    return Error::None;
}

}  // namespace

const char* error_name(Error e) {
    switch (e) {
        case Error::None:
            return "none";
        case Error::Missing:
            return "missing";
        case Error::Unreadable:
            return "unreadable";
        case Error::NotRegular:
            return "not-regular";
        case Error::Insecure:
            return "insecure";
        case Error::Size:
            return "size";
        case Error::Magic:
            return "magic";
        case Error::ByteOrder:
            return "byte-order";
        case Error::Version:
            return "version";
        case Error::Header:
            return "header";
        case Error::Checksum:
            return "checksum";
        case Error::Layout:
            return "layout";
        case Error::Limits:
            return "limits";
        case Error::Strings:
            return "strings";
        case Error::Groups:
            return "groups";
        case Error::Users:
            return "users";
        case Error::Members:
            return "members";
        case Error::Index:
            return "index";
        case Error::Resource:
            return "resource";
    }
    return "unknown";
}

// ---------------------------------------------------------------------------
// View: validation

Error View::validate(const void* data, size_t size, View* out) {
    if (data == nullptr || reinterpret_cast<uintptr_t>(data) % 8 != 0) return Error::Layout;
    if (size < kHeaderSize || size > ELEVATE_SNAPSHOT_MAX_FILE_SIZE) return Error::Size;
    const uint8_t* base = static_cast<const uint8_t*>(data);

    elevate_snapshot_header h;
    memcpy(&h, base, kHeaderSize);
    if (memcmp(h.magic, ELEVATE_SNAPSHOT_MAGIC, ELEVATE_SNAPSHOT_MAGIC_SIZE) != 0) return Error::Magic;
    if (h.byte_order != ELEVATE_SNAPSHOT_BYTE_ORDER) return Error::ByteOrder;
    if (h.version_major != ELEVATE_SNAPSHOT_VERSION_MAJOR) return Error::Version;
    if (h.header_size < kHeaderSize || h.header_size > ELEVATE_SNAPSHOT_MAX_HEADER_SIZE || h.header_size % 8 != 0 ||
        h.header_size > size || h.flags != 0 || h.reserved != 0)
        return Error::Header;
    if (h.file_size != size || size % 8 != 0) return Error::Size;
    if (elevate_snapshot_checksum(static_cast<const uint64_t*>(data), size / 8) != h.checksum) return Error::Checksum;

    if (h.group_count > ELEVATE_SNAPSHOT_MAX_GROUPS || h.member_count > ELEVATE_SNAPSHOT_MAX_MEMBERS ||
        h.user_count > h.member_count)
        return Error::Limits;
    Section sections[6] = {
        {h.groups_offset, uint64_t(h.group_count) * sizeof(elevate_snapshot_group)},
        {h.gid_index_offset, uint64_t(h.group_count) * sizeof(uint32_t)},
        {h.users_offset, uint64_t(h.user_count) * sizeof(elevate_snapshot_user)},
        {h.members_offset, uint64_t(h.member_count) * sizeof(elevate_snapshot_member)},
        {h.user_index_offset, uint64_t(h.member_count) * sizeof(uint32_t)},
        {h.strings_offset, h.strings_size},
    };
    for (const Section& sec : sections)
        if (!section_inside(sec, h.header_size, size)) return Error::Layout;
    if (!sections_disjoint(sections, 6)) return Error::Layout;

    View v;
    v.base_ = base;
    v.groups_ = reinterpret_cast<const elevate_snapshot_group*>(base + h.groups_offset);
    v.gid_index_ = reinterpret_cast<const uint32_t*>(base + h.gid_index_offset);
    v.users_ = reinterpret_cast<const elevate_snapshot_user*>(base + h.users_offset);
    v.members_ = reinterpret_cast<const elevate_snapshot_member*>(base + h.members_offset);
    v.user_index_ = reinterpret_cast<const uint32_t*>(base + h.user_index_offset);
    v.strings_ = reinterpret_cast<const char*>(base + h.strings_offset);
    v.strings_size_ = h.strings_size;
    v.group_count_ = h.group_count;
    v.member_count_ = h.member_count;
    v.user_count_ = h.user_count;
    v.generation_ = h.generation;
    v.written_at_ = h.written_at;
    if (v.strings_size_ > 0 && v.strings_[v.strings_size_ - 1] != '\0') return Error::Strings;

    Error e = v.check_users();
    if (e == Error::None) e = v.check_groups();
    if (e != Error::None) return e;
    *out = v;
    return Error::None;
}

Error View::check_sorted_name(uint32_t off, uint32_t len, Error unordered, const char** prev,
                              uint32_t* prev_len) const {
    const char* name;
    if (!string_at(off, len, &name) || !elevate_account_name_ok(name, len)) return Error::Strings;
    if (*prev != nullptr && compare(*prev, *prev_len, name, len) >= 0) return unordered;
    *prev = name;
    *prev_len = len;
    return Error::None;
}

// Users: names valid and strictly increasing; entry ranges tiling the user
// index in order; each entry a member of this user, by strictly increasing
// group. With the counts adding up, the user index is a permutation.
Error View::check_users() const {
    uint64_t next_entry = 0;
    const char* prev = nullptr;
    uint32_t prev_len = 0;
    for (uint32_t u = 0; u < user_count_; ++u) {
        elevate_snapshot_user r;
        memcpy(&r, &users_[u], sizeof r);
        if (Error e = check_sorted_name(r.name_off, r.name_len, Error::Users, &prev, &prev_len); e != Error::None)
            return e;
        if (r.entry_first != next_entry || r.entry_count == 0 || r.entry_count > group_count_ ||
            r.entry_count > member_count_ - next_entry)
            return Error::Users;
        uint32_t prev_group = 0;
        for (uint32_t k = r.entry_first; k < r.entry_first + r.entry_count; ++k) {
            uint32_t index = user_index_[k];
            if (index >= member_count_) return Error::Index;
            elevate_snapshot_member m;
            memcpy(&m, &members_[index], sizeof m);
            if (m.user != u || m.group >= group_count_) return Error::Index;
            if (k > r.entry_first && m.group <= prev_group) return Error::Index;
            prev_group = m.group;
        }
        next_entry += r.entry_count;
    }
    if (next_entry != member_count_) return Error::Users;
    return Error::None;
}

// Groups: names valid and strictly increasing, gids usable, member ranges
// tiling the member table in order, each member pointing back at its group
// and at a user, by strictly increasing user; then the gid index.
Error View::check_groups() const {
    uint64_t next_member = 0;
    const char* prev = nullptr;
    uint32_t prev_len = 0;
    for (uint32_t i = 0; i < group_count_; ++i) {
        elevate_snapshot_group g;
        memcpy(&g, &groups_[i], sizeof g);
        if (Error e = check_sorted_name(g.name_off, g.name_len, Error::Groups, &prev, &prev_len); e != Error::None)
            return e;
        if (g.reserved != 0 || g.gid == 0 || g.gid == UINT32_MAX) return Error::Groups;
        if (g.member_first != next_member || g.member_count > ELEVATE_SNAPSHOT_MAX_GROUP_MEMBERS ||
            g.member_count > member_count_ - next_member)
            return Error::Groups;
        for (uint32_t j = 0; j < g.member_count; ++j) {
            elevate_snapshot_member m;
            memcpy(&m, &members_[g.member_first + j], sizeof m);
            if (m.group != i || m.user >= user_count_) return Error::Members;
            if (j > 0 && m.user <= members_[g.member_first + j - 1].user) return Error::Members;
        }
        next_member += g.member_count;
    }
    if (next_member != member_count_) return Error::Groups;

    // A permutation of the groups by strictly increasing gid (strictly
    // increasing gids make a repeated entry impossible).
    uint32_t prev_gid = 0;
    for (uint32_t i = 0; i < group_count_; ++i) {
        uint32_t index = gid_index_[i];
        if (index >= group_count_) return Error::Index;
        uint32_t gid = groups_[index].gid;
        if (i > 0 && gid <= prev_gid) return Error::Index;
        prev_gid = gid;
    }
    return Error::None;
}

// ---------------------------------------------------------------------------
// View: lookups. Validation proved the file consistent; these check every
// index and string again anyway (cheaply), so that bytes changed under a
// live mapping can give a wrong answer at worst, never an access outside it.

bool View::string_at(uint32_t off, uint32_t len, const char** out) const {
    if (len == 0 || uint64_t(off) + len >= strings_size_) return false;
    const char* s = strings_ + off;
    if (s[len] != '\0') return false;
    *out = s;
    return true;
}

bool View::group_at(uint32_t index, GroupRef* out) const {
    if (index >= group_count_) return false;
    elevate_snapshot_group g;
    memcpy(&g, &groups_[index], sizeof g);
    if (g.member_count > ELEVATE_SNAPSHOT_MAX_GROUP_MEMBERS ||
        uint64_t(g.member_first) + g.member_count > member_count_)
        return false;
    const char* name;
    if (!string_at(g.name_off, g.name_len, &name)) return false;
    out->name = name;
    out->name_len = g.name_len;
    out->gid = g.gid;
    out->index = index;
    out->member_first = g.member_first;
    out->member_count = g.member_count;
    return true;
}

bool View::user_name(uint32_t index, const char** name, uint32_t* len) const {
    if (index >= user_count_) return false;
    elevate_snapshot_user r;
    memcpy(&r, &users_[index], sizeof r);
    if (!string_at(r.name_off, r.name_len, name)) return false;
    *len = r.name_len;
    return true;
}

bool View::member_record(uint32_t index, MemberRef* out) const {
    if (index >= member_count_) return false;
    elevate_snapshot_member m;
    memcpy(&m, &members_[index], sizeof m);
    if (!user_name(m.user, &out->name, &out->name_len)) return false;
    out->end = m.end;
    out->user = m.user;
    out->group = m.group;
    return true;
}

bool View::member_at(const GroupRef& g, uint32_t j, MemberRef* out) const {
    if (j >= g.member_count) return false;
    return member_record(g.member_first + j, out);
}

bool View::find_group(const char* name, size_t len, GroupRef* out) const {
    if (name == nullptr || len == 0 || len > ELEVATE_SNAPSHOT_MAX_NAME) return false;
    uint32_t lo = 0, hi = group_count_;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        GroupRef g;
        if (!group_at(mid, &g)) return false;
        int c = compare(g.name, g.name_len, name, len);
        if (c == 0) {
            *out = g;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool View::find_gid(uint32_t gid, GroupRef* out) const {
    uint32_t lo = 0, hi = group_count_;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        GroupRef g;
        if (!group_at(gid_index_[mid], &g)) return false;
        if (g.gid == gid) {
            *out = g;
            return true;
        }
        if (g.gid < gid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool View::group_after(const char* name, size_t len, GroupRef* out) const {
    if (len == 0) return group_at(0, out);
    uint32_t lo = 0, hi = group_count_;  // first index whose name > name
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        GroupRef g;
        if (!group_at(mid, &g)) return false;
        if (compare(g.name, g.name_len, name, len) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return group_at(lo, out);
}

void View::active_members(const GroupRef& g, int64_t now, uint32_t* count, size_t* name_bytes) const {
    uint32_t n = 0;
    size_t bytes = 0;
    for_each_active_member(g, now, [&](const MemberRef& m) {
        ++n;
        bytes += size_t(m.name_len) + 1;
        return true;
    });
    *count = n;
    *name_bytes = bytes;
}

bool View::find_user(const char* user, size_t len, uint32_t* first, uint32_t* last) const {
    if (user == nullptr || len == 0 || len > ELEVATE_SNAPSHOT_MAX_NAME) return false;
    uint32_t lo = 0, hi = user_count_;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const char* name;
        uint32_t name_len;
        if (!user_name(mid, &name, &name_len)) return false;
        int c = compare(name, name_len, user, len);
        if (c == 0) {
            elevate_snapshot_user r;
            memcpy(&r, &users_[mid], sizeof r);
            if (r.entry_count > group_count_ || uint64_t(r.entry_first) + r.entry_count > member_count_) return false;
            *first = r.entry_first;
            *last = r.entry_first + r.entry_count;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool View::user_entry(uint32_t k, MemberRef* m, GroupRef* g) const {
    if (k >= member_count_) return false;
    return member_record(user_index_[k], m) && group_at(m->group, g);
}

// ---------------------------------------------------------------------------
// Lease and Reader: the file, the mapping, the lock.

void Lease::release() {
    if (lock_ == nullptr) return;
    pthread_rwlock_unlock(lock_);
    lock_ = nullptr;
    view_ = View();
    restore_signals(&saved_mask_);
}

bool Reader::FileId::operator==(const FileId& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtim.tv_sec == o.mtim.tv_sec &&
           mtim.tv_nsec == o.mtim.tv_nsec && ctim.tv_sec == o.ctim.tv_sec && ctim.tv_nsec == o.ctim.tv_nsec;
}

namespace {
void file_id_of(const struct stat& st, dev_t* dev, ino_t* ino, off_t* size, struct timespec* mtim,
                struct timespec* ctim) {
    *dev = st.st_dev;
    *ino = st.st_ino;
    *size = st.st_size;
    *mtim = st.st_mtim;
    *ctim = st.st_ctim;
}
}  // namespace

Error Reader::map_file(const char* path, Mapping* out, FileId* seen, bool* cacheable, int* sys_errno) {
    // O_NONBLOCK: a FIFO put at the path must not hang the lookup in open().
    base::UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (!fd.ok()) return classify_errno(errno, sys_errno);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return classify_errno(errno, sys_errno);
    file_id_of(st, &seen->dev, &seen->ino, &seen->size, &seen->mtim, &seen->ctim);
    *cacheable = true;
    Error e = Error::None;
    if (!S_ISREG(st.st_mode))
        e = Error::NotRegular;
    else if (!owner_ok(st))
        e = Error::Insecure;
    else if (st.st_size < off_t(kHeaderSize) || st.st_size > off_t(ELEVATE_SNAPSHOT_MAX_FILE_SIZE))
        e = Error::Size;
    if (e == Error::None) {
        e = check_directory(path, sys_errno);
        // Not the file's fault: checked again on the next call, so fixing
        // the directory is enough.
        if (e != Error::None) *cacheable = false;
    }
    if (e != Error::None) return e;
    size_t size = size_t(st.st_size);
    // MAP_POPULATE: validation reads every page anyway; one call maps them
    // all instead of one fault per page.
    void* addr = mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
    int map_errno = errno;
    fd.reset();
    if (addr == MAP_FAILED) return classify_errno(map_errno, sys_errno);
    View view;
    e = View::validate(addr, size, &view);
    if (e != Error::None) {
        munmap(addr, size);
        return e;
    }
    out->addr = addr;
    out->size = size;
    out->id = *seen;
    out->view = view;
    return Error::None;
}

void Reader::install(Mapping* fresh) {
    void* unmap_addr = fresh->addr;
    size_t unmap_size = fresh->size;
    sigset_t saved;
    block_signals(&saved);
    pthread_rwlock_wrlock(&lock_);
    // Another thread may have mapped the same file meanwhile: keep theirs.
    if (!have_current_ || !(current_.id == fresh->id)) {
        unmap_addr = have_current_ ? current_.addr : nullptr;
        unmap_size = current_.size;
        current_ = *fresh;
        have_current_ = true;
        ++maps_;
    }
    pthread_rwlock_unlock(&lock_);
    restore_signals(&saved);
    // Nobody can reach the old mapping any more: readers hold the lock while
    // they use it, and the write lock above waited for all of them.
    if (unmap_addr != nullptr) munmap(unmap_addr, unmap_size);
}

bool Reader::lease_current(const FileId* id, Lease* lease) {
    sigset_t saved;
    block_signals(&saved);
    pthread_rwlock_rdlock(&lock_);
    if (have_current_ && (id == nullptr || current_.id == *id)) {
        lease->lock_ = &lock_;
        lease->saved_mask_ = saved;
        lease->view_ = current_.view;
        return true;
    }
    pthread_rwlock_unlock(&lock_);
    restore_signals(&saved);
    return false;
}

Error Reader::acquire(const char* path, Lease* lease, int* sys_errno) {
    lease->release();
    if (path == nullptr || path[0] == '\0') return Error::Missing;
    struct stat st;
    if (lstat(path, &st) != 0) return classify_errno(errno, sys_errno);
    if (!S_ISREG(st.st_mode)) return Error::NotRegular;
    if (!owner_ok(st)) return Error::Insecure;
    FileId id;
    file_id_of(st, &id.dev, &id.ino, &id.size, &id.mtim, &id.ctim);

    if (lease_current(&id, lease)) return Error::None;

    // Replaced (or first use). A file already found unusable is not read
    // again until it changes.
    Error known_bad = Error::None;
    {
        sigset_t saved;
        block_signals(&saved);
        pthread_rwlock_rdlock(&lock_);
        if (have_bad_ && bad_ == id) known_bad = bad_error_;
        pthread_rwlock_unlock(&lock_);
        restore_signals(&saved);
    }
    if (known_bad != Error::None) return known_bad;

    Mapping fresh;
    FileId seen;
    bool cacheable = false;
    Error e = map_file(path, &fresh, &seen, &cacheable, sys_errno);
    if (e != Error::None) {
        if (e != Error::Resource && cacheable) {
            sigset_t saved;
            block_signals(&saved);
            pthread_rwlock_wrlock(&lock_);
            have_bad_ = true;
            bad_ = seen;
            bad_error_ = e;
            pthread_rwlock_unlock(&lock_);
            restore_signals(&saved);
        }
        return e;
    }
    install(&fresh);
    // Whatever is current now is at least as new as the file stat()ed above.
    if (lease_current(nullptr, lease)) return Error::None;
    return Error::Missing;  // reset() ran concurrently (tests only)
}

void Reader::reset() {
    sigset_t saved;
    block_signals(&saved);
    pthread_rwlock_wrlock(&lock_);
    void* addr = have_current_ ? current_.addr : nullptr;
    size_t size = current_.size;
    have_current_ = false;
    current_ = Mapping();
    have_bad_ = false;
    bad_ = FileId();
    bad_error_ = Error::None;
    pthread_rwlock_unlock(&lock_);
    restore_signals(&saved);
    if (addr != nullptr) munmap(addr, size);
}

uint64_t Reader::map_count() {
    pthread_rwlock_rdlock(&lock_);
    uint64_t n = maps_;
    pthread_rwlock_unlock(&lock_);
    return n;
}

// fork(): the prepare handler takes the write lock, so no lookup is half
// done when the address space is copied. The child is single-threaded and
// its thread id differs from the lock owner's, so it starts from a fresh
// lock rather than unlocking one it does not own.
void Reader::fork_prepare() {
    pthread_rwlock_wrlock(&lock_);
}

void Reader::fork_parent() {
    pthread_rwlock_unlock(&lock_);
}

void Reader::fork_child() {
    pthread_rwlock_t fresh = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    memcpy(&lock_, &fresh, sizeof lock_);
}

}  // namespace elevate::snapshot
