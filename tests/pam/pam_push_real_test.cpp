// pam_elevate.so in real PAM stacks (pam_wrapper + libpamtest) against a
// real elevated that sends pushes to a real HTTPS webhook server on
// 127.0.0.1 (tests/push/webhook_server.py): Enter at the prompt pushes,
// an approved push grants, a denied one is refused with its reason, a
// fraud report locks, an unreachable provider falls back to a code, and a
// role that needs approval waits at the prompt until an approver (another
// real user) approves.
#include "harness.h"
#include "pam_support.h"
#include "tests/unit/push/test_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <thread>

using namespace elevate::test;
using namespace elevate::pamtest;
using nlohmann::json;
namespace pt = elevate::push::test;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "any-role"
gid = 61401
eligible_users = ["root"]
factor = "any"

[[role]]
name = "push-role"
gid = 61402
eligible_users = ["root"]
factor = "push"

[[role]]
name = "by-group"
gid = 61404
eligible_groups = ["root"]
factor = "push"

[[role]]
name = "guarded"
gid = 61403
eligible_users = ["root"]
approval = { approvers = ["user:elvt-pampa"], timeout = "10m" }
)";

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

class PamPushReal : public ::testing::Test {
protected:
    void SetUp() override {
        auto pki = pt::make_test_pki(dir);
        ASSERT_TRUE(pki.ok()) << pki.error().message;
    }

    // `daemon_keys`: extra [daemon] settings.
    void up(const json& script, bool server_down = false, std::vector<std::string> env = {},
            const std::string& daemon_keys = "") {
        int port = pt::closed_port();
        if (!server_down) {
            auto started = server.start(dir, script);
            ASSERT_TRUE(started.ok()) << started.error().message;
            port = server.port();
        }
        daemon = std::make_unique<Daemon>(
            daemon_keys +
            "[push]\nprovider = \"webhook\"\ntimeout = \"10s\"\n[push.webhook]\nurl = \"https://127.0.0.1:" +
            std::to_string(port) + "/elevate\"\nsecret = \"" + pt::kSecret + "\"\nca_file = \"" +
            dir.file("pki/ca.pem") + "\"\n" + kRoles);
        daemon->set_env(std::move(env));
        daemon->start();
        secret = daemon->enroll("root");
    }

    std::string line(const std::string& args) { return elevate_line("auth", "required", daemon->socket(), args); }
    std::string code(int offset = 0) { return oathtool_code(secret, now() + offset * 30); }
    json status() {
        auto r = daemon->ctl({"--json", "status"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return json::parse(r.out);
    }

    pt::TempDir dir;
    pt::WebhookServer server;
    std::unique_ptr<Daemon> daemon;
    std::string secret;
};

}  // namespace

TEST_F(PamPushReal, EnterAtThePromptPushesAndAnApprovalGrants) {
    up({{"default", "approve"}, {"device", "Pixel 8"}});
    write_service("push-any", line("activate=any-role"));
    Conversation conv({""});  // Enter at "Verification code (or press Enter for push): "
    ASSERT_TRUE(run_cases("push-any", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_TRUE(contains(conv.all_infos(), "Push sent to Pixel 8, waiting up to")) << conv.all_infos();
    auto grants = status()["grants"];
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0]["factor"], "push");
    // The server saw the challenge, signed, for root and this role.
    bool seen = false;
    for (const auto& l : server.log_lines()) seen = seen || contains(l, "root");
    EXPECT_TRUE(seen);
}

// authorize, push_start and activate are one decision: the rules and the
// eligibility (here through a group) are judged, and the group database
// read, once for the whole transaction.
TEST_F(PamPushReal, OnePushActivationReadsTheGroupDatabaseOnce) {
    const std::string reads = dir.file("group-reads");
    // Without the membership cache (group_cache), each decision that needs
    // the groups would read them: what is counted is the decisions.
    up({{"default", "approve"}, {"device", "Pixel 8"}}, false, group_read_counter_env(reads), "group_cache = \"0s\"\n");
    const size_t before = group_reads(reads);  // what start-up and enrollment read
    write_service("push-group", line("activate=by-group"));
    Conversation conv;  // push-only role: no prompt
    ASSERT_TRUE(run_cases("push-group", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}))
        << conv.all_errors();
    EXPECT_EQ(group_reads(reads) - before, 1u);
    auto grants = status()["grants"];
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0]["role"], "by-group");
}

