// Who is calling, as the kernel says (SO_PEERCRED, SO_PEERGROUPS), and what
// groups a user is in. Group membership is read from the kernel for peers
// and from the group database for named users.
#pragma once

#include "common/base/result.h"

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace elevate::policy {

struct Peer {
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t pid = 0;
    std::string user;             // from the passwd database for uid
    std::vector<gid_t> groups;    // primary + supplementary, at connect time
    bool admin = false;           // uid 0 or member of the admin group
};

// Reads credentials of the process at the other end of a Unix socket.
base::Result<Peer> peer_from_socket(int fd, const std::string& admin_group);

// Name of a uid, or nullopt if the passwd database has none.
std::optional<std::string> user_name(uid_t uid);

// Gids of a user (primary + supplementary), or nullopt if no such user.
std::optional<std::vector<gid_t>> user_groups(const std::string& user);

// Gid of a group name.
std::optional<gid_t> group_gid(const std::string& name);

}  // namespace elevate::policy
