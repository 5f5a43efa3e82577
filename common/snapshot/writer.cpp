#include "common/snapshot/writer.h"

#include "common/base/unique_fd.h"
#include "common/snapshot/format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

namespace elevate::snapshot {

static_assert(sizeof(gid_t) == sizeof(uint32_t), "gids are stored as uint32_t");

namespace {

using base::make_error;

constexpr size_t align8(size_t n) {
    return (n + 7) & ~size_t(7);
}

struct Group {
    std::string name;
    uint32_t gid = 0;
    std::map<std::string, int64_t> members;  // sorted by name: operator< is strcmp order
};

}  // namespace

base::Result<std::vector<uint8_t>> encode_snapshot(const std::vector<RoleEntry>& roles,
                                                   const std::vector<MemberEntry>& members, uint64_t generation,
                                                   int64_t written_at) {
    if (roles.size() > ELEVATE_SNAPSHOT_MAX_GROUPS)
        return make_error("snapshot: " + std::to_string(roles.size()) + " roles, more than the format's limit of " +
                          std::to_string(ELEVATE_SNAPSHOT_MAX_GROUPS));

    std::vector<Group> groups;
    groups.reserve(roles.size());
    for (const RoleEntry& r : roles) {
        if (!base::valid_account_name(r.group))
            return make_error("snapshot: role " + r.role + ": group name \"" + r.group +
                              "\" is not a valid group name (1-255 bytes, no space, control byte, ':' or ',')");
        if (r.gid == 0 || r.gid == gid_t(-1))
            return make_error("snapshot: role " + r.role + ": gid " + std::to_string(r.gid) + " cannot be served");
        groups.push_back(Group{r.group, uint32_t(r.gid), {}});
    }
    std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.name < b.name; });
    std::unordered_map<uint32_t, size_t> by_gid;
    for (size_t i = 0; i < groups.size(); ++i) {
        if (i > 0 && groups[i].name == groups[i - 1].name)
            return make_error("snapshot: two roles use the group name " + groups[i].name);
        if (!by_gid.emplace(groups[i].gid, i).second)
            return make_error("snapshot: two roles use gid " + std::to_string(groups[i].gid));
    }

    size_t member_total = 0;
    for (const MemberEntry& m : members) {
        if (!base::valid_account_name(m.user))
            return make_error("snapshot: user name \"" + m.user + "\" is not a valid user name");
        auto it = by_gid.find(uint32_t(m.gid));
        if (it == by_gid.end())
            return make_error("snapshot: member " + m.user + ": gid " + std::to_string(m.gid) + " is no role's group");
        auto [slot, inserted] = groups[it->second].members.try_emplace(m.user, m.end);
        if (inserted)
            ++member_total;
        else
            slot->second = std::max(slot->second, m.end);
    }
    if (member_total > ELEVATE_SNAPSHOT_MAX_MEMBERS)
        return make_error("snapshot: " + std::to_string(member_total) + " members, more than the format's limit of " +
                          std::to_string(ELEVATE_SNAPSHOT_MAX_MEMBERS));
    for (const Group& g : groups)
        if (g.members.size() > ELEVATE_SNAPSHOT_MAX_GROUP_MEMBERS)
            return make_error("snapshot: group " + g.name + " has " + std::to_string(g.members.size()) +
                              " members, more than the format's limit of " +
                              std::to_string(ELEVATE_SNAPSHOT_MAX_GROUP_MEMBERS));

    // Users: every member name, sorted, each with its memberships.
    std::map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> users;  // name -> (group, member)
    std::vector<elevate_snapshot_group> group_table(groups.size());
    std::vector<elevate_snapshot_member> member_table;
    member_table.reserve(member_total);
    std::vector<const std::string*> member_user;
    member_user.reserve(member_total);
    for (size_t i = 0; i < groups.size(); ++i) {
        group_table[i].member_first = uint32_t(member_table.size());
        group_table[i].member_count = uint32_t(groups[i].members.size());
        for (const auto& [user, end] : groups[i].members) {
            users[user].emplace_back(uint32_t(i), uint32_t(member_table.size()));
            elevate_snapshot_member m{};
            m.end = end;
            m.group = uint32_t(i);
            member_table.push_back(m);
            member_user.push_back(&user);
        }
    }
    std::vector<elevate_snapshot_user> user_table;
    user_table.reserve(users.size());
    std::vector<uint32_t> user_index;
    user_index.reserve(member_total);
    std::unordered_map<std::string, uint32_t> user_number;
    for (auto& [name, entries] : users) {
        const uint32_t u = uint32_t(user_table.size());
        user_number.emplace(name, u);
        std::sort(entries.begin(), entries.end());  // by group index
        elevate_snapshot_user r{};
        r.entry_first = uint32_t(user_index.size());
        r.entry_count = uint32_t(entries.size());
        user_table.push_back(r);
        for (const auto& [group, member] : entries) user_index.push_back(member);
    }
    for (size_t k = 0; k < member_table.size(); ++k) member_table[k].user = user_number.at(*member_user[k]);

    // Strings: group names in group order, then user names in user order, so
    // validation reads them front to back.
    std::string strings;
    for (size_t i = 0; i < groups.size(); ++i) {
        group_table[i].name_off = uint32_t(strings.size());
        group_table[i].name_len = uint32_t(groups[i].name.size());
        group_table[i].gid = groups[i].gid;
        group_table[i].reserved = 0;
        strings += groups[i].name;
        strings.push_back('\0');
    }
    {
        size_t u = 0;
        for (const auto& [name, entries] : users) {
            user_table[u].name_off = uint32_t(strings.size());
            user_table[u].name_len = uint32_t(name.size());
            strings += name;
            strings.push_back('\0');
            ++u;
        }
    }
    std::vector<uint32_t> gid_index(groups.size());
    for (size_t i = 0; i < gid_index.size(); ++i) gid_index[i] = uint32_t(i);
    std::sort(gid_index.begin(), gid_index.end(),
              [&](uint32_t a, uint32_t b) { return group_table[a].gid < group_table[b].gid; });

    // Layout: header | groups | gid index | users | members | user index | strings.
    elevate_snapshot_header h{};
    std::memcpy(h.magic, ELEVATE_SNAPSHOT_MAGIC, ELEVATE_SNAPSHOT_MAGIC_SIZE);
    h.version_major = ELEVATE_SNAPSHOT_VERSION_MAJOR;
    h.version_minor = ELEVATE_SNAPSHOT_VERSION_MINOR;
    h.header_size = sizeof h;
    h.byte_order = ELEVATE_SNAPSHOT_BYTE_ORDER;
    h.flags = 0;
    h.generation = generation;
    h.written_at = written_at;
    h.group_count = uint32_t(group_table.size());
    h.member_count = uint32_t(member_table.size());
    h.user_count = uint32_t(user_table.size());
    size_t at = align8(sizeof h);
    auto place = [&](uint64_t* offset, size_t bytes) {
        *offset = at;
        at = align8(at + bytes);
    };
    place(&h.groups_offset, group_table.size() * sizeof(elevate_snapshot_group));
    place(&h.gid_index_offset, gid_index.size() * sizeof(uint32_t));
    place(&h.users_offset, user_table.size() * sizeof(elevate_snapshot_user));
    place(&h.members_offset, member_table.size() * sizeof(elevate_snapshot_member));
    place(&h.user_index_offset, user_index.size() * sizeof(uint32_t));
    h.strings_offset = at;
    h.strings_size = strings.size();
    at = align8(at + strings.size());  // the file is whole words
    if (at > ELEVATE_SNAPSHOT_MAX_FILE_SIZE)
        return make_error("snapshot: " + std::to_string(at) + " bytes, more than the format's limit of " +
                          std::to_string(ELEVATE_SNAPSHOT_MAX_FILE_SIZE));
    h.file_size = at;

    // uint64_t storage: the checksum reads the file as aligned words.
    std::vector<uint64_t> words(at / 8, 0);
    uint8_t* out = reinterpret_cast<uint8_t*>(words.data());
    auto copy = [&](uint64_t offset, const void* data, size_t bytes) {
        if (bytes > 0) std::memcpy(out + offset, data, bytes);
    };
    copy(h.groups_offset, group_table.data(), group_table.size() * sizeof group_table[0]);
    copy(h.gid_index_offset, gid_index.data(), gid_index.size() * sizeof gid_index[0]);
    copy(h.users_offset, user_table.data(), user_table.size() * sizeof user_table[0]);
    copy(h.members_offset, member_table.data(), member_table.size() * sizeof member_table[0]);
    copy(h.user_index_offset, user_index.data(), user_index.size() * sizeof user_index[0]);
    copy(h.strings_offset, strings.data(), strings.size());
    h.checksum = 0;
    std::memcpy(out, &h, sizeof h);
    h.checksum = elevate_snapshot_checksum(words.data(), words.size());
    std::memcpy(out, &h, sizeof h);
    return std::vector<uint8_t>(out, out + at);
}

