// Writer -> reader round trip: lookups by name and gid, members in order,
// expiry decided at read time from an injected `now`, the user index, and
// what the writer refuses.
#include "snapshot_test_util.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

using namespace elevate::snapshot;
using namespace elevate::snapshot::test;

namespace {

constexpr int64_t T0 = 1700000000;

TEST(SnapshotRoundTrip, HeaderCarriesWhatWasWritten) {
    Bytes b = encode(sample_roles(), sample_members(T0), 42, T0);
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    EXPECT_EQ(v.generation(), 42u);
    EXPECT_EQ(v.written_at(), T0);
    EXPECT_EQ(v.group_count(), 5u);
    EXPECT_EQ(v.member_count(), 8u);
    EXPECT_EQ(v.user_count(), 5u);  // alice, bob, carol, dave, zed
    elevate_snapshot_header h = header_of(b);
    EXPECT_EQ(0, std::memcmp(h.magic, "ELEVSNAP", 8));
    EXPECT_EQ(h.version_major, 1);
    EXPECT_EQ(h.header_size, sizeof h);
    EXPECT_EQ(h.file_size, b.size());
    EXPECT_EQ(h.file_size % 8, 0u);
    EXPECT_EQ(h.groups_offset % 8, 0u);
    EXPECT_EQ(h.users_offset % 8, 0u);
    EXPECT_EQ(h.members_offset % 8, 0u);
}

TEST(SnapshotRoundTrip, LookupByNameAndGid) {
    Bytes b = encode(sample_roles(), sample_members(T0));
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    GroupRef g;
    ASSERT_TRUE(v.find_group("db-admin", 8, &g));
    EXPECT_STREQ(g.name, "db-admin");
    EXPECT_EQ(g.gid, 61001u);
    EXPECT_EQ(g.member_count, 3u);
    ASSERT_TRUE(v.find_gid(61001, &g));
    EXPECT_STREQ(g.name, "db-admin");
    ASSERT_TRUE(v.find_group("db", 2, &g));
    EXPECT_EQ(g.gid, 61010u);
    ASSERT_TRUE(v.find_gid(60999, &g));
    EXPECT_STREQ(g.name, "solo");

    EXPECT_FALSE(v.find_group("db-admi", 7, &g));
    EXPECT_FALSE(v.find_group("db-admin2", 9, &g));
    EXPECT_FALSE(v.find_group("", 0, &g));
    EXPECT_FALSE(v.find_group("zzz", 3, &g));
    EXPECT_FALSE(v.find_gid(0, &g));
    EXPECT_FALSE(v.find_gid(61004, &g));
    EXPECT_FALSE(v.find_gid(4294967295u, &g));
    std::string long_name(300, 'a');
    EXPECT_FALSE(v.find_group(long_name.data(), long_name.size(), &g));
}

TEST(SnapshotRoundTrip, RoleGroupExistsWithNoMembers) {
    Bytes b = encode(sample_roles(), sample_members(T0));
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    GroupRef g;
    ASSERT_TRUE(v.find_group("empty-role", 10, &g));
    EXPECT_EQ(g.member_count, 0u);
    EXPECT_TRUE(members_of(v, g, T0).empty());

    Bytes none = encode({{"r", "lonely", 5000}}, {});
    ASSERT_EQ(validate(none, &v), Error::None);
    ASSERT_TRUE(v.find_gid(5000, &g));
    EXPECT_STREQ(g.name, "lonely");
}

TEST(SnapshotRoundTrip, EmptySnapshotIsValidAndFindsNothing) {
    Bytes b = encode({}, {});
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    GroupRef g;
    EXPECT_FALSE(v.find_group("x", 1, &g));
    EXPECT_FALSE(v.find_gid(1, &g));
    EXPECT_FALSE(v.group_after("", 0, &g));
    EXPECT_TRUE(groups_of(v, "alice", T0).empty());
}

TEST(SnapshotRoundTrip, MembersInNameOrderAndExpiryAtReadTime) {
    Bytes b = encode(sample_roles(), sample_members(T0));
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    GroupRef g;
    ASSERT_TRUE(v.find_group("db-admin", 8, &g));
    // carol ended at T0-1; bob at T0+60; alice at T0+3600.
    EXPECT_EQ(members_of(v, g, T0 - 100), (std::vector<std::string>{"alice", "bob", "carol"}));
    EXPECT_EQ(members_of(v, g, T0 - 2), (std::vector<std::string>{"alice", "bob", "carol"}));
    EXPECT_EQ(members_of(v, g, T0 - 1), (std::vector<std::string>{"alice", "bob"}));  // end == now: gone
    EXPECT_EQ(members_of(v, g, T0), (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(members_of(v, g, T0 + 59), (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(members_of(v, g, T0 + 60), (std::vector<std::string>{"alice"}));
    EXPECT_EQ(members_of(v, g, T0 + 3600), std::vector<std::string>{});
    // The group itself stays.
    EXPECT_EQ(g.member_count, 3u);

    uint32_t count = 0;
    size_t bytes = 0;
    v.active_members(g, T0, &count, &bytes);
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(bytes, std::string("alice").size() + 1 + std::string("bob").size() + 1);
}

TEST(SnapshotRoundTrip, GroupsOfUserUseTheUserIndexAndExpire) {
    Bytes b = encode(sample_roles(), sample_members(T0));
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    // In group-table (name) order: db, db-admin, solo, web-admin.
    EXPECT_EQ(groups_of(v, "alice", T0), (std::vector<std::string>{"db", "db-admin", "solo", "web-admin"}));
    EXPECT_EQ(groups_of(v, "alice", T0 + 10), (std::vector<std::string>{"db", "db-admin", "web-admin"}));
    EXPECT_EQ(groups_of(v, "alice", T0 + 5000), (std::vector<std::string>{"web-admin"}));
    EXPECT_EQ(groups_of(v, "alice", T0 + 7200), std::vector<std::string>{});
    EXPECT_EQ(groups_of(v, "carol", T0), std::vector<std::string>{});
    EXPECT_EQ(groups_of(v, "carol", T0 - 2), (std::vector<std::string>{"db-admin"}));
    EXPECT_EQ(groups_of(v, "dave", T0), (std::vector<std::string>{"web-admin"}));
    EXPECT_EQ(groups_of(v, "zed", T0), (std::vector<std::string>{"db"}));
    EXPECT_TRUE(groups_of(v, "alic", T0).empty());
    EXPECT_TRUE(groups_of(v, "alice2", T0).empty());
    EXPECT_TRUE(groups_of(v, "", T0).empty());
    EXPECT_TRUE(groups_of(v, "aaa", T0).empty());
    EXPECT_TRUE(groups_of(v, "zzzz", T0).empty());
}

TEST(SnapshotRoundTrip, EnumerationByNameVisitsEveryGroupOnce) {
    Bytes b = encode(sample_roles(), sample_members(T0));
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    std::vector<std::string> seen;
    GroupRef g;
    std::string last;
    while (v.group_after(last.data(), last.size(), &g)) {
        last.assign(g.name, g.name_len);
        seen.push_back(last);
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"db", "db-admin", "empty-role", "solo", "web-admin"}));
    // Resuming after a name that is not (or no longer) in the snapshot.
    ASSERT_TRUE(v.group_after("dc", 2, &g));
    EXPECT_STREQ(g.name, "empty-role");
    ASSERT_TRUE(v.group_after("a", 1, &g));
    EXPECT_STREQ(g.name, "db");
    EXPECT_FALSE(v.group_after("zzz", 3, &g));
}

TEST(SnapshotRoundTrip, DuplicateMembersMergeKeepingTheLatestEnd) {
    Bytes b = encode({{"r", "grp", 7000}}, {{"u", 7000, T0 + 5}, {"u", 7000, T0 + 50}, {"u", 7000, T0 + 20}});
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    GroupRef g;
    ASSERT_TRUE(v.find_gid(7000, &g));
    ASSERT_EQ(g.member_count, 1u);
    MemberRef m;
    ASSERT_TRUE(v.member_at(g, 0, &m));
    EXPECT_EQ(m.end, T0 + 50);
}

TEST(SnapshotRoundTrip, EncodingIsDeterministicWhateverTheInputOrder) {
    auto roles = sample_roles();
    auto members = sample_members(T0);
    Bytes a = encode(roles, members, 9, T0);
    std::reverse(roles.begin(), roles.end());
    std::reverse(members.begin(), members.end());
    Bytes b = encode(roles, members, 9, T0);
    EXPECT_EQ(a, b);
}

TEST(SnapshotRoundTrip, ManyGroupsAndMembersMatchAModel) {
    // 300 groups, 0..40 members each, users shared between groups; every
    // lookup compared with a std::map model at several times.
    std::mt19937 rng(7);
    std::vector<RoleEntry> roles;
    std::vector<MemberEntry> members;
    std::map<std::string, std::pair<uint32_t, std::map<std::string, int64_t>>> model;
    for (int i = 0; i < 300; ++i) {
        std::string name = "role-" + std::to_string(rng() % 100000) + "-" + std::to_string(i);
        uint32_t gid = 100000 + uint32_t(i) * 7 + (rng() % 5);
        roles.push_back({name, name, gid});
        auto& slot = model[name];
        slot.first = gid;
        int n = int(rng() % 41);
        for (int j = 0; j < n; ++j) {
            std::string user = "u" + std::to_string(rng() % 120);
            int64_t end = T0 + int64_t(rng() % 1000) - 300;
            members.push_back({user, gid, end});
            auto [it, inserted] = slot.second.try_emplace(user, end);
            if (!inserted) it->second = std::max(it->second, end);
        }
    }
    Bytes b = encode(roles, members);
    View v;
    ASSERT_EQ(validate(b, &v), Error::None);
    for (int64_t now : {T0 - 400, T0, T0 + 200, T0 + 800}) {
        std::map<std::string, std::set<std::string>> user_groups;
        for (const auto& [name, slot] : model) {
            GroupRef g, h;
            ASSERT_TRUE(v.find_group(name.data(), name.size(), &g)) << name;
            ASSERT_TRUE(v.find_gid(slot.first, &h)) << name;
            EXPECT_EQ(g.index, h.index);
            std::vector<std::string> want;
            for (const auto& [user, end] : slot.second)
                if (now < end) {
                    want.push_back(user);
                    user_groups[user].insert(name);
                }
            EXPECT_EQ(members_of(v, g, now), want) << name << " at " << now;
        }
        for (int u = 0; u < 120; ++u) {
            std::string user = "u" + std::to_string(u);
            auto got = groups_of(v, user, now);
            std::set<std::string> got_set(got.begin(), got.end());
            EXPECT_EQ(got.size(), got_set.size());
            EXPECT_EQ(got_set, user_groups[user]) << user << " at " << now;
        }
    }
}

TEST(SnapshotWriter, RefusesWhatReadersCouldNotServe) {
    auto err = [](const std::vector<RoleEntry>& roles, const std::vector<MemberEntry>& members) {
        auto r = encode_snapshot(roles, members, 1, T0);
        return r ? std::string() : r.error().message;
    };
    EXPECT_NE(err({{"r", "", 5000}}, {}).find("not a valid group name"), std::string::npos);
    EXPECT_NE(err({{"r", "a b", 5000}}, {}).find("role r"), std::string::npos);
    EXPECT_NE(err({{"r", "a:b", 5000}}, {}), "");
    EXPECT_NE(err({{"r", "a,b", 5000}}, {}), "");
    EXPECT_NE(err({{"r", "a\nb", 5000}}, {}), "");
    EXPECT_NE(err({{"r", std::string(256, 'g'), 5000}}, {}), "");
    EXPECT_EQ(err({{"r", std::string(255, 'g'), 5000}}, {}), "");
    EXPECT_NE(err({{"r", "root-ish", 0}}, {}).find("gid 0"), std::string::npos);
    EXPECT_NE(err({{"r", "g", gid_t(-1)}}, {}), "");
    EXPECT_NE(err({{"a", "g", 5000}, {"b", "g", 5001}}, {}).find("group name g"), std::string::npos);
    EXPECT_NE(err({{"a", "g", 5000}, {"b", "h", 5000}}, {}).find("gid 5000"), std::string::npos);
    EXPECT_NE(err({{"a", "g", 5000}}, {{"alice", 5001, T0}}).find("no role"), std::string::npos);
    EXPECT_NE(err({{"a", "g", 5000}}, {{"al ice", 5000, T0}}).find("not a valid user name"), std::string::npos);
    EXPECT_NE(err({{"a", "g", 5000}}, {{"", 5000, T0}}), "");
}

TEST(SnapshotWriter, RefusesMoreMembersPerGroupThanTheLimit) {
    std::vector<MemberEntry> members;
    for (uint32_t i = 0; i <= ELEVATE_SNAPSHOT_MAX_GROUP_MEMBERS; ++i)
        members.push_back({"u" + std::to_string(i), 5000, T0 + 10});
    auto r = encode_snapshot({{"big", "big", 5000}}, members, 1, T0);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("limit"), std::string::npos);
    members.pop_back();
    EXPECT_TRUE(encode_snapshot({{"big", "big", 5000}}, members, 1, T0));
}

TEST(SnapshotWriter, NamesAreStoredOnce) {
    std::vector<RoleEntry> roles;
    std::vector<MemberEntry> members;
    for (uint32_t i = 0; i < 50; ++i) {
        roles.push_back({"r" + std::to_string(i), "group-" + std::to_string(i), 9000 + i});
        members.push_back({"a-rather-long-user-name", 9000 + i, T0 + 10});
    }
    elevate_snapshot_header h = header_of(encode(roles, members));
    size_t group_names = 0;
    for (const auto& r : roles) group_names += r.group.size() + 1;
    EXPECT_EQ(h.strings_size, group_names + std::string("a-rather-long-user-name").size() + 1);
}

}  // namespace