// reauth=always inside a grant: the push names the role and says it is
// asked inside the grant; the approval lets the user in without a new grant.
TEST_F(PamPushReal, APushInsideAGrantIsVerifiedWithoutANewGrant) {
    up({{"default", "approve"}, {"device", "Pixel 8"}});
    write_service("push-first", line("activate=any-role"));
    Conversation first({""});
    ASSERT_TRUE(run_cases("push-first", "root", first, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    const json before = status()["grants"];
    ASSERT_EQ(before.size(), 1u);

    write_service("push-again", line("activate=any-role reauth=always"));
    Conversation again({""});
    ASSERT_TRUE(run_cases("push-again", "root", again, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}))
        << again.all_errors();
    EXPECT_TRUE(contains(again.all_infos(), "Push sent to Pixel 8")) << again.all_infos();
    EXPECT_EQ(status()["grants"], before);
    const std::string audit = read_file(daemon->audit_path());
    EXPECT_TRUE(contains(audit, "\"event\":\"verify\"")) << audit;
    EXPECT_TRUE(contains(audit, "push approved")) << audit;
}

TEST_F(PamPushReal, DeniedPushIsRefusedWithItsReason) {
    up({{"default", "deny"}, {"device", "Pixel 8"}});
    write_service("push-only", line("activate=push-role"));
    Conversation conv;  // no prompt at all for a push-only role
    ASSERT_TRUE(run_cases("push-only", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(conv.all_errors(), "push denied on Pixel 8")) << conv.all_errors();
    EXPECT_TRUE(status()["grants"].empty());
}

TEST_F(PamPushReal, FraudLocksEvenACorrectCode) {
    up({{"default", "fraud"}});
    write_service("push-fraud", line("activate=push-role"));
    Conversation conv;
    ASSERT_TRUE(run_cases("push-fraud", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(conv.all_errors(), "reported as fraud")) << conv.all_errors();
    write_service("code-after-fraud", line("activate=any-role"));
    Conversation with_code({code()});
    ASSERT_TRUE(run_cases("code-after-fraud", "root", with_code, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(with_code.all_errors(), "elevation is locked for root")) << with_code.all_errors();
}

TEST_F(PamPushReal, UnreachableProviderFallsBackToTheCodeEvenWithFailmodeOpen) {
    up({}, /*server_down=*/true);
    write_service("push-down", line("activate=any-role failmode=open"));
    LogCapture log;
    Conversation conv({"", code()});
    ASSERT_TRUE(run_cases("push-down", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_TRUE(contains(conv.all_errors(), "Push is unavailable")) << conv.all_errors();
    EXPECT_FALSE(contains(log.text(), "failmode=open: allowing")) << log.text();
    auto grants = status()["grants"];
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0]["factor"], "totp");
}

TEST_F(PamPushReal, ApprovalIsAwaitedAtThePromptUntilAnotherUserApproves) {
    TestUser approver("elvt-pampa");
    up({{"default", "approve"}});
    const std::string approver_secret = daemon->enroll(approver.name());
    write_service("guarded", line("activate=guarded approval_wait=30"));

    // The approver approves a moment after the request appears.
    auto approving = std::async(std::launch::async, [&] {
        for (int i = 0; i < 100; ++i) {
            auto listed = daemon->ctl({"--json", "requests"}, {.uid = approver.uid(), .gid = approver.gid()});
            auto requests = listed.exit_code == 0 ? json::parse(listed.out)["requests"] : json::array();
            if (!requests.empty()) {
                return daemon->ctl({"approve", std::to_string(requests[0]["id"].get<int64_t>())},
                                   {.input = oathtool_code(approver_secret, now()) + "\n",
                                    .uid = approver.uid(),
                                    .gid = approver.gid()});
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return RunResult{};
    });
    Conversation conv({code()});
    ASSERT_TRUE(run_cases("guarded", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_TRUE(contains(conv.all_infos(), "Waiting for approval of request 1 by user:elvt-pampa")) << conv.all_infos();
    auto approved = approving.get();
    EXPECT_EQ(approved.exit_code, 0) << approved.out << approved.err;
    auto grants = status()["grants"];
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0]["role"], "guarded");
}

// Duo rate-limiting (HTTP 429) past the push's deadline is a denial with its
// own reason, not "unavailable": failmode=open must not let a push-only role
// through while Duo is rate-limiting.
TEST(PamPushRealDuo, RateLimitedDuoIsDeniedEvenWithFailmodeOpen) {
    pt::TempDir dir;
    auto pki = pt::make_test_pki(dir);
    ASSERT_TRUE(pki.ok()) << pki.error().message;
    pt::DuoServer server;
    auto started = server.start(
        dir, {{"default", "approve"}, {"rate_limit", {{"path", "/auth/v2/preauth"}, {"retry_after", 120}}}});
    ASSERT_TRUE(started.ok()) << started.error().message;
    Daemon daemon("[push]\nprovider = \"duo\"\ntimeout = \"10s\"\n[push.duo]\napi_host = \"" + server.api_host() +
                  "\"\nintegration_key = \"" + pt::kDuoIkey + "\"\nsecret_key = \"" + pt::kDuoSkey +
                  "\"\nca_file = \"" + dir.file("pki/ca.pem") + "\"\n" + kRoles);
    daemon.start();
    daemon.enroll("root");
    write_service("duo-limited", elevate_line("auth", "required", daemon.socket(), "activate=push-role failmode=open"));
    LogCapture log;
    Conversation conv;
    ASSERT_TRUE(run_cases("duo-limited", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(conv.all_errors(), "Duo is rate-limiting requests; try again in 120 s")) << conv.all_errors();
    EXPECT_FALSE(contains(log.text(), "failmode=open: allowing")) << log.text();
    auto r = daemon.ctl({"--json", "status"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(json::parse(r.out)["grants"].empty());
}
