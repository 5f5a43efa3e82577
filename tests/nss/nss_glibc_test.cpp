// libnss_elevate.so.2 through glibc: the test process selects it with
// __nss_configure_lookup("group", ...) and glibc dlopens
// "libnss_elevate.so.2" by the normal library search, which finds the build
// tree's copy through LD_LIBRARY_PATH (main() re-executes with it set).
// getgrnam/getgrgid/getgrouplist/getgrent, glibc's ERANGE retry loop,
// replacement and expiry without restarting, concurrent lookups while the
// snapshot is rewritten, fork; then getent and id as separate programs with
// `group: files elevate` in a private mount namespace.
#include "nss_test_util.h"

#include <dlfcn.h>
#include <grp.h>
#include <link.h>
#include <nss.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace elevate::nss::test;
using elevate::snapshot::MemberEntry;
using elevate::snapshot::RoleEntry;

namespace {

std::vector<std::string> members_of(const struct group* gr) {
    std::vector<std::string> out;
    for (char** m = gr->gr_mem; *m; ++m) out.emplace_back(*m);
    return out;
}

std::set<gid_t> grouplist(const char* user, gid_t primary) {
    std::vector<gid_t> groups(4);
    int n = int(groups.size());
    if (getgrouplist(user, primary, groups.data(), &n) < 0) {
        groups.resize(size_t(n));
        EXPECT_GE(getgrouplist(user, primary, groups.data(), &n), 0);
    }
    return std::set<gid_t>(groups.begin(), groups.begin() + n);
}

class NssGlibc : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(geteuid(), 0u) << "needs root: the module accepts root-owned snapshots only (the suite runs as root)";
        ASSERT_EQ(__nss_configure_lookup("group", "elevate"), 0);
        t = now();
        publish(roles(), members());
    }
    static std::vector<RoleEntry> roles() {
        return {{"db", "elvt-g-db", 62101}, {"web", "elvt-g-web", 62102}, {"none", "elvt-g-none", 62103}};
    }
    std::vector<MemberEntry> members() const {
        return {{"alice", 62101, t + 3600},
                {"bob", 62101, t + 3600},
                {"gone", 62101, t - 1},
                {"alice", 62102, t + 3600},
                {"root", 62102, t + 3600}};
    }
    int64_t t = 0;
};

