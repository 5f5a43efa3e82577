// Writer of the group snapshot read by libnss_elevate.so.2 (format.h,
// docs/SNAPSHOT.md). Daemon side: may use the C++ library freely.
#pragma once

#include "common/base/result.h"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace elevate::snapshot {

// One configured role: its Unix group exists (possibly with no members) for
// as long as the role is configured, so sudoers and sshd lines naming it
// always resolve.
struct RoleEntry {
    std::string role;   // config name, for error messages only (not stored)
    std::string group;  // the Unix group name served by NSS
    gid_t gid = 0;
};

// One active grant: `user` is in the group `gid` while now < end.
struct MemberEntry {
    std::string user;
    gid_t gid = 0;
    int64_t end = 0;  // epoch seconds
};

// The snapshot as bytes, without touching the file system (tests, fuzz
// seeds). Refuses (with a message naming the role or user): an invalid
// group or user name (common/base/names.h, elevate_account_name_ok), gid 0 or
// (gid_t)-1, two roles with the same group name or gid, a member whose gid
// names no role, and anything over the format's limits. Duplicate
// (user, gid) members are merged, keeping the latest end. Members are kept
// whatever their end time: readers decide expiry themselves.
base::Result<std::vector<uint8_t>> encode_snapshot(const std::vector<RoleEntry>& roles,
                                                   const std::vector<MemberEntry>& members, uint64_t generation,
                                                   int64_t written_at);

// Encodes and publishes atomically at `path`: a temporary file in the same
// directory, written, fchmod 0644, fsync, rename over `path`, fsync of the
// directory. Readers see either the old or the new file, never a mix. The
// directory must exist; the file is owned by the caller (root in the
// daemon: readers refuse a snapshot not owned by uid 0). `generation`
// should increase with every call; readers only report it.
base::Result<void> write_snapshot(const std::string& path, const std::vector<RoleEntry>& roles,
                                  const std::vector<MemberEntry>& members, uint64_t generation);

}  // namespace elevate::snapshot
