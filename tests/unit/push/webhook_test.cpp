// The webhook provider end to end against webhook_server.py over HTTPS:
// every answer, every way a reply can be wrong, and every way the service
// can be unreachable.
#include "daemon/push/webhook.h"
#include "tests/unit/push/test_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>

namespace elevate::push::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

struct Outcome {
    std::optional<PushSent> sent;
    std::optional<PushAnswer> answer;
    bool finished() const { return (sent && !sent->ok) || answer.has_value(); }
};

class WebhookTest : public HttpsTest {
protected:
    config::WebhookConfig webhook_config() const {
        config::WebhookConfig c;
        c.endpoint = endpoint();
        c.endpoint.url = server.url("/elevate");
        c.endpoint.request_timeout_ms = 1500;
        c.secret = kSecret;
        c.poll_interval_ms = 200;
        return c;
    }

    std::unique_ptr<WebhookProvider> provider(const config::WebhookConfig& c) {
        auto p = WebhookProvider::create(c, *http, clock);
        EXPECT_TRUE(p.ok()) << p.error().message;
        return p.ok() ? std::move(*p) : nullptr;
    }

    PushChallenge challenge(const std::string& user, int64_t expires_in = 30) {
        return sample_challenge(user, clock, expires_in);
    }

    // Starts one challenge for `user` and drives it to its end.
    Outcome run(PushProvider& p, const std::string& user, int64_t expires_in = 30) {
        Outcome r;
        p.start(
            challenge(user, expires_in), [&](PushSent s) { r.sent = std::move(s); },
            [&](PushAnswer a) { r.answer = std::move(a); });
        EXPECT_TRUE(drive([&] { return r.finished(); }, seconds(expires_in + 10))) << "no answer for " << user;
        return r;
    }

    // Answer of a challenge whose send succeeded.
    PushAnswer answer_for(const std::string& user, const json& script, int64_t expires_in = 30) {
        start_server(script);
        if (HasFatalFailure()) return {};
        auto p = provider(webhook_config());
        if (!p) return {};
        Outcome r = run(*p, user, expires_in);
        EXPECT_TRUE(r.sent && r.sent->ok) << (r.sent ? r.sent->error : "no sent");
        EXPECT_EQ(p->active(), 0u);
        return r.answer.value_or(PushAnswer{});
    }

    // Result of a start() that must fail.
    PushSent failed_send(const std::string& user, const json& script, const std::string& cert = "server",
                         const std::function<void(config::WebhookConfig&)>& tweak = {}) {
        start_server(script, cert);
        if (HasFatalFailure()) return {};
        auto c = webhook_config();
        if (tweak) tweak(c);
        auto p = provider(c);
        if (!p) return {};
        Outcome r = run(*p, user);
        EXPECT_TRUE(r.sent.has_value());
        EXPECT_FALSE(r.answer.has_value()) << "done() ran after a failed send";
        EXPECT_EQ(p->active(), 0u);
        return r.sent.value_or(PushSent{true});
    }

    base::SystemClock clock;
};

TEST_F(WebhookTest, Approve) {
    start_server({{"default", "approve"}, {"delay", 0.3}, {"device", "Pixel 8"}});
    auto p = provider(webhook_config());
    ASSERT_TRUE(p);
    EXPECT_STREQ(p->name(), "webhook");
    Outcome r = run(*p, "alice");
    ASSERT_TRUE(r.sent);
    EXPECT_TRUE(r.sent->ok) << r.sent->error;
    EXPECT_EQ(r.sent->device, "Pixel 8");
    ASSERT_TRUE(r.answer);
    EXPECT_EQ(r.answer->outcome, PushOutcome::Approved) << r.answer->detail;
    auto log = server.log_lines();
    ASSERT_GE(log.size(), 2u);
    EXPECT_EQ(log[0], "POST /elevate/challenges alice");
    EXPECT_TRUE(log[1].starts_with("GET /elevate/challenges/5b1d7f4e-")) << log[1];
    EXPECT_TRUE(log[1].ends_with(" alice")) << log[1];
}

TEST_F(WebhookTest, Deny) {
    EXPECT_EQ(answer_for("bob", {{"users", {{"bob", "deny"}}}}).outcome, PushOutcome::Denied);
}

TEST_F(WebhookTest, Fraud) {
    EXPECT_EQ(answer_for("bob", {{"users", {{"bob", "fraud"}}}}).outcome, PushOutcome::Fraud);
}

