// RiskService against a real SQLite store, with a test clock: each
// detection, decay, thresholds, confirm/dismiss, spraying, rate limiting and
// the bounds of the source table and of the per-user events.
#include "daemon/risk/risk_service.h"

#include "common/base/clock.h"
#include "daemon/audit/audit_log.h"
#include "daemon/store/store.h"

#include "tests/unit/support/temp_state_dir.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace elevate::risk {
namespace {

using config::RiskLevel;

constexpr int64_t kStart = 1'800'000'000;  // 2027-01-15 08:00:00 UTC

Origin from(const std::string& ip) {
    return {base::parse_ip(ip)};
}

class RiskServiceTest : public ::testing::Test {
protected:
    void SetUp() override { reopen(); }
    void TearDown() override {
        risk_.reset();
        audit_.reset();
        store_.reset();
    }
    // A fresh service (and store) over the same database: a restart.
    void reopen() {
        risk_.reset();
        audit_.reset();
        store_.reset();
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(s).value();
        audit_ = std::make_unique<daemon::AuditLog>(*store_, false);
        risk_ = std::make_unique<RiskService>(*store_, clock_, *audit_);
        risk_->configure(cfg_);
        ASSERT_TRUE(risk_->load().ok());
        changes_.clear();
        risk_->on_level_change([this](const std::string& user, RiskLevel a, RiskLevel b, const std::string& why) {
            changes_.emplace_back(user, a, b, why);
        });
    }
    std::vector<store::AuditRecord> audited() {
        audit_->flush();
        auto t = store_->audit_tail(1000);
        EXPECT_TRUE(t.ok());
        return t.ok() ? *t : std::vector<store::AuditRecord>{};
    }
    void ok(base::Result<void> r) { ASSERT_TRUE(r.ok()) << r.error().message; }

    test::TempStateDir state_{"elevate-risk"};
    const std::string dir_ = state_.path();
    base::FixedClock clock_{kStart};
    config::RiskConfig cfg_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<daemon::AuditLog> audit_;
    std::unique_ptr<RiskService> risk_;
    std::vector<std::tuple<std::string, RiskLevel, RiskLevel, std::string>> changes_;
};

TEST_F(RiskServiceTest, WrongCodesRaiseTheLevelByThresholds) {
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::None);
    ok(risk_->wrong_code("alice", from("192.0.2.7")));  // 10: low
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::Low);
    for (int i = 0; i < 3; ++i) ok(risk_->wrong_code("alice", from("192.0.2.7")));  // 40: medium
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::Medium);
    EXPECT_EQ(risk_->user("alice").score, 40);
    for (int i = 0; i < 4; ++i) ok(risk_->wrong_code("alice", from("192.0.2.7")));  // 80: high
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::High);
    EXPECT_EQ(risk_->user_level("bob"), RiskLevel::None);

    ASSERT_EQ(changes_.size(), 3u);
    EXPECT_EQ(changes_[0], std::make_tuple(std::string("alice"), RiskLevel::None, RiskLevel::Low,
                                           std::string("wrong-code: wrong verification code from 192.0.2.0/24")));
    EXPECT_EQ(std::get<2>(changes_[2]), RiskLevel::High);

    auto records = audited();
    ASSERT_EQ(records.size(), 8u);
    EXPECT_EQ(records[0].event, "risk");
    EXPECT_EQ(records[0].user, "alice");
    EXPECT_EQ(records[0].source, "192.0.2.0/24");
    EXPECT_EQ(records[0].result, "ok");
    EXPECT_EQ(records[0].reason, "wrong-code +10 (score 10, level low): wrong verification code from 192.0.2.0/24");
    EXPECT_EQ(records[7].reason, "wrong-code +10 (score 80, level high): wrong verification code from 192.0.2.0/24");
}

