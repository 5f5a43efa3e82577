// Reader of the group snapshot (format.h, docs/SNAPSHOT.md), linked into
// libnss_elevate.so.2 and therefore into every process that resolves a
// group. Rules that follow from that (DESIGN.md invariant 8):
//   - libc only: no C++ runtime, no exceptions (built -fno-exceptions
//     -fno-rtti), no allocation beyond the mapping itself, no threads;
//   - the file is hostile until proved otherwise: it is opened O_NOFOLLOW,
//     must be a root-owned regular file nobody else can write, in a
//     directory nobody else can write, and every offset, length, count and
//     ordering is checked (plus a checksum) before the mapping is used;
//     accessors bounds-check again, so even bytes changed under the mapping
//     cannot make a lookup read outside it;
//   - the path is lstat()ed on every acquire and the file remapped when it
//     was replaced, so a new snapshot is seen by the next lookup;
//   - expiry is decided here, at read time, from each member's end time and
//     the caller's `now` (invariant 3): the NSS layer passes the real time,
//     tests pass whatever they like.
// The model is sssd's mmap cache reader (nss_mc_common.c).
#pragma once

#include "common/snapshot/format.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

namespace elevate::snapshot {

// Why there is no usable snapshot. Every value but None means "no data".
enum class Error : uint8_t {
    None = 0,
    Missing,     // nothing at the path (ENOENT, ENOTDIR)
    Unreadable,  // lstat/open failed otherwise (EACCES, ELOOP: a symlink, ...)
    NotRegular,  // a directory, FIFO, device, symlink...
    Insecure,    // not owned by uid 0, or group/world-writable (file or directory)
    Size,        // shorter than a header, over the size limit, or != header.file_size
    Magic,
    ByteOrder,  // written on a host of the other endianness
    Version,    // major version this reader does not know
    Header,     // header_size or flags invalid
    Checksum,
    Layout,    // a section misaligned, outside the file, or overlapping another
    Limits,    // a count above the format's limits
    Strings,   // a name out of the string area, not NUL-terminated, or not a valid name
    Groups,    // group table out of order, duplicate, bad gid or member range
    Users,     // user table out of order, duplicate, or its ranges not tiling the user index
    Members,   // member table out of order, duplicate, or pointing at the wrong group or user
    Index,     // gid or user index out of range or out of order
    Resource,  // EMFILE, ENFILE, ENOMEM, EAGAIN...: transient, retried on the next call
};

// Stable lower-case name ("checksum", "insecure", ...), for messages and tests.
const char* error_name(Error e);

// A group as stored. Pointers are into the mapping: valid while the Lease
// (or the caller's buffer, for View::validate) lives.
struct GroupRef {
    const char* name = nullptr;  // NUL-terminated
    uint32_t name_len = 0;
    uint32_t gid = 0;
    uint32_t index = 0;         // in the group table (name order)
    uint32_t member_first = 0;  // members, active or not
    uint32_t member_count = 0;
};

struct MemberRef {
    const char* name = nullptr;  // NUL-terminated user name
    uint32_t name_len = 0;
    int64_t end = 0;     // epoch seconds
    uint32_t user = 0;   // index of the user
    uint32_t group = 0;  // index of its group

    // Invariant 3: a member is in the group while now < end, whatever the
    // age of the snapshot.
    bool active(int64_t now) const { return now < end; }
};

// A validated snapshot in memory. Copyable (a few pointers); holds no
// resources. Every lookup is a binary search: O(log n), never a scan.
class View {
public:
    // Checks `size` bytes at `data` (8-aligned) completely: header fields,
    // checksum, section bounds, every string, every ordering and index, in
    // one pass over each table (about 1.5 ms for 100k members).
    // On success fills *out; on failure leaves it untouched.
    static Error validate(const void* data, size_t size, View* out);

    bool valid() const { return base_ != nullptr; }
    uint64_t generation() const { return generation_; }
    int64_t written_at() const { return written_at_; }
    uint32_t group_count() const { return group_count_; }
    uint32_t member_count() const { return member_count_; }
    uint32_t user_count() const { return user_count_; }

    bool group_at(uint32_t index, GroupRef* out) const;
    bool find_group(const char* name, size_t len, GroupRef* out) const;
    bool find_gid(uint32_t gid, GroupRef* out) const;
    // The first group whose name sorts after `name` (the first group when
    // len == 0): enumeration that survives the file being replaced.
    bool group_after(const char* name, size_t len, GroupRef* out) const;

    // The j-th member of g (0 <= j < g.member_count), active or not.
    bool member_at(const GroupRef& g, uint32_t j, MemberRef* out) const;

    // Number of members of g active at `now`, and the bytes of their names
    // including each NUL.
    void active_members(const GroupRef& g, int64_t now, uint32_t* count, size_t* name_bytes) const;

