// The whole chain of issue #4 with the real pieces: a real elevated (config
// key daemon.snapshot, in the harness's directory) writes the snapshot at start-up and after every grant
// change; getent and id (separate programs, `group: files elevate` in a
// private mount namespace) show a member exactly while the grant is active
// — after activation, not after expiry, not after revocation, and still
// correctly when the daemon is stopped; a real sudo with a `%group` rule
// and no rule for the user works during the grant and stops afterwards,
// without restarting anything.
//
// Host changes: none persistent. nsswitch.conf, sudoers and sudo.conf are
// replaced inside the namespace only; sudo (set-uid, so it ignores
// LD_LIBRARY_PATH and ELEVATE_NSS_SNAPSHOT) finds the build's module
// through a read-only overlay on the system library directory and the
// snapshot through a bind mount on /run/elevate, both inside the namespace.
// Real test users are created and removed (the integration harness).
#include "harness.h"
#include "nss_test_util.h"

#include <grp.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <thread>

using elevate::test::Daemon;
using elevate::test::oathtool_code;
using elevate::test::TestUser;
using namespace elevate::nss::test;
using nlohmann::json;

namespace {

constexpr gid_t kGid = 62501;
constexpr char kGroup[] = "elvt-nss-db";

std::string roles_toml(const std::string& user) {
    return "[totp]\n"
           "drift_steps = 10\n"
           "[[role]]\n"
           "name = \"nss-db\"\n"
           "group = \"" +
           std::string(kGroup) +
           "\"\n"
           "gid = " +
           std::to_string(kGid) +
           "\n"
           "eligible_users = [\"root\", \"" +
           user +
           "\"]\n"
           "default_duration = \"6s\"\n"
           "max_duration = \"1h\"\n";
}

class NssDaemonFlow : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_FAIL() << "needs root (real users, the daemon, mount namespaces)";
        if (!namespaces_available()) GTEST_FAIL() << "needs mount namespaces (getent/sudo see a private nsswitch.conf)";
        daemon.start();
    }

    // Programs see the daemon's snapshot (daemon.snapshot in its config).
    NsOptions options() {
        NsOptions o;
        o.env = child_env(daemon.snapshot_path());
        o.snapshot = daemon.snapshot_path();
        return o;
    }

    RunResult getent(const std::string& key) { return run_with_nsswitch({"/usr/bin/getent", "group", key}, options()); }

    // Members listed by `getent group <group>`, or "<absent>".
    std::string members() {
        RunResult r = getent(kGroup);
        if (r.exit_code != 0) return "<absent>";
        auto colon = r.out.rfind(':');
        std::string m = r.out.substr(colon + 1);
        while (!m.empty() && m.back() == '\n') m.pop_back();
        return m;
    }

    std::string code(const std::string& secret, int offset) {
        return oathtool_code(secret, elevate::test::now() + offset * 30);
    }

    bool wait_for(const std::function<bool()>& cond, int seconds) {
        for (int i = 0; i < seconds * 10; ++i) {
            if (cond()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return cond();
    }

    TestUser user{"elvt-nssu"};
    Daemon daemon{roles_toml(user.name())};
};

TEST_F(NssDaemonFlow, SnapshotWrittenAtStartUpWithTheRoleGroup) {
    RunResult r = getent(kGroup);
    ASSERT_EQ(r.exit_code, 0) << r.err << daemon.log();
    EXPECT_EQ(r.out, std::string(kGroup) + ":*:" + std::to_string(kGid) + ":\n");
    r = getent(std::to_string(kGid));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(NssDaemonFlow, ActivateShowsTheMemberUntilExpiryAndRevokeRemovesIt) {
    const std::string secret = daemon.enroll("root");
    auto a = daemon.ctl({"activate", "nss-db", "--for", "4s"}, {.input = code(secret, 0) + "\n"});
    ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
    EXPECT_EQ(members(), "root");
    NsOptions o = options();
    RunResult id = run_with_nsswitch({"/usr/bin/id", "-Gn", "root"}, o);
    EXPECT_NE(id.out.find(kGroup), std::string::npos) << id.out << id.err;

    // Expiry: gone on time, whatever the daemon has done by then.
    EXPECT_TRUE(wait_for([&] { return members().empty(); }, 8)) << members();
    id = run_with_nsswitch({"/usr/bin/id", "-Gn", "root"}, o);
    EXPECT_EQ(id.out.find(kGroup), std::string::npos) << id.out;

    // Revocation: gone at once.
    a = daemon.ctl({"activate", "nss-db", "--for", "10m"}, {.input = code(secret, 1) + "\n"});
    ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
    EXPECT_EQ(members(), "root");
    auto status = daemon.ctl({"--json", "status"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    std::string grant = json::parse(status.out)["grants"][0]["id"];
    auto revoked = daemon.ctl({"revoke", grant, "--reason", "test"});
    ASSERT_EQ(revoked.exit_code, 0) << revoked.out << revoked.err;
    EXPECT_EQ(members(), "");
}

TEST_F(NssDaemonFlow, DaemonStoppedGroupStillResolvesAndExpiryStillHolds) {
    const std::string secret = daemon.enroll("root");
    auto a = daemon.ctl({"activate", "nss-db", "--for", "4s"}, {.input = code(secret, 0) + "\n"});
    ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
    daemon.kill9();
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(members(), "root");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << "a lookup waited for the daemon";
    EXPECT_TRUE(wait_for([&] { return members().empty(); }, 8)) << members();
    RunResult r = getent(kGroup);
    EXPECT_EQ(r.exit_code, 0) << "the role group must still exist";
}

TEST_F(NssDaemonFlow, SudoWithAGroupRuleFollowsTheGrant) {
    // sudoers: the group rule only. sudo.conf: group_source dynamic, so sudo
    // asks NSS on every run instead of trusting the session's group list
    // (which a shell that logged in during the grant keeps after it ends).
    std::string sudoers = snapshot_dir() + "/sudoers";
    {
        std::ifstream in("/etc/sudoers");
        std::ofstream out(sudoers, std::ios::trunc);
        out << in.rdbuf() << "\n%" << kGroup << " ALL=(ALL:ALL) NOPASSWD: ALL\n";
    }
    chmod(sudoers.c_str(), 0440);
    std::string sudo_conf = snapshot_dir() + "/sudo.conf";
    {
        std::ofstream out(sudo_conf, std::ios::trunc);
        out << "Set group_source dynamic\n";
    }
    chmod(sudo_conf.c_str(), 0644);

    auto sudo = [&](std::vector<gid_t> stale_groups = {}) {
        NsOptions o = options();
        o.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
        o.binds = {{sudoers, "/etc/sudoers"}, {sudo_conf, "/etc/sudo.conf"}};
        o.login_user = user.name();
        o.extra_groups = std::move(stale_groups);
        o.system_paths = true;
        return run_with_nsswitch({"/usr/bin/sudo", "-n", "/usr/bin/id", "-u"}, o);
    };

    RunResult before = sudo();
    EXPECT_NE(before.exit_code, 0) << before.out << before.err;
    EXPECT_NE(before.exit_code, 125) << before.err;

    const std::string secret = daemon.enroll(user.name());
    auto a = daemon.ctl({"activate", "nss-db", "--for", "5s"},
                        {.input = code(secret, 0) + "\n", .uid = user.uid(), .gid = user.gid()});
    ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
    RunResult during = sudo();
    EXPECT_EQ(during.exit_code, 0) << during.out << during.err;
    EXPECT_EQ(during.out, "0\n");

    ASSERT_TRUE(wait_for([&] { return members().empty(); }, 10));
    RunResult after = sudo();
    EXPECT_NE(after.exit_code, 0) << after.out << after.err;
    // A session that logged in during the grant still carries the gid.
    RunResult stale = sudo({kGid});
    EXPECT_NE(stale.exit_code, 0) << "sudo trusted the session's stale group list: " << stale.out << stale.err;
}

}  // namespace

int main(int argc, char** argv) {
    ensure_library_path(argc, argv);
    setup_snapshot_env();  // scratch space; the snapshot is the daemon's
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