TEST_F(RiskServiceTest, ScoresDecayByHalfEveryHalfLife) {
    for (int i = 0; i < 8; ++i) ok(risk_->wrong_code("alice", {}));
    EXPECT_EQ(risk_->user("alice").score, 80);
    clock_.advance(cfg_.half_life);
    EXPECT_EQ(risk_->user("alice").score, 40);
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::Medium);
    clock_.advance(cfg_.half_life);
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::Low);
    clock_.advance(2 * cfg_.half_life);  // 5
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::None);
    // A new event adds to what is left, not to the old score.
    ok(risk_->wrong_code("alice", {}));
    EXPECT_EQ(risk_->user("alice").score, 15);
}

TEST_F(RiskServiceTest, EachDetectionIsStoredWithItsWeight) {
    ok(risk_->replayed_code("u1", {}));
    ok(risk_->push_denied("u2", {}));
    ok(risk_->fraud("u3", {}));
    ok(risk_->ineligible("u4", "db-admin", {}));
    ok(risk_->break_glass("u5", {}));
    const std::vector<std::tuple<std::string, Detection, int, RiskLevel>> want = {
        {"u1", Detection::ReplayedCode, 40, RiskLevel::Medium}, {"u2", Detection::PushDenied, 20, RiskLevel::Low},
        {"u3", Detection::Fraud, 60, RiskLevel::Medium},        {"u4", Detection::Ineligible, 10, RiskLevel::Low},
        {"u5", Detection::BreakGlass, 40, RiskLevel::Medium},
    };
    for (const auto& [user, type, weight, level] : want) {
        UserRisk r = risk_->user(user);
        ASSERT_EQ(r.recent.size(), 1u) << user;
        EXPECT_EQ(r.recent[0].type, type) << user;
        EXPECT_EQ(r.recent[0].weight, weight) << user;
        EXPECT_EQ(r.level, level) << user;
    }
    EXPECT_NE(risk_->user("u4").recent[0].evidence.find("db-admin"), std::string::npos);
    // Listed highest first.
    auto listed = risk_->users();
    ASSERT_EQ(listed.size(), 5u);
    EXPECT_EQ(listed[0].user, "u3");
    EXPECT_EQ(listed.back().user, "u4");
}

TEST_F(RiskServiceTest, ConfirmedIsHighUntilDismissed) {
    ok(risk_->wrong_code("alice", {}));
    ok(risk_->confirm("alice", "root", "INC-7"));
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::High);
    clock_.advance(100 * cfg_.half_life);  // decay does not end it
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::High);
    EXPECT_TRUE(risk_->user("alice").confirmed);
    reopen();
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::High);

    ok(risk_->dismiss("alice", "root", "investigated: a typo"));
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::None);
    EXPECT_EQ(risk_->user("alice").score, 0);
    ASSERT_EQ(changes_.size(), 1u);  // since reopen()
    EXPECT_EQ(std::get<1>(changes_[0]), RiskLevel::High);
    EXPECT_EQ(std::get<2>(changes_[0]), RiskLevel::None);
    EXPECT_EQ(risk_->user("alice").recent[0].type, Detection::Dismissed);
    auto records = audited();
    ASSERT_FALSE(records.empty());
    EXPECT_EQ(records.back().actor, "root");
    EXPECT_EQ(records.back().reason, "dismissed +0 (score 0, level none): dismissed by root: investigated: a typo");
}

TEST_F(RiskServiceTest, ScoresSurviveARestart) {
    for (int i = 0; i < 5; ++i) ok(risk_->wrong_code("alice", from("10.9.9." + std::to_string(i))));
    reopen();
    EXPECT_EQ(risk_->user("alice").score, 50);
    EXPECT_EQ(risk_->source_level(from("10.9.9.200")), RiskLevel::None);  // one user is no spray
}