namespace {

// Removes the temporary file unless it was renamed into place.
class TempFile {
public:
    explicit TempFile(std::string path) : path_(std::move(path)) {}
    ~TempFile() {
        if (armed_) ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    void disarm() { armed_ = false; }

private:
    std::string path_;
    bool armed_ = true;
};

base::Result<void> publish(const std::string& path, const std::vector<uint8_t>& bytes) {
    auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);

    std::string tmp = path + ".tmp.XXXXXX";
    base::UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd.ok()) return base::errno_error("snapshot: cannot create temporary file " + tmp);
    TempFile guard(tmp);

    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return base::errno_error("snapshot: cannot write " + tmp, n < 0 ? errno : EIO);
        done += size_t(n);
    }
    // Explicit mode: the daemon runs with UMask=0077, and every process on
    // the host must be able to read the snapshot.
    if (::fchmod(fd.get(), 0644) != 0) return base::errno_error("snapshot: cannot chmod " + tmp);
    if (::fsync(fd.get()) != 0) return base::errno_error("snapshot: cannot fsync " + tmp);
    if (::close(fd.release()) != 0) return base::errno_error("snapshot: cannot close " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return base::errno_error("snapshot: cannot rename " + tmp + " to " + path);
    guard.disarm();

    base::UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd.ok() || ::fsync(dirfd.get()) != 0)
        return base::errno_error("snapshot: " + path + " is in place, but fsync of directory " + dir + " failed");
    return {};
}

}  // namespace

base::Result<void> write_snapshot(const std::string& path, const std::vector<RoleEntry>& roles,
                                  const std::vector<MemberEntry>& members, uint64_t generation) {
    auto bytes = encode_snapshot(roles, members, generation, int64_t(std::time(nullptr)));
    if (!bytes) return std::move(bytes).error();
    return publish(path, *bytes);
}

}  // namespace elevate::snapshot
