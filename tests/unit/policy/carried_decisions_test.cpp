// The store of decisions carried between the steps of one transaction: a
// decision only ever reaches the same caller's next step about the same
// request, once, for a short while.
#include "daemon/policy/carried_decisions.h"

#include <gtest/gtest.h>

namespace elevate::policy {
namespace {

RequestContext context(const std::string& user = "alice", const std::string& role = "db-admin") {
    RequestContext ctx;
    ctx.user = user;
    ctx.role = role;
    ctx.service = "sudo";
    ctx.tty = "/dev/pts/3";
    ctx.source.kind = Source::Kind::Remote;
    ctx.source.host = "10.1.2.3";
    ctx.source.ip = base::parse_ip("10.1.2.3");
    return ctx;
}

Decision assessed(const std::string& rule = "office") {
    Decision d;
    d.outcome = Outcome::NeedFactor;
    d.rule = rule;
    d.reasons = {"rule office requires push"};
    d.rule_reasons = 1;
    d.user_known = true;
    d.eligible_because = "user alice is listed in eligible_users";
    d.grant.reset();
    return d;
}

TEST(CarriedDecisions, TheSameCallersNextStepTakesItOnce) {
    CarriedDecisions store;
    store.keep(0, 4242, context(), assessed(), 1000);
    EXPECT_EQ(store.size(), 1u);
    auto taken = store.take(0, 4242, context(), 2000);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->rule, "office");
    EXPECT_EQ(taken->eligible_because, "user alice is listed in eligible_users");
    EXPECT_EQ(taken->outcome, Outcome::Deny);  // the outcome is the next step's to decide
    EXPECT_FALSE(store.take(0, 4242, context(), 2000));
}

TEST(CarriedDecisions, AnotherCallerUserRoleServiceTerminalOrSourceGetsNothing) {
    CarriedDecisions store;
    auto kept = [&] {
        store.clear();
        store.keep(0, 4242, context(), assessed(), 1000);
    };
    kept();
    EXPECT_FALSE(store.take(1000, 4242, context(), 1000));
    kept();
    EXPECT_FALSE(store.take(0, 4243, context(), 1000));
    kept();
    EXPECT_FALSE(store.take(0, 4242, context("bob"), 1000));
    kept();
    EXPECT_FALSE(store.take(0, 4242, context("alice", "web"), 1000));
    for (auto change :
         {+[](RequestContext& c) { c.service = "sshd"; }, +[](RequestContext& c) { c.tty = ""; },
          +[](RequestContext& c) { c.source.ip = base::parse_ip("10.1.2.4"), c.source.host = "10.1.2.4"; },
          +[](RequestContext& c) { c.source = Source(); }}) {
        kept();
        RequestContext other = context();
        change(other);
        EXPECT_FALSE(store.take(0, 4242, other, 1000));
        EXPECT_TRUE(store.take(0, 4242, context(), 1000));
    }
}

TEST(CarriedDecisions, ExpiresAndIsForgottenWithTheUsersRisk) {
    CarriedDecisions store;
    store.keep(0, 1, context(), assessed(), 1000);
    EXPECT_FALSE(store.take(0, 1, context(), 1000 + CarriedDecisions::kLifetimeMs));
    store.keep(0, 1, context("alice"), assessed(), 1000);
    store.keep(0, 1, context("bob"), assessed(), 1000);
    store.forget_user("alice");
    EXPECT_FALSE(store.take(0, 1, context("alice"), 1000));
    EXPECT_TRUE(store.take(0, 1, context("bob"), 1000));
}

TEST(CarriedDecisions, KeepsNoDenialAndReplacesWhatItHad) {
    CarriedDecisions store;
    store.keep(0, 1, context(), assessed("first"), 1000);
    Decision denied;
    denied.outcome = Outcome::Deny;
    store.keep(0, 1, context(), denied, 1000);  // a later denial ends what was carried
    EXPECT_FALSE(store.take(0, 1, context(), 1000));
    store.keep(0, 1, context(), assessed("first"), 1000);
    store.keep(0, 1, context(), assessed("second"), 1000);
    EXPECT_EQ(store.take(0, 1, context(), 1000)->rule, "second");
}

TEST(CarriedDecisions, AFullStoreDropsWhatExpiredAndOtherwiseKeepsNothingNew) {
    CarriedDecisions store;
    for (size_t i = 0; i < CarriedDecisions::kCapacity; ++i)
        store.keep(0, pid_t(i + 1), context(), assessed(), i < 10 ? 0 : 1000);
    EXPECT_EQ(store.size(), CarriedDecisions::kCapacity);
    // Ten have expired by then: they make room.
    store.keep(0, 999999, context(), assessed(), CarriedDecisions::kLifetimeMs + 1);
    EXPECT_EQ(store.size(), CarriedDecisions::kCapacity - 9);
    store.clear();
    for (size_t i = 0; i < CarriedDecisions::kCapacity; ++i) store.keep(0, pid_t(i + 1), context(), assessed(), 1000);
    store.keep(0, 999999, context(), assessed(), 1000);
    EXPECT_FALSE(store.take(0, 999999, context(), 1000));
    EXPECT_TRUE(store.take(0, 1, context(), 1000));
}

}  // namespace
}  // namespace elevate::policy
