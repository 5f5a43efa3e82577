#include "daemon/groups/snapshot_publisher.h"

#include "common/snapshot/writer.h"
#include "daemon/core/fs.h"

#include <malloc.h>
#include <time.h>

#include <unordered_map>

namespace elevate::groups {

SnapshotPublisher::SnapshotPublisher(store::Store& store, const base::Clock& clock) : store_(store), clock_(clock) {
    // Generations keep increasing across restarts: start from the time.
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    generation_ = uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec / 1000);
}

base::Result<void> SnapshotPublisher::publish(const config::Config& config) {
    const std::string& path = config.daemon.snapshot_path;
    if (path.empty()) return {};

    std::vector<snapshot::RoleEntry> roles;
    std::unordered_map<std::string, gid_t> gid_of;
    roles.reserve(config.roles.size());
    for (const auto& r : config.roles) {
        roles.push_back({r.name, r.group, r.gid});
        gid_of.emplace(r.name, r.gid);
    }

    const int64_t now = clock_.now();
    std::vector<snapshot::MemberEntry> members;
    auto listed = store_.for_each_active_membership([&](std::string_view user, std::string_view role, int64_t end) {
        auto it = gid_of.find(std::string(role));
        // A grant of a role that is no longer configured confers no group.
        if (it == gid_of.end() || end <= now) return;
        members.push_back({std::string(user), it->second, end});
    });
    if (!listed) return listed;

    // /run/elevate is 0755 so every process can read the snapshot.
    if (auto r = daemon::make_parent_dir(path, 0755); !r) return r;
    auto written = snapshot::write_snapshot(path, roles, members, ++generation_);
    // The daemon stays small between rewrites: give the transient buffers
    // (one entry per grant) back to the system.
    members = {};
    malloc_trim(0);
    return written;
}

}  // namespace elevate::groups
