// GrantService against a real SQLite store, with a test clock whose wall
// and boot clocks can be moved apart (a clock set back or forward).
#include "daemon/grants/grant_service.h"

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

namespace elevate::grants {
namespace {

constexpr int64_t kStart = 1'800'000'000;

class GrantServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(s).value();
        audit_ = std::make_unique<daemon::AuditLog>(*store_, false);
        grants_ = std::make_unique<GrantService>(*store_, *audit_, clock_);
        ASSERT_TRUE(grants_->load().ok());
    }
    void TearDown() override {
        grants_.reset();
        audit_.reset();
        store_.reset();
    }

    std::string activate(int64_t seconds, const std::string& user = "alice") {
        store::Grant g;
        g.user = user;
        g.role = "db-admin";
        g.start = clock_.now();
        g.end = clock_.now() + seconds;
        auto made = grants_->create(g);
        EXPECT_TRUE(made.ok());
        return made.ok() ? made->id : "";
    }
    bool active(const std::string& user = "alice") {
        auto r = grants_->active_for_role(user, "db-admin");
        EXPECT_TRUE(r.ok());
        return r.ok() && r->has_value();
    }
    store::GrantState state(const std::string& id) {
        auto g = store_->get_grant(id);
        EXPECT_TRUE(g.ok() && g->has_value());
        return (*g)->state;
    }
    std::string last_expire_reason() {
        audit_->flush();
        auto tail = store_->audit_tail(1);
        EXPECT_TRUE(tail.ok() && !tail->empty());
        return tail->back().event + ": " + tail->back().reason;
    }

    test::TempStateDir state_{"elevate-grants"};
    const std::string dir_ = state_.path();
    base::FixedClock clock_{kStart};
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<daemon::AuditLog> audit_;
    std::unique_ptr<GrantService> grants_;
};

TEST_F(GrantServiceTest, EndsAtItsEndTime) {
    const std::string id = activate(60);
    EXPECT_EQ(*grants_->next_due_ms(), 60'000);
    clock_.advance(59);
    EXPECT_EQ(grants_->expire_due(), 0u);
    EXPECT_TRUE(active());
    clock_.advance(1);
    EXPECT_EQ(*grants_->next_due_ms(), 0);
    EXPECT_EQ(grants_->expire_due(), 1u);
    EXPECT_FALSE(active());
    EXPECT_EQ(state(id), store::GrantState::Expired);
    EXPECT_EQ(last_expire_reason(), "expire: grant reached its end time");
    EXPECT_FALSE(grants_->next_due_ms().has_value());
}

// The wall clock set back by an hour must not give a 60 s grant another
// hour: the daemon ends it when 60 s have passed on the boot clock.
TEST_F(GrantServiceTest, WallClockSetBackDoesNotLengthenAGrant) {
    const std::string id = activate(60);
    clock_.advance(10);
    clock_.set(clock_.now() - 3600);
    EXPECT_EQ(grants_->expire_due(), 0u);
    EXPECT_TRUE(active());
    EXPECT_EQ(*grants_->next_due_ms(), 50'000);
    clock_.advance(50);
    EXPECT_EQ(grants_->expire_due(), 1u);
    EXPECT_EQ(state(id), store::GrantState::Expired);
    EXPECT_FALSE(active());
    EXPECT_NE(last_expire_reason().find("monotonic clock; the wall clock is about 3600 s behind"), std::string::npos)
        << last_expire_reason();
    auto g = store_->get_grant(id);
    EXPECT_EQ((*g)->ended_at, clock_.now());
    EXPECT_EQ((*g)->ended_by, "expiry");
}

// Set forward: the grant ends at its wall end time, and the timer says so
// at once instead of at the old boot-clock due time.
TEST_F(GrantServiceTest, WallClockSetForwardBringsTheEndForward) {
    const std::string early = activate(60, "alice");
    const std::string late = activate(7200, "bob");
    clock_.advance(10);
    clock_.set(clock_.now() + 3600);  // past alice's end, not bob's
    EXPECT_EQ(grants_->expire_due(), 1u);
    EXPECT_EQ(state(early), store::GrantState::Expired);
    EXPECT_EQ(state(late), store::GrantState::Active);
    // bob had 7190 s; the wall clock now says 3590 s.
    EXPECT_EQ(*grants_->next_due_ms(), 3'590'000);
    clock_.advance(3590);
    EXPECT_EQ(grants_->expire_due(), 1u);
    EXPECT_EQ(state(late), store::GrantState::Expired);
}

// Back, then forward by less: the grant keeps the earlier of the two ends.
TEST_F(GrantServiceTest, ASetBackFollowedByASmallerSetForwardKeepsTheEarlierEnd) {
    activate(600);
    clock_.set(clock_.now() - 3600);
    EXPECT_EQ(grants_->expire_due(), 0u);
    clock_.set(clock_.now() + 1800);
    EXPECT_EQ(grants_->expire_due(), 0u);
    EXPECT_EQ(*grants_->next_due_ms(), 600'000);
    clock_.advance(600);
    EXPECT_EQ(grants_->expire_due(), 1u);
    EXPECT_FALSE(active());
}

// A restart takes what each grant has left from the wall clock.
TEST_F(GrantServiceTest, LoadSchedulesByTheTimeLeft) {
    activate(120);
    GrantService fresh(*store_, *audit_, clock_);
    ASSERT_TRUE(fresh.load().ok());
    EXPECT_EQ(*fresh.next_due_ms(), 120'000);
    clock_.advance(120);
    EXPECT_EQ(fresh.expire_due(), 1u);
}

TEST_F(GrantServiceTest, RevokedGrantIsNotExpiredAgain) {
    const std::string id = activate(30);
    auto ended = grants_->end(id, store::GrantState::Revoked, "root");
    ASSERT_TRUE(ended.ok() && ended->has_value());
    clock_.advance(30);
    EXPECT_EQ(grants_->expire_due(), 0u);
    EXPECT_EQ(state(id), store::GrantState::Revoked);
}

}  // namespace
}  // namespace elevate::grants