TEST_F(NssGlibc, GlibcLoadsTheBuildTreeModule) {
    ASSERT_NE(getgrnam("elvt-g-db"), nullptr);
    void* handle = dlopen("libnss_elevate.so.2", RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(handle, nullptr) << "glibc did not load libnss_elevate.so.2";
    struct link_map* map = nullptr;
    ASSERT_EQ(dlinfo(handle, RTLD_DI_LINKMAP, &map), 0);
    EXPECT_EQ(std::filesystem::canonical(map->l_name), std::filesystem::canonical(module_path()));
    dlclose(handle);
}

TEST_F(NssGlibc, GetgrnamAndGetgrgid) {
    struct group* gr = getgrnam("elvt-g-db");
    ASSERT_NE(gr, nullptr);
    EXPECT_EQ(gr->gr_gid, 62101u);
    EXPECT_STREQ(gr->gr_passwd, "*");
    EXPECT_EQ(members_of(gr), (std::vector<std::string>{"alice", "bob"}));
    gr = getgrgid(62102);
    ASSERT_NE(gr, nullptr);
    EXPECT_STREQ(gr->gr_name, "elvt-g-web");
    EXPECT_EQ(members_of(gr), (std::vector<std::string>{"alice", "root"}));
    gr = getgrnam("elvt-g-none");
    ASSERT_NE(gr, nullptr);
    EXPECT_TRUE(members_of(gr).empty());

    errno = 0;
    EXPECT_EQ(getgrnam("elvt-g-nope"), nullptr);
    EXPECT_EQ(getgrgid(62199), nullptr);
}

TEST_F(NssGlibc, GetgrnamRReportsErangeToTheCaller) {
    struct group gr, *result = nullptr;
    char small[16];
    EXPECT_EQ(getgrnam_r("elvt-g-db", &gr, small, sizeof small, &result), ERANGE);
    EXPECT_EQ(result, nullptr);
    char big[1024];
    EXPECT_EQ(getgrnam_r("elvt-g-db", &gr, big, sizeof big, &result), 0);
    ASSERT_EQ(result, &gr);
    EXPECT_EQ(members_of(&gr), (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(getgrnam_r("elvt-g-nope", &gr, big, sizeof big, &result), 0);
    EXPECT_EQ(result, nullptr);
}

TEST_F(NssGlibc, LargeGroupThroughGlibcsBufferGrowth) {
    std::vector<MemberEntry> many;
    std::vector<std::string> want;
    for (int i = 0; i < 5000; ++i) {
        std::string user = "user-with-a-long-name-" + std::to_string(100000 + i);
        many.push_back({user, 62101, t + 3600});
        want.push_back(user);
    }
    publish(roles(), many);
    struct group* gr = getgrnam("elvt-g-db");
    ASSERT_NE(gr, nullptr);
    EXPECT_EQ(members_of(gr), want);
}

TEST_F(NssGlibc, GetgrouplistHasActiveRoleGroupsOnly) {
    EXPECT_EQ(grouplist("alice", 100), (std::set<gid_t>{100, 62101, 62102}));
    EXPECT_EQ(grouplist("bob", 100), (std::set<gid_t>{100, 62101}));
    EXPECT_EQ(grouplist("gone", 100), (std::set<gid_t>{100}));
    EXPECT_EQ(grouplist("nobody-at-all", 100), (std::set<gid_t>{100}));
    // Too small an array: -1 and the count needed.
    gid_t one[1];
    int n = 1;
    EXPECT_EQ(getgrouplist("alice", 100, one, &n), -1);
    EXPECT_EQ(n, 3);
}

TEST_F(NssGlibc, GetgrentEnumeratesRoleGroups) {
    std::vector<std::string> names;
    setgrent();
    while (struct group* gr = getgrent()) names.emplace_back(gr->gr_name);
    endgrent();
    EXPECT_EQ(names, (std::vector<std::string>{"elvt-g-db", "elvt-g-none", "elvt-g-web"}));
}

TEST_F(NssGlibc, BehindFilesSystemGroupsStillResolve) {
    ASSERT_EQ(__nss_configure_lookup("group", "files elevate"), 0);
    struct group* gr = getgrnam("root");
    ASSERT_NE(gr, nullptr);
    EXPECT_EQ(gr->gr_gid, 0u);
    gr = getgrnam("elvt-g-web");
    ASSERT_NE(gr, nullptr);
    EXPECT_EQ(gr->gr_gid, 62102u);
    std::set<std::string> names;
    setgrent();
    while (struct group* g = getgrent()) names.emplace(g->gr_name);
    endgrent();
    EXPECT_TRUE(names.count("root"));
    EXPECT_TRUE(names.count("elvt-g-db"));
    EXPECT_TRUE(grouplist("root", 0).count(62102));
}

TEST_F(NssGlibc, ReplacementAndExpiryWithoutRestart) {
    ASSERT_EQ(members_of(getgrnam("elvt-g-db")), (std::vector<std::string>{"alice", "bob"}));
    // Revoked: the daemon rewrites without bob.
    publish(roles(), {{"alice", 62101, t + 3600}});
    EXPECT_EQ(members_of(getgrnam("elvt-g-db")), (std::vector<std::string>{"alice"}));
    EXPECT_EQ(grouplist("bob", 100), (std::set<gid_t>{100}));
    // A stale snapshot listing an ended grant: the end time decides.
    publish(roles(), {{"alice", 62101, now() - 1}});
    EXPECT_TRUE(members_of(getgrnam("elvt-g-db")).empty());
    EXPECT_EQ(grouplist("alice", 100), (std::set<gid_t>{100}));
    // Role removed from the config: the group disappears.
    publish({{"web", "elvt-g-web", 62102}}, {});
    EXPECT_EQ(getgrnam("elvt-g-db"), nullptr);
}

TEST_F(NssGlibc, MissingOrCorruptSnapshotMeansNoGroup) {
    ASSERT_EQ(unlink(snapshot_path().c_str()), 0);
    struct group gr, *result = &gr;
    char buf[1024];
    int rc = getgrnam_r("elvt-g-db", &gr, buf, sizeof buf, &result);
    EXPECT_EQ(result, nullptr);
    EXPECT_TRUE(rc == 0 || rc == ENOENT) << rc;
    EXPECT_EQ(grouplist("alice", 100), (std::set<gid_t>{100}));
    publish_raw(std::vector<uint8_t>(200, 0xff));
    EXPECT_EQ(getgrnam("elvt-g-db"), nullptr);
    publish(roles(), members());
    EXPECT_NE(getgrnam("elvt-g-db"), nullptr);
}

// Two alternating contents with the same group names but different gids and
// members: any torn read would show as a mix.
struct Content {
    std::vector<RoleEntry> roles;
    std::vector<MemberEntry> members;
    std::map<std::string, std::pair<gid_t, std::vector<std::string>>> groups;
    std::map<std::string, std::set<gid_t>> user_groups;
};

Content make_content(bool b, int64_t t) {
    Content c;
    for (int i = 0; i < 12; ++i) {
        std::string name = "elvt-cc-" + std::to_string(i);
        gid_t gid = (b ? 64100 : 64000) + gid_t(i);
        c.roles.push_back({name, name, gid});
        std::vector<std::string> users;
        for (int j = 0; j < (b ? 2 + i : 14 - i); ++j) {
            std::string user = std::string(b ? "b" : "a") + "user" + std::to_string(j);
            c.members.push_back({user, gid, t + 3600});
            users.push_back(user);
            c.user_groups[user].insert(gid);
        }
        std::sort(users.begin(), users.end());
        c.groups[name] = {gid, users};
    }
    return c;
}

TEST_F(NssGlibc, ConcurrentLookupsWhileTheSnapshotIsRewritten) {
    const Content a = make_content(false, t), b = make_content(true, t);
    publish(a.roles, a.members);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> lookups{0}, writes{0}, bad{0}, saw_a{0}, saw_b{0};
    std::mutex first_bad_lock;
    std::string first_bad;
    auto fail = [&](const std::string& why) {
        std::lock_guard<std::mutex> l(first_bad_lock);
        if (first_bad.empty()) first_bad = why;
        bad++;
    };
    std::thread writer([&] {
        for (int i = 1; !stop.load(); ++i) {
            const Content& c = i % 2 ? b : a;
            publish(c.roles, c.members);
            writes++;
        }
    });
    std::vector<std::thread> readers;
    for (int r = 0; r < 8; ++r)
        readers.emplace_back([&, r] {
            std::vector<char> buf(4096);
            for (unsigned k = unsigned(r); !stop.load(); ++k) {
                std::string name = "elvt-cc-" + std::to_string(k % 12);
                struct group gr, *result = nullptr;
                int rc = k % 2 ? getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result)
                               : getgrgid_r((k % 4 == 0 ? 64000 : 64100) + gid_t(k % 12), &gr, buf.data(), buf.size(),
                                            &result);
                lookups++;
                if (k % 2 == 0) {
                    // By gid: present in one content only, so it may be
                    // absent; when present it must be whole.
                    if (rc != 0) fail("getgrgid_r rc " + std::to_string(rc));
                    if (result == nullptr) continue;
                    name = gr.gr_name;
                } else if (rc != 0 || result == nullptr) {
                    fail(name + ": not found, rc " + std::to_string(rc));
                    continue;
                }
                const Content* which = gr.gr_gid >= 64100 ? &b : &a;
                (which == &a ? saw_a : saw_b)++;
                auto it = which->groups.find(name);
                if (it == which->groups.end() || it->second.first != gr.gr_gid || it->second.second != members_of(&gr))
                    fail(name + ": inconsistent entry for gid " + std::to_string(gr.gr_gid));
                if (k % 5 == 0) {
                    std::string user = std::string(k % 10 == 0 ? "a" : "b") + "user" + std::to_string(k % 7);
                    std::set<gid_t> got = grouplist(user.c_str(), 100);
                    got.erase(100);
                    const Content& own = user[0] == 'a' ? a : b;
                    std::set<gid_t> want = own.user_groups.count(user) ? own.user_groups.at(user) : std::set<gid_t>{};
                    if (!got.empty() && got != want) fail(user + ": partial group list");
                }
            }
        });
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop = true;
    writer.join();
    for (auto& r : readers) r.join();
    EXPECT_EQ(bad.load(), 0u) << first_bad;
    EXPECT_GT(writes.load(), 20u);
    EXPECT_GT(saw_a.load(), 0u);
    EXPECT_GT(saw_b.load(), 0u);
    RecordProperty("lookups", std::to_string(lookups.load()));
    RecordProperty("writes", std::to_string(writes.load()));
}

TEST_F(NssGlibc, ForkWhileLookupsRunInOtherThreads) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int r = 0; r < 4; ++r)
        threads.emplace_back([&] {
            std::vector<char> buf(4096);
            while (!stop.load()) {
                struct group gr, *result;
                getgrnam_r("elvt-g-db", &gr, buf.data(), buf.size(), &result);
            }
        });
    std::thread writer([&] {
        while (!stop.load()) publish(roles(), members());
    });
    int failures = 0;
    for (int i = 0; i < 200; ++i) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            alarm(10);
            struct group* gr = getgrnam("elvt-g-db");
            _exit(gr != nullptr && gr->gr_gid == 62101 ? 0 : 1);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
    }
    stop = true;
    writer.join();
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures, 0);
}

