// Many threads looking up while another thread rewrites the snapshot
// continuously with alternating content: no crash, and every answer is
// exactly what one of the written snapshots says (never a mix, never
// garbage). Then fork() in the middle of all that: the child's lookups work
// (no lock inherited in a held state).
#include "snapshot_test_util.h"

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

using namespace elevate::snapshot;
using namespace elevate::snapshot::test;

namespace {

constexpr int64_t NOW = 1700000000;

// Content "A" (even generations) and "B" (odd): same group names, different
// gids and members, so a torn read would show.
struct Content {
    std::vector<RoleEntry> roles;
    std::vector<MemberEntry> members;
    std::map<std::string, std::pair<uint32_t, std::vector<std::string>>> expect;  // active at NOW
};

Content make_content(bool b) {
    Content c;
    for (int i = 0; i < 20; ++i) {
        std::string name = "cc-group-" + std::to_string(i);
        uint32_t gid = (b ? 80000u : 70000u) + uint32_t(i);
        c.roles.push_back({name, name, gid});
        std::vector<std::string> active;
        int n = b ? 3 + i : 25 - i;
        for (int j = 0; j < n; ++j) {
            std::string user = (b ? "bu" : "au") + std::to_string(j);
            bool expired = (j % 4 == 3);
            c.members.push_back({user, gid, expired ? NOW - 1 : NOW + 1000});
            if (!expired) active.push_back(user);
        }
        std::sort(active.begin(), active.end());
        c.expect[name] = {gid, active};
    }
    return c;
}

// The test's own reader, with fork handlers as the NSS layer registers them.
constinit Reader g_reader;
void prepare() {
    g_reader.fork_prepare();
}
void parent() {
    g_reader.fork_parent();
}
void child() {
    g_reader.fork_child();
}

class SnapshotConcurrency : public ::testing::Test {
protected:
    static void SetUpTestSuite() { pthread_atfork(prepare, parent, child); }
    void SetUp() override {
        ASSERT_EQ(geteuid(), 0u) << "needs root: the reader accepts root-owned snapshots only (the suite runs as root)";
        ASSERT_TRUE(write_snapshot(path, a.roles, a.members, 0));
    }
    void TearDown() override { g_reader.reset(); }

    // One lookup of a random group; returns false (with a message) when the
    // answer matches neither content.
    bool check_one(unsigned seed, std::string* why) {
        Lease lease;
        Error e = g_reader.acquire(path.c_str(), &lease);
        if (e != Error::None) {
            *why = std::string("acquire: ") + error_name(e);
            return false;
        }
        const Content& want = lease.view().generation() % 2 == 0 ? a : b;
        std::string name = "cc-group-" + std::to_string(seed % 20);
        GroupRef g;
        if (!lease.view().find_group(name.data(), name.size(), &g)) {
            *why = "no " + name;
            return false;
        }
        const auto& [gid, members] = want.expect.at(name);
        if (g.gid != gid) {
            *why =
                name + ": gid " + std::to_string(g.gid) + " in generation " + std::to_string(lease.view().generation());
            return false;
        }
        if (members_of(lease.view(), g, NOW) != members) {
            *why = name + ": members differ";
            return false;
        }
        GroupRef by_gid;
        if (!lease.view().find_gid(gid, &by_gid) || by_gid.index != g.index) {
            *why = name + ": gid lookup differs";
            return false;
        }
        std::string user = (lease.view().generation() % 2 == 0 ? "au" : "bu") + std::to_string(seed % 7);
        size_t in = 0;
        for (const auto& [n, slot] : want.expect)
            for (const auto& m : slot.second)
                if (m == user) ++in;
        if (groups_of(lease.view(), user, NOW).size() != in) {
            *why = user + ": group count differs";
            return false;
        }
        return true;
    }

    TempDir dir{"/dev/shm"};  // tmpfs: the rewriter's fsyncs stay cheap
    std::string path = dir.file("groups.snapshot");
    Content a = make_content(false), b = make_content(true);
};

TEST_F(SnapshotConcurrency, ReadersSeeOnlyWholeSnapshotsWhileRewritten) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> writes{0}, lookups{0}, bad{0};
    std::string first_bad;
    std::mutex bad_lock;

    std::thread writer([&] {
        for (uint64_t gen = 1; !stop.load(); ++gen) {
            const Content& c = gen % 2 == 0 ? a : b;
            auto r = write_snapshot(path, c.roles, c.members, gen);
            if (!r) {
                std::lock_guard<std::mutex> l(bad_lock);
                first_bad = r.error().message;
                bad++;
                return;
            }
            writes++;
        }
    });
    std::vector<std::thread> readers;
    for (int t = 0; t < 8; ++t)
        readers.emplace_back([&, t] {
            unsigned seed = unsigned(t) * 7919u;
            while (!stop.load()) {
                std::string why;
                if (!check_one(seed++, &why)) {
                    std::lock_guard<std::mutex> l(bad_lock);
                    if (first_bad.empty()) first_bad = why;
                    bad++;
                }
                lookups++;
            }
        });
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop = true;
    writer.join();
    for (auto& r : readers) r.join();

    EXPECT_EQ(bad.load(), 0u) << first_bad;
    EXPECT_GT(writes.load(), 50u);
    EXPECT_GT(lookups.load(), 1000u);
    EXPECT_GT(g_reader.map_count(), 10u) << "the readers never saw a replacement";
    RecordProperty("writes", std::to_string(writes.load()));
    RecordProperty("lookups", std::to_string(lookups.load()));
    RecordProperty("maps", std::to_string(g_reader.map_count()));
}

TEST_F(SnapshotConcurrency, ForkWhileOtherThreadsLookUpAndRewrite) {
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (uint64_t gen = 1; !stop.load(); ++gen) {
            const Content& c = gen % 2 == 0 ? a : b;
            (void)write_snapshot(path, c.roles, c.members, gen);
        }
    });
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t)
        readers.emplace_back([&, t] {
            unsigned seed = unsigned(t);
            std::string why;
            while (!stop.load()) check_one(seed++, &why);
        });

    int failures = 0;
    for (int i = 0; i < 200; ++i) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            alarm(10);  // a deadlocked child dies instead of hanging the test
            std::string why;
            for (int k = 0; k < 20; ++k)
                if (!check_one(unsigned(k), &why)) _exit(1);
            _exit(0);
        }
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
    }
    stop = true;
    writer.join();
    for (auto& r : readers) r.join();
    EXPECT_EQ(failures, 0);
}

}  // namespace
