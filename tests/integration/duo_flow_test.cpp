// Duo push approval through the real daemon: a real elevated with
// [push] provider = "duo" and the real `elevatectl activate ROLE --push`
// against tests/push/duo_server.py (a Duo Auth API v2 stand-in that checks
// every request's signature) over HTTPS with a certificate from a test CA.
// Duo approves, denies, reports fraud (which locks the user until an
// administrator unlocks), and refuses a request signed with the wrong key.
#include "harness.h"
#include "tests/unit/push/test_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace elevate::test;
using nlohmann::json;
namespace pt = elevate::push::test;

namespace {

// The device duo_server.py reports as push-capable.
constexpr char kDevice[] = "iOS (XXX-XXX-1234)";

constexpr char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "push-role"
gid = 61301
eligible_users = ["root"]
factor = "push"

[[role]]
name = "any-role"
gid = 61302
eligible_users = ["root"]
factor = "any"
)";

class DuoPushFlow : public ::testing::Test {
protected:
    void SetUp() override {
        auto pki = pt::make_test_pki(dir);
        ASSERT_TRUE(pki.ok()) << pki.error().message;
    }

    // Starts duo_server.py with `script` and a daemon that asks it, signing
    // with `secret_key`.
    void up(const json& script, const std::string& secret_key = pt::kDuoSkey) {
        auto started = server.start(dir, script);
        ASSERT_TRUE(started.ok()) << started.error().message;
        // poll_interval is at least 1s (common/config/loader.cpp); the
        // server answers "waiting" to the first poll, so an answer takes
        // about one interval.
        daemon = std::make_unique<Daemon>(
            "[push]\nprovider = \"duo\"\ntimeout = \"10s\"\n[push.duo]\napi_host = \"" + server.api_host() +
            "\"\nintegration_key = \"" + pt::kDuoIkey + "\"\nsecret_key = \"" + secret_key + "\"\nca_file = \"" +
            dir.file("pki/ca.pem") + "\"\npoll_interval = \"1s\"\nrequest_timeout = \"3s\"\n" + kRoles);
        daemon->start();
        secret = daemon->enroll("root");
    }

    RunResult push(const std::string& role) { return daemon->ctl({"activate", role, "--push"}); }

    json grants() {
        auto r = daemon->ctl({"--json", "status"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return json::parse(r.out)["grants"];
    }

    bool logged(const std::string& line) {
        const auto lines = server.log_lines();
        return std::find(lines.begin(), lines.end(), line) != lines.end();
    }

    pt::TempDir dir;
    pt::DuoServer server;
    std::unique_ptr<Daemon> daemon;
    std::string secret;
};

}  // namespace

TEST_F(DuoPushFlow, ApprovedPushActivatesTheRole) {
    up({{"default", "approve"}});
    auto r = push("push-role");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find(std::string("Push sent to ") + kDevice), std::string::npos) << r.err;
    auto g = grants();
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0]["role"], "push-role");
    EXPECT_EQ(g[0]["factor"], "push");
    // Preauth, the push, and polls until the answer, all for root.
    EXPECT_TRUE(logged("POST /auth/v2/preauth root"));
    EXPECT_TRUE(logged("POST /auth/v2/auth root"));
    EXPECT_TRUE(logged("GET /auth/v2/auth_status root"));
    EXPECT_NE(read_file(daemon->audit_path()).find("granted for 1h (push)"), std::string::npos);
}

TEST_F(DuoPushFlow, DeniedPushIsRefusedWithTheReason) {
    up({{"default", "approve"}, {"users", {{"root", "deny"}}}});
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(std::string("push denied on ") + kDevice), std::string::npos) << r.err;
    EXPECT_EQ(grants().size(), 0u);
}

TEST_F(DuoPushFlow, FraudLocksTheUserUntilAnAdministratorUnlocks) {
    up({{"default", "fraud"}});
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("reported as fraud"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("elevation is locked for root"), std::string::npos) << r.err;
    EXPECT_NE(read_file(daemon->audit_path()).find("\"event\":\"fraud\""), std::string::npos);
    expect_locked_then_unlock(*daemon, "root", "any-role", secret);
}

TEST_F(DuoPushFlow, WrongSecretKeyIsRefusedNamingTheKeys) {
    up({{"default", "approve"}}, "not-the-secret-key-duo-server-py-knows");
    auto r = push("push-role");
    // Duo's 401 is a definite failure, not "unavailable" (daemon/push/duo.cpp):
    // failmode=open must not let a misconfigured key through.
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("Duo rejected the request"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("check integration_key/secret_key"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("not-the-secret-key"), std::string::npos) << "the key itself is never shown";
    EXPECT_EQ(grants().size(), 0u);
    EXPECT_FALSE(logged("POST /auth/v2/auth root")) << "no push without a valid signature";
}

// A rate limit retried within the push's deadline ends in the answer.
TEST_F(DuoPushFlow, RateLimitedRequestIsRetriedThenApproved) {
    up({{"default", "approve"}, {"rate_limit", {{"path", "/auth/v2/preauth"}, {"count", 1}, {"retry_after", 1}}}});
    auto r = push("push-role");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(grants().size(), 1u);
}

// Rate-limited past the deadline: a denial (exit 1) with its own message,
// not "unavailable" (exit 3), which pam_elevate failmode=open acts on. The
// reason is in the daemon's log too, as docs/CONFIG.md says.
TEST_F(DuoPushFlow, RateLimitedPastTheDeadlineIsADenialNotUnavailable) {
    up({{"default", "approve"}, {"rate_limit", {{"path", "/auth/v2/preauth"}, {"count", -1}, {"retry_after", 120}}}});
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("Duo is rate-limiting requests; try again in 120 s"), std::string::npos) << r.err;
    EXPECT_EQ(grants().size(), 0u);
    EXPECT_NE(daemon->log().find("Duo is rate-limiting requests; try again in 120 s"), std::string::npos)
        << daemon->log();
}

// Provider failures and denials reach the daemon's log, not only the audit
// trail and the CLI.
TEST_F(DuoPushFlow, FailureReasonsAreInTheDaemonLog) {
    up({{"default", "approve"}, {"users", {{"root", "locked"}}}});
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(daemon->log().find("Duo denied root: Your account is disabled."), std::string::npos) << daemon->log();

    server.set_script({{"default", "deny"}});
    r = push("push-role");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(daemon->log().find("Login request denied."), std::string::npos) << daemon->log();
    EXPECT_EQ(daemon->log().find(pt::kDuoSkey), std::string::npos) << "never the secret key";
}

// `activate --push` for a role that is already active is refused before
// anything reaches the phone.
TEST_F(DuoPushFlow, ActiveRoleIsRefusedBeforeAnyPush) {
    up({{"default", "approve"}});
    auto first = push("push-role");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    const auto pushes = [&] {
        const auto lines = server.log_lines();
        return std::count(lines.begin(), lines.end(), "POST /auth/v2/auth root");
    };
    ASSERT_EQ(pushes(), 1);
    auto again = push("push-role");
    EXPECT_EQ(again.exit_code, 7) << again.err;
    EXPECT_NE(again.err.find("push-role is already active until"), std::string::npos) << again.err;
    EXPECT_EQ(again.err.find("Push sent"), std::string::npos) << again.err;
    EXPECT_EQ(pushes(), 1) << "a push was sent for an active role";
    EXPECT_EQ(grants().size(), 1u);
}
