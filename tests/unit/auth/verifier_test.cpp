// The verifier on a real store (SQLite in a temporary state directory) with
// an injected clock: time only moves forward per factor (RFC 6238 section
// 5.2), as exact tables at explicit times.
#include "daemon/auth/totp.h"
#include "daemon/auth/verifier.h"

#include "tests/unit/support/temp_state_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <sys/stat.h>

namespace elevate::auth {
namespace {

constexpr int64_t kT = 1111111109;  // RFC 6238 Appendix B; step 37037036

class VerifierTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(totp_init().ok());
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(s).value();
        verifier_ = std::make_unique<Verifier>(*store_, clock_);
        enroll("12345678901234567890");
        totp_.drift_steps = 1;  // the default
        lockout_.max_failures = 100;
    }
    void TearDown() override {
        verifier_.reset();
        store_.reset();
    }

    // (Re-)enrolls alice's TOTP factor with `seed` (sha1, 6 digits, 30 s).
    void enroll(std::string_view seed) {
        seed_ = base::SecureBuffer(seed);
        store::Factor f;
        f.user = "alice";
        f.kind = "totp";
        f.label = "phone";
        f.secret = base::SecureBuffer(seed);
        f.algorithm = "sha1";
        f.digits = 6;
        f.period = 30;
        f.created = kT;
        ASSERT_TRUE(store_->replace_factor(f).ok());
    }

    // The code of the step `offset` steps from the clock's time.
    std::string code(int offset) {
        auto c = totp_generate(seed_, TotpParams{config::TotpAlgorithm::Sha1, 6, 30}, clock_.now() + offset * 30);
        EXPECT_TRUE(c.ok());
        return c.ok() ? *c : std::string();
    }

    std::string outcome(const std::string& c) {
        auto v = verifier_->verify("alice", c, totp_, lockout_);
        EXPECT_TRUE(v.ok()) << v.error().message;
        return v.ok() ? outcome_name(v->outcome) : "error";
    }

    test::TempStateDir state_{"elevate-verifier"};
    const std::string dir_ = state_.path();
    base::FixedClock clock_{kT};
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<Verifier> verifier_;
    base::SecureBuffer seed_;
    config::TotpConfig totp_;
    config::LockoutConfig lockout_;
};

TEST_F(VerifierTest, OnlyALaterStepThanTheLastAcceptedOneIsAccepted) {
    const std::string before = code(-1), current = code(0), after = code(1);
    EXPECT_EQ(outcome(current), "accepted");
    EXPECT_EQ(outcome(before), "code older than one already used");  // inside the window, but older
    EXPECT_EQ(outcome(current), "code already used");
    EXPECT_EQ(outcome(after), "accepted");
    EXPECT_EQ(outcome(current), "code older than one already used");
    EXPECT_EQ(outcome(after), "code already used");
}

TEST_F(VerifierTest, RefusalsCountAsFailures) {
    lockout_.max_failures = 2;
    const std::string before = code(-1), current = code(0);
    EXPECT_EQ(outcome(current), "accepted");
    EXPECT_EQ(outcome(before), "code older than one already used");
    EXPECT_EQ(outcome(current), "locked out");
}

TEST_F(VerifierTest, AcceptedStepIsKeptAcrossAClockExcursion) {
    const std::string current = code(0);
    EXPECT_EQ(outcome(current), "accepted");
    clock_.advance(86400);  // the clock runs a day ahead ...
    EXPECT_EQ(outcome(code(0)), "accepted");
    clock_.advance(-86400);  // ... and is corrected
    EXPECT_EQ(outcome(current), "code older than one already used");
    // Forward only: until real time passes the step used while the clock
    // was ahead, codes are refused (an administrator re-enrolls to recover).
    EXPECT_EQ(outcome(code(1)), "code older than one already used");
    enroll("another seed of 20 b");
    EXPECT_EQ(outcome(code(0)), "accepted");
}

TEST_F(VerifierTest, AReenrolledFactorHasItsOwnHistory) {
    EXPECT_EQ(outcome(code(0)), "accepted");
    enroll("another seed of 20 b");
    // A new secret: its code of the same step was never used.
    EXPECT_EQ(outcome(code(0)), "accepted");
    EXPECT_EQ(outcome(code(0)), "code already used");
}

TEST_F(VerifierTest, AcceptedStepSurvivesReopeningTheStore) {
    const std::string before = code(-1), current = code(0);
    EXPECT_EQ(outcome(current), "accepted");
    verifier_.reset();
    store_.reset();
    auto s = store::Store::open(dir_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    verifier_ = std::make_unique<Verifier>(*store_, clock_);
    EXPECT_EQ(outcome(current), "code already used");
    EXPECT_EQ(outcome(before), "code older than one already used");
}

}  // namespace
}  // namespace elevate::auth
