// Invariant 6: a grant the daemon acknowledged survives kill -9 of the
// daemon immediately after the acknowledgement.
#include "harness.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace elevate::test;
using nlohmann::json;

namespace {
const char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "db-admin"
gid = 61021
eligible_users = ["root"]
)";
}  // namespace

TEST(Durability, AcknowledgedGrantSurvivesKill9) {
    Daemon daemon(kRoles);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    // drift_steps = 10 gives 21 distinct valid codes right now.
    for (int i = 0; i < 20; ++i) {
        const std::string code = oathtool_code(secret, now() + (i - 10) * 30);
        auto r = daemon.ctl({"--json", "activate", "db-admin", "--for", "1h"}, {.input = code + "\n"});
        ASSERT_EQ(r.exit_code, 0) << "iteration " << i << ": " << r.out << r.err;
        const std::string id = json::parse(r.out)["grant"]["id"];
        daemon.kill9();  // right after the acknowledgement

        daemon.start();
        auto s = daemon.ctl({"--json", "status"});
        ASSERT_EQ(s.exit_code, 0) << s.err;
        auto grants = json::parse(s.out)["grants"];
        ASSERT_EQ(grants.size(), 1u) << "iteration " << i << ": " << s.out;
        EXPECT_EQ(grants[0]["id"], id);
        ASSERT_EQ(daemon.ctl({"drop", id}).exit_code, 0);
    }
}

TEST(Durability, UsedCodeStaysUsedAcrossRestart) {
    Daemon daemon(kRoles);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    const std::string code = oathtool_code(secret, now());
    ASSERT_EQ(daemon.ctl({"activate", "db-admin"}, {.input = code + "\n"}).exit_code, 0);
    ASSERT_EQ(daemon.ctl({"drop", "db-admin"}).exit_code, 0);
    daemon.kill9();
    daemon.start();
    auto replay = daemon.ctl({"activate", "db-admin"}, {.input = code + "\n"});
    EXPECT_EQ(replay.exit_code, 1) << replay.err;
}

TEST(StateSafety, RefusesWorldReadableStateDir) {
    Daemon daemon(kRoles);
    chmod(daemon.state_dir().c_str(), 0755);
    EXPECT_THROW(daemon.start(), std::runtime_error);
    std::string log = daemon.log();
    EXPECT_NE(log.find("chmod 0700"), std::string::npos) << log;
}

TEST(StateSafety, RefusesGroupWritableDatabase) {
    Daemon daemon(kRoles);
    daemon.start();
    daemon.stop();
    chmod((daemon.state_dir() + "/elevate.db").c_str(), 0660);
    EXPECT_THROW(daemon.start(), std::runtime_error);
    std::string log = daemon.log();
    EXPECT_NE(log.find("chmod 0600"), std::string::npos) << log;
}

TEST(StateSafety, ExpiredWhileDownIsExpiredAtStartup) {
    Daemon daemon(kRoles);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    auto r = daemon.ctl({"activate", "db-admin", "--for", "1s"}, {.input = oathtool_code(secret, now()) + "\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    daemon.kill9();
    sleep(2);
    daemon.start();
    auto s = daemon.ctl({"--json", "status"});
    EXPECT_TRUE(json::parse(s.out)["grants"].empty()) << s.out;
    EXPECT_NE(read_file(daemon.audit_path()).find("\"event\":\"expire\""), std::string::npos);
}