    // Calls fn(const MemberRef&) for each member of g active at `now`, in
    // name order, until fn returns false.
    template <typename Fn>
    void for_each_active_member(const GroupRef& g, int64_t now, Fn&& fn) const {
        MemberRef m;
        for (uint32_t j = 0; j < g.member_count; ++j) {
            if (!member_at(g, j, &m)) return;
            if (m.active(now) && !fn(m)) return;
        }
    }

    // Calls fn(const GroupRef&) for each group in which `user` is a member
    // active at `now`, in group-table order (one binary search over the
    // users, then the user's own entries), until fn returns false.
    template <typename Fn>
    void for_each_group_of(const char* user, size_t len, int64_t now, Fn&& fn) const {
        uint32_t first = 0, last = 0;
        if (!find_user(user, len, &first, &last)) return;
        MemberRef m;
        GroupRef g;
        for (uint32_t k = first; k < last; ++k) {
            if (!user_entry(k, &m, &g)) return;
            if (m.active(now) && !fn(g)) return;
        }
    }

private:
    bool find_user(const char* user, size_t len, uint32_t* first, uint32_t* last) const;
    bool user_name(uint32_t index, const char** name, uint32_t* len) const;
    bool user_entry(uint32_t k, MemberRef* m, GroupRef* g) const;
    bool string_at(uint32_t off, uint32_t len, const char** out) const;
    bool member_record(uint32_t index, MemberRef* out) const;
    // One entry of a name-sorted table: a valid name in the string area,
    // strictly after *prev (which it then becomes); `unordered` otherwise.
    Error check_sorted_name(uint32_t off, uint32_t len, Error unordered, const char** prev, uint32_t* prev_len) const;
    Error check_groups() const;
    Error check_users() const;

    const uint8_t* base_ = nullptr;
    const elevate_snapshot_group* groups_ = nullptr;
    const uint32_t* gid_index_ = nullptr;
    const elevate_snapshot_user* users_ = nullptr;
    const elevate_snapshot_member* members_ = nullptr;
    const uint32_t* user_index_ = nullptr;
    const char* strings_ = nullptr;
    uint64_t strings_size_ = 0;
    uint32_t group_count_ = 0;
    uint32_t member_count_ = 0;
    uint32_t user_count_ = 0;
    uint64_t generation_ = 0;
    int64_t written_at_ = 0;
};

class Reader;

// A view of the current snapshot, usable until release() (or destruction).
// While a Lease is held the mapping cannot be replaced or unmapped, and
// the calling thread's signals are blocked (a handler that looked up a
// group would otherwise deadlock on the lock). Hold it only for one lookup.
class Lease {
public:
    Lease() = default;
    ~Lease() { release(); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    const View& view() const { return view_; }
    bool held() const { return lock_ != nullptr; }
    void release();

private:
    friend class Reader;
    pthread_rwlock_t* lock_ = nullptr;
    sigset_t saved_mask_;
    View view_;
};

// The process's mapping of one snapshot path. Constant-initialised
// (`constinit Reader r;`): no constructor or destructor runs at load or
// exit time, as an NSS module may be loaded anywhere. Thread-safe; fork-safe
// once fork_prepare/fork_parent/fork_child are registered with
// pthread_atfork (the NSS layer does so, once).
class Reader {
public:
    constexpr Reader() = default;
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // lstat()s `path`; if it is the file already mapped, leases that
    // mapping; otherwise opens, checks, maps and validates the new file
    // (outside the lock, so other threads keep using the old mapping), then
    // installs it. On Error::None the lease is held. Error::Resource also
    // sets *sys_errno when given.
    Error acquire(const char* path, Lease* lease, int* sys_errno = nullptr);

    // Unmaps everything and forgets the remembered bad file. No lease may be
    // held (tests; the NSS module never unmaps).
    void reset();

    // How many files were mapped and validated so far (tests and benchmarks:
    // proves that an unchanged file is not re-read).
    uint64_t map_count();

    void fork_prepare();
    void fork_parent();
    void fork_child();

private:
    struct FileId {
        dev_t dev = 0;
        ino_t ino = 0;
        off_t size = 0;
        struct timespec mtim = {0, 0};
        struct timespec ctim = {0, 0};  // chmod/chown change it: re-checked
        bool operator==(const FileId& o) const;
    };
    struct Mapping {
        void* addr = nullptr;
        size_t size = 0;
        FileId id;
        View view;
    };

    static Error map_file(const char* path, Mapping* out, FileId* seen, bool* cacheable, int* sys_errno);
    void install(Mapping* fresh);
    bool lease_current(const FileId* id, Lease* lease);

    pthread_rwlock_t lock_ = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    bool have_current_ = false;
    Mapping current_;
    bool have_bad_ = false;  // a file already found unusable: not re-read
    FileId bad_;
    Error bad_error_ = Error::None;
    uint64_t maps_ = 0;
};

}  // namespace elevate::snapshot
