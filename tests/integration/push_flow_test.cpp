// Push approval through the real daemon: elevatectl --push against a real
// HTTPS webhook server on 127.0.0.1 (tests/push/webhook_server.py) with a
// certificate from a test CA made for the test; scripted answers approve,
// deny, fraud, timeout, bad signature, replay, malformed; wrong
// certificate; server down; concurrent pushes; notifications.
#include "harness.h"
#include "tests/unit/push/test_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <thread>

using namespace elevate::test;
using nlohmann::json;
namespace pt = elevate::push::test;

namespace {

constexpr int kConcurrent = 20;

std::string roles() {
    std::string toml = R"(
[totp]
drift_steps = 10

[[role]]
name = "push-role"
gid = 61201
eligible_users = ["root"]
factor = "push"

[[role]]
name = "any-role"
gid = 61202
eligible_users = ["root"]
factor = "any"

[[role]]
name = "brief"
gid = 61203
eligible_users = ["root"]
default_duration = "2s"
)";
    for (int i = 0; i < kConcurrent; ++i) {
        toml += "\n[[role]]\nname = \"burst" + std::to_string(i) + "\"\ngid = " + std::to_string(61220 + i) +
                "\neligible_users = [\"root\"]\nfactor = \"push\"\n";
    }
    return toml;
}

class PushFlow : public ::testing::Test {
protected:
    void SetUp() override {
        auto pki = pt::make_test_pki(dir);
        ASSERT_TRUE(pki.ok()) << pki.error().message;
    }

    // Starts the webhook server (unless `down`) and a daemon that uses it.
    void up(const json& script, const std::string& cert = "server", bool down = false) {
        int port = pt::closed_port();
        if (!down) {
            auto started = server.start(dir, script, cert);
            ASSERT_TRUE(started.ok()) << started.error().message;
            port = server.port();
        }
        const std::string base = "https://127.0.0.1:" + std::to_string(port) + "/elevate";
        const std::string tls = "ca_file = \"" + dir.file("pki/ca.pem") + "\"\nrequest_timeout = \"3s\"\n";
        daemon =
            std::make_unique<Daemon>("[push]\nprovider = \"webhook\"\ntimeout = \"10s\"\n[push.webhook]\nurl = \"" +
                                     base + "\"\nsecret = \"" + pt::kSecret + "\"\n" + tls + "[notify]\nurl = \"" +
                                     base + "/events\"\nsecret = \"" + pt::kSecret + "\"\n" + tls + roles());
        daemon->start();
        secret = daemon->enroll("root");
    }

    RunResult push(const std::string& role, int timeout_ms = 30000) {
        RunOptions o;
        o.timeout_ms = timeout_ms;
        return daemon->ctl({"activate", role, "--push"}, o);
    }

    json status() {
        auto r = daemon->ctl({"--json", "status"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return json::parse(r.out);
    }

    // Waits (up to 10 s) for a notification event of `type`.
    bool event_seen(const std::string& type) {
        for (int i = 0; i < 100; ++i) {
            for (const auto& e : server.events())
                if (e.value("type", "") == type) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }

    pt::TempDir dir;
    pt::WebhookServer server;
    std::unique_ptr<Daemon> daemon;
    std::string secret;
};

}  // namespace

TEST_F(PushFlow, ApprovedPushActivatesTheRole) {
    up({{"default", "approve"}, {"device", "Pixel 8"}, {"delay", 0.3}});
    auto r = push("push-role");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find("Push sent to Pixel 8"), std::string::npos) << r.err;
    auto grants = status()["grants"];
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0]["role"], "push-role");
    EXPECT_EQ(grants[0]["factor"], "push");
    std::string audit = read_file(daemon->audit_path());
    EXPECT_NE(audit.find("\"event\":\"push-answer\""), std::string::npos) << audit;
    EXPECT_NE(audit.find("granted for 1h (push)"), std::string::npos) << audit;
    EXPECT_TRUE(event_seen("grant.activated"));
}

TEST_F(PushFlow, DeniedPushIsRefusedWithTheReason) {
    up({{"default", "deny"}, {"device", "Pixel 8"}});
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("push denied on Pixel 8"), std::string::npos) << r.err;
    EXPECT_EQ(status()["grants"].size(), 0u);
}