TEST_F(WebhookTest, NoAnswerBeforeExpiryIsTimeout) {
    const auto t0 = steady_clock::now();
    PushAnswer a = answer_for("carol", {{"default", "timeout"}}, 2);
    EXPECT_EQ(a.outcome, PushOutcome::Timeout) << a.detail;
    EXPECT_FALSE(a.unavailable);
    EXPECT_GE(steady_clock::now() - t0, seconds(1));
    EXPECT_LT(steady_clock::now() - t0, seconds(8));  // shortly after expiry, not a request timeout later
}

TEST_F(WebhookTest, SlowServerIsUnreachable) {
    PushSent s = failed_send("dave", {{"default", "slow"}, {"slow_seconds", 4}});
    EXPECT_FALSE(s.ok);
    EXPECT_TRUE(s.unavailable);
    EXPECT_TRUE(s.error.starts_with("push provider unreachable: timed out talking to 127.0.0.1:")) << s.error;
}

TEST_F(WebhookTest, MalformedReplyIsRejected) {
    PushAnswer a = answer_for("erin", {{"default", "malformed"}});
    EXPECT_EQ(a.outcome, PushOutcome::Failed);
    EXPECT_FALSE(a.unavailable);
    EXPECT_EQ(a.detail, "push provider reply rejected: reply is not valid JSON");
}

TEST_F(WebhookTest, MalformedStartReplyIsRejected) {
    PushSent s = failed_send("erin", {{"default", "malformed_start"}});
    EXPECT_FALSE(s.unavailable);
    EXPECT_EQ(s.error, "push provider reply rejected: reply is not valid JSON");
}

TEST_F(WebhookTest, BadSignatureIsRejected) {
    PushAnswer a = answer_for("frank", {{"default", "badsig"}});
    EXPECT_EQ(a.outcome, PushOutcome::Failed);
    EXPECT_FALSE(a.unavailable);
    EXPECT_EQ(a.detail, "push provider reply rejected: bad signature (HTTP 200)");
}

TEST_F(WebhookTest, BadSignatureOnStartIsRejected) {
    PushSent s = failed_send("frank", {{"default", "badsig_start"}});
    EXPECT_FALSE(s.unavailable);
    EXPECT_EQ(s.error, "push provider reply rejected: bad signature (HTTP 201)");
}

TEST_F(WebhookTest, ReplayedApprovalIsRejected) {
    PushAnswer a = answer_for("mallory", {{"default", "replay"}});
    EXPECT_EQ(a.outcome, PushOutcome::Failed);
    EXPECT_FALSE(a.unavailable);
    EXPECT_EQ(a.detail, "push provider reply rejected: bad signature (HTTP 200)");
}

TEST_F(WebhookTest, StaleReplyIsRejected) {
    PushAnswer a = answer_for("grace", {{"default", "stale"}});
    EXPECT_EQ(a.outcome, PushOutcome::Failed);
    EXPECT_FALSE(a.unavailable);
    EXPECT_TRUE(a.detail.starts_with("push provider reply rejected: timestamp 1")) << a.detail;
}

TEST_F(WebhookTest, ReplyForAnotherChallengeIsRejected) {
    PushAnswer a = answer_for("heidi", {{"default", "wrong_id"}});
    EXPECT_EQ(a.outcome, PushOutcome::Failed);
    EXPECT_EQ(a.detail, "push provider reply rejected: challenge_id does not match");
}

TEST_F(WebhookTest, NoDeviceIsADefiniteRefusal) {
    PushSent s = failed_send("alice", {{"default", "nodevice"}});
    EXPECT_FALSE(s.unavailable);
    EXPECT_EQ(s.error, "no push device for alice: no device enrolled");
}

TEST_F(WebhookTest, ServerErrorIsUnavailable) {
    PushSent s = failed_send("ivan", {{"default", "error500"}});
    EXPECT_TRUE(s.unavailable);
    EXPECT_EQ(s.error, "push provider unreachable: HTTP 500");
}

TEST_F(WebhookTest, TransientPollFailuresAreTolerated) {
    PushAnswer a = answer_for("judy", {{"default", "flaky"}});
    EXPECT_EQ(a.outcome, PushOutcome::Approved) << a.detail;
}

TEST_F(WebhookTest, PersistentPollFailuresAreUnavailable) {
    PushAnswer a = answer_for("judy", {{"default", "error500_poll"}});
    EXPECT_EQ(a.outcome, PushOutcome::Failed);
    EXPECT_TRUE(a.unavailable);
    EXPECT_EQ(a.detail, "push provider unreachable: HTTP 503");
    // Three polls in a row failed, then it gave up.
    auto log = server.log_lines();
    EXPECT_EQ(std::count_if(log.begin(), log.end(), [](const std::string& l) { return l.starts_with("GET "); }), 3);
}

