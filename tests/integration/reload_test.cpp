// SIGHUP reloads the configuration; an invalid one is logged and the old
// one stays in force. elevated --check-config validates without starting.
#include "harness.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

using namespace elevate::test;

namespace {
const char kHead[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "db-admin"
gid = 61031
eligible_users = ["root"]
)";
const char kExtraRole[] = R"(
[[role]]
name = "web-admin"
gid = 61032
eligible_users = ["root"]
)";

// Legal, but the second rule can never apply: a warning, not an error.
const char kShadowedRule[] = R"(
[[policy.rule]]
name = "sudo-needs-totp"
services = ["sudo"]
require_factor = "totp"

[[policy.rule]]
name = "root-sudo-denied"
users = ["root"]
services = ["sudo"]
deny = "no"
)";
const char kShadowWarning[] = "rule 'root-sudo-denied' can never apply: rule 'sudo-needs-totp'";

bool wait_for_log(Daemon& d, const std::string& needle) {
    for (int i = 0; i < 100; ++i) {
        if (d.log().find(needle) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}
}  // namespace

TEST(Reload, GoodConfigTakesEffect) {
    Daemon daemon(kHead);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    auto before = daemon.ctl({"activate", "web-admin"}, {.input = oathtool_code(secret, now()) + "\n"});
    EXPECT_EQ(before.exit_code, 5) << before.err;

    write_file(daemon.config_path(), read_file(daemon.config_path()) + kExtraRole);
    daemon.sighup();
    ASSERT_TRUE(wait_for_log(daemon, "configuration reloaded (2 role(s))")) << daemon.log();
    auto after = daemon.ctl({"activate", "web-admin"}, {.input = oathtool_code(secret, now() + 30) + "\n"});
    EXPECT_EQ(after.exit_code, 0) << after.err;
}

TEST(Reload, BadConfigIsLoggedAndOldOneStays) {
    Daemon daemon(kHead);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    const std::string good = read_file(daemon.config_path());
    write_file(daemon.config_path(), good + "\n[totp2]\nbogus = 1\n");
    daemon.sighup();
    ASSERT_TRUE(wait_for_log(daemon, "reload failed")) << daemon.log();
    EXPECT_NE(daemon.log().find("totp2"), std::string::npos) << daemon.log();
    EXPECT_TRUE(daemon.running());
    auto r = daemon.ctl({"activate", "db-admin"}, {.input = oathtool_code(secret, now()) + "\n"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

// logrotate renames audit.jsonl and sends SIGHUP: the trail goes on in a
// new file at the same path, and nothing after the rename lands in the old.
TEST(Reload, SighupReopensTheAuditFile) {
    Daemon daemon(kHead);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    const std::string rotated = daemon.audit_path() + ".1";
    ASSERT_EQ(::rename(daemon.audit_path().c_str(), rotated.c_str()), 0);
    daemon.sighup();
    ASSERT_TRUE(wait_for_log(daemon, "configuration reloaded")) << daemon.log();
    auto r = daemon.ctl({"activate", "db-admin"}, {.input = oathtool_code(secret, now()) + "\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;

    const std::string old_file = read_file(rotated);
    EXPECT_NE(old_file.find("\"event\":\"enroll"), std::string::npos) << old_file;
    EXPECT_EQ(old_file.find("\"event\":\"reload\""), std::string::npos) << old_file;
    EXPECT_EQ(old_file.find("\"role\":\"db-admin\""), std::string::npos) << old_file;
    std::string fresh;
    for (int i = 0; i < 100 && fresh.find("\"role\":\"db-admin\"") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        fresh = read_file(daemon.audit_path());
    }
    EXPECT_NE(fresh.find("\"event\":\"reload\""), std::string::npos) << fresh;
    EXPECT_NE(fresh.find("\"role\":\"db-admin\""), std::string::npos) << fresh;
    EXPECT_EQ(fresh.find("\"event\":\"enroll"), std::string::npos) << fresh;
}

TEST(CheckConfig, ReportsFileLineAndKey) {
    Daemon daemon(std::string(kHead) + "\n[lockout]\nmax_failurez = 3\n");
    auto r = run({elevated_bin(), "--check-config", "--config", daemon.config_path()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(daemon.config_path() + ":"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("max_failurez"), std::string::npos) << r.err;

    Daemon ok(kHead);
    auto good = run({elevated_bin(), "--check-config", "--config", ok.config_path()});
    EXPECT_EQ(good.exit_code, 0) << good.err;
    EXPECT_NE(good.out.find("configuration OK"), std::string::npos);
}

TEST(CheckConfig, PrintsWarningsAndStillSucceeds) {
    Daemon daemon(std::string(kHead) + kShadowedRule);
    auto r = run({elevated_bin(), "--check-config", "--config", daemon.config_path()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("configuration OK"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("warning: " + daemon.config_path() + ":"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(kShadowWarning), std::string::npos) << r.err;
}

TEST(Reload, StartUpLogsConfigWarnings) {
    Daemon daemon(std::string(kHead) + kShadowedRule);
    daemon.start();
    EXPECT_NE(daemon.log().find(kShadowWarning), std::string::npos) << daemon.log();
}