TEST_F(RiskServiceTest, ManyUsersFailingFromOneNetworkIsASpray) {
    cfg_.spray_users = 3;
    risk_->configure(cfg_);
    ok(risk_->wrong_code("u1", from("10.9.9.1")));
    ok(risk_->wrong_code("u1", from("10.9.9.2")));  // the same user again: still one
    ok(risk_->wrong_code("u2", from("10.9.9.3")));
    ok(risk_->wrong_code("u3", from("10.8.8.8")));  // another network
    EXPECT_EQ(risk_->source_level(from("10.9.9.100")), RiskLevel::None);
    ok(risk_->wrong_code("u3", from("10.9.9.4")));
    EXPECT_EQ(risk_->source_level(from("10.9.9.100")), RiskLevel::Medium);  // spray 50
    EXPECT_EQ(risk_->source_level(from("10.9.8.1")), RiskLevel::None);
    auto sources = risk_->sources();
    ASSERT_EQ(sources.size(), 1u);
    EXPECT_EQ(sources[0].network, "10.9.9.0/24");
    EXPECT_EQ(sources[0].score, 50);
    auto records = audited();
    ASSERT_FALSE(records.empty());
    EXPECT_EQ(records.back().user, "");
    EXPECT_EQ(records.back().reason,
              "spray +50 (score 50, level medium): 3 users failed from 10.9.9.0/24 within 600 s");
    // A second spray raises it to high; it survives a restart.
    for (const char* u : {"u4", "u5", "u6"}) ok(risk_->wrong_code(u, from("10.9.9.9")));
    EXPECT_EQ(risk_->source_level(from("10.9.9.100")), RiskLevel::High);
    reopen();
    EXPECT_EQ(risk_->source_level(from("10.9.9.100")), RiskLevel::High);
}

TEST_F(RiskServiceTest, FailuresOutsideTheSprayWindowDoNotCount) {
    cfg_.spray_users = 3;
    risk_->configure(cfg_);
    ok(risk_->wrong_code("u1", from("10.9.9.1")));
    ok(risk_->wrong_code("u2", from("10.9.9.1")));
    clock_.advance(cfg_.spray_window + 1);
    ok(risk_->wrong_code("u3", from("10.9.9.1")));
    EXPECT_EQ(risk_->source_level(from("10.9.9.1")), RiskLevel::None);
}

TEST_F(RiskServiceTest, NewNetworkAfterTheFirstSignIn) {
    ok(risk_->signed_in("alice", from("192.0.2.7")));   // the first ever: nothing to compare with
    ok(risk_->signed_in("alice", from("192.0.2.99")));  // same /24
    EXPECT_TRUE(risk_->user("alice").recent.empty());
    ok(risk_->signed_in("alice", from("198.51.100.1")));
    auto r = risk_->user("alice");
    ASSERT_EQ(r.recent.size(), 1u);
    EXPECT_EQ(r.recent[0].type, Detection::NewNetwork);
    EXPECT_EQ(r.recent[0].network, "198.51.100.0/24");
    EXPECT_EQ(r.score, 15);
    ok(risk_->signed_in("alice", from("198.51.100.2")));  // seen now
    ok(risk_->signed_in("alice", from("2001:db8:1:2::7")));
    ok(risk_->signed_in("alice", from("2001:db8:1:2::8")));  // same /64
    EXPECT_EQ(risk_->user("alice").recent.size(), 2u);
    EXPECT_EQ(risk_->user("alice").recent[0].network, "2001:db8:1:2::/64");
}