TEST_F(WebhookTest, RateLimitedStartIsRetried) {
    for (const char* form : {"seconds", "date", "none"}) {
        start_server(rate_limited("start", 1, 1, form));
        auto p = provider(webhook_config());
        ASSERT_TRUE(p);
        Outcome r = run(*p, "alice");
        ASSERT_TRUE(r.sent && r.sent->ok) << form << ": " << (r.sent ? r.sent->error : "no sent");
        ASSERT_TRUE(r.answer) << form;
        EXPECT_EQ(r.answer->outcome, PushOutcome::Approved) << form << ": " << r.answer->detail;
        auto log = server.log_lines();
        EXPECT_EQ(std::count(log.begin(), log.end(), "POST /elevate/challenges - 429"), 1) << form;
        EXPECT_EQ(std::count(log.begin(), log.end(), "POST /elevate/challenges alice"), 1) << form;
        server.stop();
        std::filesystem::remove(dir.file("requests.log"));
    }
}

TEST_F(WebhookTest, RateLimitedPollHonoursXRetryAfter) {
    PushAnswer a = answer_for("alice", rate_limited("poll", 2, 1, "seconds", "X-Retry-After"));
    EXPECT_EQ(a.outcome, PushOutcome::Approved) << a.detail;
}

TEST_F(WebhookTest, RateLimitedPastTheDeadlineIsADenialNotUnavailable) {
    PushAnswer a = answer_for("alice", rate_limited("poll", -1, 1), /*expires_in=*/3);
    EXPECT_EQ(a.outcome, PushOutcome::Failed);
    EXPECT_FALSE(a.unavailable);
    EXPECT_EQ(a.detail, "the push provider is rate-limiting requests; try again in 1 s");

    PushSent s = failed_send("alice", rate_limited("start", -1, 120));
    EXPECT_FALSE(s.unavailable);
    EXPECT_EQ(s.error, "the push provider is rate-limiting requests; try again in 120 s");
}

TEST_F(WebhookTest, WrongCertificateIsUnavailable) {
    PushSent s = failed_send("alice", {}, "wrong");
    EXPECT_TRUE(s.unavailable);
    EXPECT_TRUE(s.error.starts_with("push provider unreachable: TLS: ")) << s.error;
}

TEST_F(WebhookTest, ServerDownIsUnavailable) {
    auto c = webhook_config();
    const int port = closed_port();
    c.endpoint.url = "https://127.0.0.1:" + std::to_string(port) + "/elevate";
    auto p = provider(c);
    ASSERT_TRUE(p);
    Outcome r = run(*p, "alice");
    ASSERT_TRUE(r.sent);
    EXPECT_FALSE(r.sent->ok);
    EXPECT_TRUE(r.sent->unavailable);
    EXPECT_EQ(r.sent->error, "push provider unreachable: cannot connect to 127.0.0.1:" + std::to_string(port) +
                                 ": Connection refused");
    EXPECT_FALSE(r.answer);
}

TEST_F(WebhookTest, WrongSecretIsRefusedBothWays) {
    // The server answers 401, signed with its own secret: we cannot trust it either.
    PushSent s = failed_send("alice", {}, "server",
                             [](config::WebhookConfig& c) { c.secret = std::string(kSecret) + "-but-not-the-same"; });
    EXPECT_FALSE(s.unavailable);
    EXPECT_EQ(s.error, "push provider reply rejected: bad signature (HTTP 401)");
    EXPECT_EQ(server.log_lines(), std::vector<std::string>{"POST /elevate/challenges - 401"});
}

TEST_F(WebhookTest, CancelStopsPolling) {
    start_server({{"default", "timeout"}});
    auto p = provider(webhook_config());
    ASSERT_TRUE(p);
    Outcome r;
    PushChallenge c = challenge("alice");
    p->start(
        c, [&](PushSent s) { r.sent = std::move(s); }, [&](PushAnswer a) { r.answer = std::move(a); });
    ASSERT_TRUE(drive([&] { return server.log_lines().size() >= 2; }));  // started and polled once
    ASSERT_TRUE(r.sent && r.sent->ok);
    p->cancel(c.id);
    EXPECT_EQ(p->active(), 0u);
    drive([&] { return false; }, milliseconds(300));  // let an in-flight poll land
    const size_t requests = server.log_lines().size();
    drive([&] { return false; }, milliseconds(800));
    EXPECT_EQ(server.log_lines().size(), requests);
    EXPECT_FALSE(r.answer);
    EXPECT_EQ(http->in_flight(), 0u);
}

