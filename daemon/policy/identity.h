// Who is calling, as the kernel says (SO_PEERCRED, SO_PEERGROUPS), and what
// groups a user is in. Group membership is read from the kernel for peers
// and from the group database for named users.
#pragma once

#include "common/base/result.h"

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace elevate::policy {

struct Peer {
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t pid = 0;
    std::string user;           // from the passwd database for uid
    std::vector<gid_t> groups;  // primary + supplementary, at connect time
    bool admin = false;         // uid 0 or member of the admin group
};

// Remembers uid -> name and group name -> gid for a short while: every
// request needs both, and each lookup re-reads /etc/passwd or /etc/group.
class IdentityCache {
public:
    explicit IdentityCache(int64_t ttl_ms = 30000) : ttl_ms_(ttl_ms) {}
    std::optional<std::string> user_name(uid_t uid);
    std::optional<gid_t> group_gid(const std::string& name);
    // A user's gids (user_groups), reused for `membership_ttl_ms`: the
    // group database is read at most once in that time per user, and
    // again as soon as /etc/group or /etc/passwd changes (looked at at most
    // once a millisecond).
    std::optional<std::vector<gid_t>> user_groups(const std::string& user);
    void set_membership_ttl(int64_t ms) { membership_ttl_ms_ = ms; }
    void clear();  // after a reload

    // (inode, size, mtime s, mtime ns) of /etc/group and /etc/passwd.
    using FilesStamp = std::array<std::array<uint64_t, 4>, 2>;

private:
    template <typename V>
    struct Entry {
        V value;
        int64_t expires_ms;
    };
    int64_t ttl_ms_;
    int64_t membership_ttl_ms_ = 0;
    std::unordered_map<uid_t, Entry<std::optional<std::string>>> users_;
    std::unordered_map<std::string, Entry<std::optional<gid_t>>> groups_;
    std::unordered_map<std::string, Entry<std::optional<std::vector<gid_t>>>> memberships_;
    FilesStamp files_stamp_{};  // when memberships_ was filled
    int64_t stamp_checked_ms_ = -1;
};

// Reads credentials of the process at the other end of a Unix socket.
base::Result<Peer> peer_from_socket(int fd, const std::string& admin_group, IdentityCache& cache);

// Name of a uid, or nullopt if the passwd database has none.
std::optional<std::string> user_name(uid_t uid);

// Gids of a user (primary + supplementary), or nullopt if no such user.
std::optional<std::vector<gid_t>> user_groups(const std::string& user);

// Gid of a group name.
std::optional<gid_t> group_gid(const std::string& name);

}  // namespace elevate::policy