TEST_F(RiskServiceTest, UnusualHourAfterEnoughHistory) {
    cfg_.hour_history = 3;
    cfg_.hour_margin = 2;
    risk_->configure(cfg_);
    // kStart is 08:00 UTC. Three sign-ins at 08:00, on three days.
    for (int i = 0; i < 3; ++i) {
        ok(risk_->signed_in("alice", {}));
        clock_.advance(86400);
    }
    clock_.advance(2 * 3600);  // 10:00: within the margin
    ok(risk_->signed_in("alice", {}));
    EXPECT_TRUE(risk_->user("alice").recent.empty());
    clock_.advance(86400 + 3 * 3600);  // 13:00: three hours from 10:00
    ok(risk_->signed_in("alice", {}));
    auto r = risk_->user("alice");
    ASSERT_EQ(r.recent.size(), 1u);
    EXPECT_EQ(r.recent[0].type, Detection::UnusualHour);
    EXPECT_EQ(r.recent[0].weight, 15);
    // Circular: with 23:00 seen, 00:30 is an hour away, not 23.
    cfg_.hour_history = 1;
    risk_->configure(cfg_);
    clock_.set(kStart - 8 * 3600 + 23 * 3600);  // 23:00
    ok(risk_->signed_in("bob", {}));
    clock_.advance(5400);  // 00:30
    ok(risk_->signed_in("bob", {}));
    EXPECT_TRUE(risk_->user("bob").recent.empty());
}

TEST_F(RiskServiceTest, SourceAttemptsAreRateLimitedPerNetwork) {
    cfg_.source_attempts = 3;
    cfg_.source_window = 60;
    risk_->configure(cfg_);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(risk_->admit_attempt(from("10.1.1." + std::to_string(i))));
    EXPECT_FALSE(risk_->admit_attempt(from("10.1.1.200")));
    EXPECT_EQ(risk_->retry_after(from("10.1.1.200")), 60);
    EXPECT_TRUE(risk_->admit_attempt(from("10.1.2.1")));  // another /24
    EXPECT_TRUE(risk_->admit_attempt({}));                // local or unknown: not limited
    clock_.advance(59);
    EXPECT_FALSE(risk_->admit_attempt(from("10.1.1.1")));
    EXPECT_EQ(risk_->retry_after(from("10.1.1.1")), 1);
    clock_.advance(1);
    EXPECT_TRUE(risk_->admit_attempt(from("10.1.1.1")));
}

// A spray from a million addresses in many networks cannot grow the table.
TEST_F(RiskServiceTest, SourceTableStaysAtItsBound) {
    cfg_.max_sources = 64;
    cfg_.spray_users = 2;
    risk_->configure(cfg_);
    // A spraying network first: scored sources are evicted last.
    ok(risk_->wrong_code("u1", from("203.0.113.1")));
    ok(risk_->wrong_code("u2", from("203.0.113.2")));
    ASSERT_EQ(risk_->source_level(from("203.0.113.9")), RiskLevel::Medium);
    size_t most = 0;
    for (uint32_t i = 0; i < 1'000'000; ++i) {
        // 10.x.y.z: 1,000,000 distinct addresses in 3,907 /24 networks.
        const uint32_t a = (10u << 24) | i;
        base::IpAddress ip;
        ip.bytes[10] = ip.bytes[11] = 0xff;
        for (int b = 0; b < 4; ++b) ip.bytes[size_t(12 + b)] = uint8_t(a >> (24 - 8 * b));
        risk_->admit_attempt({ip});
        most = std::max(most, risk_->tracked_sources());
    }
    EXPECT_EQ(most, 64u);
    EXPECT_EQ(risk_->tracked_sources(), 64u);
    EXPECT_EQ(risk_->source_level(from("203.0.113.9")), RiskLevel::Medium);
}

TEST_F(RiskServiceTest, EventsPerUserAreBoundedAndAgeOut) {
    cfg_.max_events_per_user = 5;
    risk_->configure(cfg_);
    for (int i = 0; i < 20; ++i) ok(risk_->wrong_code("alice", {}));
    auto events = store_->risk_events_of("alice", 1000);
    ASSERT_TRUE(events.ok());
    EXPECT_EQ(events->size(), 5u);
    clock_.advance(cfg_.retention + 1);
    ok(risk_->prune());
    events = store_->risk_events_of("alice", 1000);
    ASSERT_TRUE(events.ok());
    EXPECT_TRUE(events->empty());
    EXPECT_EQ(risk_->user_level("alice"), RiskLevel::None);
}

}  // namespace
}  // namespace elevate::risk
