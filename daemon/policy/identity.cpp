#include "daemon/policy/identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace elevate::policy {

std::optional<std::string> user_name(uid_t uid) {
    std::vector<char> buf(4096);
    struct passwd pw, *result = nullptr;
    while (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) == ERANGE && buf.size() < (1u << 20))
        buf.resize(buf.size() * 2);
    if (result == nullptr) return std::nullopt;
    return std::string(pw.pw_name);
}

std::optional<gid_t> group_gid(const std::string& name) {
    std::vector<char> buf(4096);
    struct group gr, *result = nullptr;
    while (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result) == ERANGE && buf.size() < (1u << 24))
        buf.resize(buf.size() * 2);
    if (result == nullptr) return std::nullopt;
    return gr.gr_gid;
}

std::optional<std::vector<gid_t>> user_groups(const std::string& user) {
    std::vector<char> buf(4096);
    struct passwd pw, *result = nullptr;
    while (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &result) == ERANGE && buf.size() < (1u << 20))
        buf.resize(buf.size() * 2);
    if (result == nullptr) return std::nullopt;
    std::vector<gid_t> groups(64);
    int n = int(groups.size());
    while (getgrouplist(user.c_str(), pw.pw_gid, groups.data(), &n) < 0) {
        if (n <= int(groups.size()) || n > 65536) return std::nullopt;
        groups.resize(size_t(n));
    }
    groups.resize(size_t(n));
    return groups;
}

namespace {
int64_t monotonic_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Looks `key` up in `map`, or computes and remembers it.
template <typename Map, typename Key, typename Fn>
auto cached(Map& map, const Key& key, int64_t ttl_ms, Fn lookup) {
    const int64_t now = monotonic_ms();
    auto it = map.find(key);
    if (it != map.end() && it->second.expires_ms > now) return it->second.value;
    if (map.size() > 4096) map.clear();  // bounded: a flood of uids cannot grow it
    auto value = lookup(key);
    map[key] = {value, now + ttl_ms};
    return value;
}
}  // namespace

std::optional<std::string> IdentityCache::user_name(uid_t uid) {
    return cached(users_, uid, ttl_ms_, [](uid_t u) { return policy::user_name(u); });
}

std::optional<gid_t> IdentityCache::group_gid(const std::string& name) {
    return cached(groups_, name, ttl_ms_, [](const std::string& n) { return policy::group_gid(n); });
}

namespace {
// What identifies the contents of the local account files: a changed file
// (usermod, gpasswd, vipw all write a new one) has another stamp.
IdentityCache::FilesStamp account_files_stamp() {
    IdentityCache::FilesStamp stamp{};
    size_t i = 0;
    for (const char* path : {"/etc/group", "/etc/passwd"}) {
        struct stat st {};
        if (stat(path, &st) == 0)
            stamp[i] = {uint64_t(st.st_ino), uint64_t(st.st_size), uint64_t(st.st_mtim.tv_sec),
                        uint64_t(st.st_mtim.tv_nsec)};
        ++i;
    }
    return stamp;
}
}  // namespace

std::optional<std::vector<gid_t>> IdentityCache::user_groups(const std::string& user) {
    if (membership_ttl_ms_ <= 0) return policy::user_groups(user);
    // The files are looked at once per millisecond at most: under load
    // that is a stat() per thousand decisions instead of two per decision,
    // and no one changes an account file and asks again within 1 ms.
    if (const int64_t now = monotonic_ms(); now != stamp_checked_ms_) {
        stamp_checked_ms_ = now;
        if (FilesStamp stamp = account_files_stamp(); stamp != files_stamp_) {
            memberships_.clear();
            files_stamp_ = stamp;
        }
    }
    return cached(memberships_, user, membership_ttl_ms_, [](const std::string& u) { return policy::user_groups(u); });
}

void IdentityCache::clear() {
    users_.clear();
    groups_.clear();
    memberships_.clear();
}

base::Result<Peer> peer_from_socket(int fd, const std::string& admin_group, IdentityCache& cache) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return base::errno_error("SO_PEERCRED");
    Peer peer;
    peer.uid = cred.uid;
    peer.gid = cred.gid;
    peer.pid = cred.pid;

    // SO_PEERGROUPS gives the groups the peer actually had when it
    // connected: no database lookup, no trust in anything the peer says.
    std::vector<gid_t> groups(64);
    for (;;) {
        socklen_t glen = socklen_t(groups.size() * sizeof(gid_t));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
            groups.resize(glen / sizeof(gid_t));
            break;
        }
        if (errno != ERANGE || glen / sizeof(gid_t) <= groups.size() || groups.size() >= 65536)
            return base::errno_error("SO_PEERGROUPS");
        groups.resize(glen / sizeof(gid_t));
    }
    groups.push_back(cred.gid);
    peer.groups = std::move(groups);

    auto name = cache.user_name(cred.uid);
    if (!name) return base::make_error("uid " + std::to_string(cred.uid) + " has no passwd entry");
    peer.user = std::move(*name);

    peer.admin = cred.uid == 0;
    if (!peer.admin && !admin_group.empty()) {
        if (auto gid = cache.group_gid(admin_group))
            peer.admin = std::find(peer.groups.begin(), peer.groups.end(), *gid) != peer.groups.end();
    }
    return peer;
}

}  // namespace elevate::policy