TEST_F(WebhookTest, HundredConcurrentChallengesAllApproved) {
    start_server({{"default", "approve"}, {"delay", 0.5}});
    auto p = provider(webhook_config());
    ASSERT_TRUE(p);
    constexpr int kCount = 120;
    int sent_ok = 0, approved = 0, other = 0;
    for (int i = 0; i < kCount; ++i) {
        p->start(
            challenge("user" + std::to_string(i)),
            [&](PushSent s) {
                EXPECT_TRUE(s.ok) << s.error;
                if (s.ok) ++sent_ok;
            },
            [&](PushAnswer a) {
                if (a.outcome == PushOutcome::Approved) {
                    ++approved;
                } else {
                    ++other;
                    ADD_FAILURE() << push_outcome_name(a.outcome) << ": " << a.detail;
                }
            });
    }
    EXPECT_EQ(p->active(), static_cast<size_t>(kCount));
    ASSERT_TRUE(drive([&] { return approved + other == kCount; }, seconds(40)));
    EXPECT_EQ(sent_ok, kCount);
    EXPECT_EQ(approved, kCount);
    EXPECT_EQ(p->active(), 0u);
}

TEST_F(WebhookTest, DestroyingTheProviderSilencesCallbacks) {
    start_server({{"default", "timeout"}});
    auto p = provider(webhook_config());
    ASSERT_TRUE(p);
    bool called = false;
    p->start(
        challenge("alice"), [&](PushSent) { called = true; }, [&](PushAnswer) { called = true; });
    p.reset();
    drive([] { return false; }, milliseconds(500));
    EXPECT_FALSE(called);
    EXPECT_EQ(http->in_flight(), 0u);
}

TEST_F(WebhookTest, ConfigurationIsChecked) {
    base::SystemClock clk;
    config::WebhookConfig c;
    c.endpoint.url = "https://push.example.com/elevate/";
    c.secret = kSecret;
    EXPECT_TRUE(WebhookProvider::create(c, *http, clk).ok());

    auto error = [&](const config::WebhookConfig& bad) {
        auto p = WebhookProvider::create(bad, *http, clk);
        return p.ok() ? std::string("accepted") : p.error().message;
    };
    auto bad = c;
    bad.endpoint.url = "http://push.example.com/elevate";
    EXPECT_EQ(error(bad), "push.webhook.url must be an https:// URL");
    bad.endpoint.url = "https://push.example.com/elevate?token=1";
    EXPECT_EQ(error(bad), "push.webhook.url must not have a query string");
    bad = c;
    bad.secret = "short";
    EXPECT_EQ(error(bad), "push.webhook.secret must be at least 32 bytes");
    bad = c;
    bad.poll_interval_ms = 0;
    EXPECT_EQ(error(bad), "push.webhook.poll_interval must be positive");
}

TEST_F(WebhookTest, MakeProviderChoosesByKind) {
    base::SystemClock clk;
    config::PushConfig push;
    auto none = make_provider(push, *http, clk);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->get(), nullptr);
    push.provider = config::PushProviderKind::Webhook;
    push.webhook.endpoint.url = "https://push.example.com";
    push.webhook.secret = kSecret;
    auto webhook = make_provider(push, *http, clk);
    ASSERT_TRUE(webhook.ok()) << webhook.error().message;
    EXPECT_STREQ((*webhook)->name(), "webhook");
    push.webhook.secret.clear();
    EXPECT_FALSE(make_provider(push, *http, clk).ok());
}

TEST_F(WebhookTest, InvalidChallengeIdFailsThroughTheCallback) {
    auto p = provider([&] {
        auto c = webhook_config();
        c.endpoint.url = "https://127.0.0.1:1/elevate";
        return c;
    }());
    ASSERT_TRUE(p);
    PushChallenge c = challenge("alice");
    c.id = "../../admin";
    Outcome r;
    p->start(
        c, [&](PushSent s) { r.sent = std::move(s); }, [&](PushAnswer a) { r.answer = std::move(a); });
    EXPECT_FALSE(r.sent) << "callbacks must run from run_completions(), not inside start()";
    ASSERT_TRUE(drive([&] { return r.finished(); }));
    EXPECT_FALSE(r.sent->ok);
    EXPECT_EQ(r.sent->error, "push: invalid challenge id");
}

}  // namespace
}  // namespace elevate::push::test