TEST_F(PushFlow, FraudLocksTheUserUntilAnAdministratorUnlocks) {
    up({{"default", "fraud"}});
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("reported as fraud"), std::string::npos) << r.err;
    EXPECT_TRUE(event_seen("push.fraud"));
    EXPECT_NE(read_file(daemon->audit_path()).find("\"event\":\"fraud\""), std::string::npos);
    expect_locked_then_unlock(*daemon, "root", "any-role", secret);
}

TEST_F(PushFlow, UnansweredPushTimesOut) {
    up({{"default", "timeout"}});
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("no answer to the push"), std::string::npos) << r.err;
}

TEST_F(PushFlow, ForgedReplayedOrMalformedAnswersAreRefused) {
    up({{"default", "approve"}});
    for (const char* behaviour : {"badsig", "replay", "malformed", "stale", "wrong_id"}) {
        server.set_script({{"default", behaviour}});
        auto r = push("push-role");
        EXPECT_EQ(r.exit_code, 1) << behaviour << ": " << r.err;
        EXPECT_EQ(status()["grants"].size(), 0u) << behaviour;
    }
    std::string audit = read_file(daemon->audit_path());
    EXPECT_EQ(audit.find("granted for"), std::string::npos) << audit;
}

TEST_F(PushFlow, WrongCertificateIsUnavailable) {
    up({{"default", "approve"}}, "wrong");
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;
    EXPECT_EQ(status()["grants"].size(), 0u);
}

TEST_F(PushFlow, ServerDownIsUnavailable) {
    up({}, "server", /*down=*/true);
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;
}

TEST_F(PushFlow, PushRoleRefusesACodeAndCodesStillWorkForAny) {
    up({{"default", "approve"}});
    auto code = daemon->ctl({"activate", "push-role"}, {.input = oathtool_code(secret, now()) + "\n"});
    EXPECT_EQ(code.exit_code, 1) << code.err;
    EXPECT_NE(code.err.find("requires push approval"), std::string::npos) << code.err;
    auto any = daemon->ctl({"activate", "any-role"}, {.input = oathtool_code(secret, now() + 30) + "\n"});
    EXPECT_EQ(any.exit_code, 0) << any.err;
}

TEST_F(PushFlow, OtherClientsAreServedWhilePushesWait) {
    up({{"default", "approve"}, {"delay", 2.0}});
    std::vector<std::future<RunResult>> pushes;
    for (int i = 0; i < kConcurrent; ++i)
        pushes.push_back(std::async(std::launch::async, [this, i] { return push("burst" + std::to_string(i)); }));
    // While twenty requests are parked on their pushes, others get answers.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(daemon->ctl({"ping"}).exit_code, 0);
    for (auto& p : pushes) {
        auto r = p.get();
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    EXPECT_EQ(status()["grants"].size(), size_t(kConcurrent));
}

TEST_F(PushFlow, ClientThatGivesUpDoesNotHurtTheDaemon) {
    up({{"default", "timeout"}});
    auto gone = push("push-role", /*timeout_ms=*/1500);  // killed while parked
    EXPECT_EQ(gone.exit_code, -1);
    EXPECT_EQ(daemon->ctl({"ping"}).exit_code, 0);
    server.set_script({{"default", "approve"}});
    auto r = push("push-role");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(daemon->running());
}

TEST_F(PushFlow, GrantLifecycleIsSentAsSignedEvents) {
    up({{"default", "approve"}});
    // Expiry: a 2 s grant.
    auto brief = daemon->ctl({"activate", "brief"}, {.input = oathtool_code(secret, now()) + "\n"});
    ASSERT_EQ(brief.exit_code, 0) << brief.err;
    // Revocation.
    auto any = daemon->ctl({"--json", "activate", "any-role"}, {.input = oathtool_code(secret, now() + 30) + "\n"});
    ASSERT_EQ(any.exit_code, 0) << any.err;
    const std::string id = json::parse(any.out)["grant"]["id"];
    ASSERT_EQ(daemon->ctl({"revoke", id, "--reason", "done"}).exit_code, 0);

    EXPECT_TRUE(event_seen("grant.revoked"));
    EXPECT_TRUE(event_seen("grant.expired"));
    // The sink checked each signature (it refuses unsigned posts); each
    // event names the user, role and grant.
    size_t activated = 0;
    for (const auto& e : server.events()) {
        if (e.value("type", "") != "grant.activated") continue;
        ++activated;
        EXPECT_EQ(e["user"], "root");
        EXPECT_TRUE(e["grant"].contains("id"));
        EXPECT_TRUE(e.contains("time"));
    }
    EXPECT_EQ(activated, 2u);
}