// --- separate programs, /etc/nsswitch.conf naming `elevate` -----------------

class NssPrograms : public NssGlibc {
protected:
    void SetUp() override {
        NssGlibc::SetUp();
        if (HasFatalFailure()) return;
        ASSERT_TRUE(namespaces_available()) << "no mount namespaces here: cannot give getent its own nsswitch.conf";
    }
    RunResult run(const std::vector<std::string>& argv) {
        NsOptions o;
        o.env = child_env();
        RunResult r = run_with_nsswitch(argv, o);
        EXPECT_NE(r.exit_code, 125) << r.err;
        return r;
    }
};

TEST_F(NssPrograms, GetentGroupByNameGidAndEnumeration) {
    RunResult r = run({"/usr/bin/getent", "group", "elvt-g-db"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "elvt-g-db:*:62101:alice,bob\n");
    r = run({"/usr/bin/getent", "group", "62103"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "elvt-g-none:*:62103:\n");
    r = run({"/usr/bin/getent", "group"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(("\n" + r.out).find("\nroot:x:0:"), std::string::npos) << r.out;  // files still first
    EXPECT_NE(r.out.find("elvt-g-web:*:62102:alice,root\n"), std::string::npos) << r.out;
    r = run({"/usr/bin/getent", "group", "elvt-g-nope"});
    EXPECT_EQ(r.exit_code, 2);
}

TEST_F(NssPrograms, IdShowsTheRoleGroupOnlyWhileTheGrantIsActive) {
    RunResult r = run({"/usr/bin/id", "-Gn", "root"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("elvt-g-web"), std::string::npos) << r.out;
    publish(roles(), {{"root", 62102, now() - 1}});  // ended
    r = run({"/usr/bin/id", "-Gn", "root"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("elvt-g-web"), std::string::npos) << r.out;
}

TEST_F(NssPrograms, GetentWithoutSnapshotFindsNothingAndDoesNotHang) {
    ASSERT_EQ(unlink(snapshot_path().c_str()), 0);
    RunResult r = run({"/usr/bin/getent", "group", "elvt-g-db"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    r = run({"/usr/bin/getent", "group", "root"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace

int main(int argc, char** argv) {
    ensure_library_path(argc, argv);
    setup_snapshot_env();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
