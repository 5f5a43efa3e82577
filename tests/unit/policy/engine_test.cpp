// The policy engine alone: every condition, first match, report-only, the
// default, the built-in risk rules and each control, over facts held in
// memory (the daemon's own facts are tested through the real daemon in
// tests/integration/policy_test.cpp).
#include "daemon/policy/engine.h"

#include <gtest/gtest.h>

#include <map>

namespace elevate::policy {
namespace {

// 2026-12-02 (a Wednesday) 10:00 UTC = 11:00 in Berlin.
constexpr int64_t kWednesday10Utc = 1796205600;

class FakeFacts final : public Facts {
public:
    std::optional<std::vector<gid_t>> groups = std::vector<gid_t>{1000};
    std::map<std::string, gid_t> gids = {{"users", 1000}, {"dbas", 2000}, {"sec-leads", 3000}};
    std::map<std::string, store::Grant> grants;
    std::optional<store::Request> pending;
    LockState lock_state;
    bool enrolled = true;
    bool push = true;
    config::RiskLevel risk = config::RiskLevel::None;
    config::RiskLevel source = config::RiskLevel::None;
    int group_reads = 0;

    const std::optional<std::vector<gid_t>>& user_groups() override {
        ++group_reads;
        return groups;
    }
    std::optional<gid_t> group_gid(const std::string& name) override {
        auto it = gids.find(name);
        if (it == gids.end()) return std::nullopt;
        return it->second;
    }
    base::Result<std::optional<store::Grant>> active_grant(const std::string& role) override {
        auto it = grants.find(role);
        if (it == grants.end()) return std::optional<store::Grant>();
        return std::optional<store::Grant>(it->second);
    }
    base::Result<std::vector<store::Grant>> active_grants() override {
        std::vector<store::Grant> out;
        for (const auto& [role, g] : grants) out.push_back(g);
        return out;
    }
    base::Result<std::optional<store::Request>> pending_request(const std::string&) override { return pending; }
    base::Result<LockState> lock() override { return lock_state; }
    base::Result<bool> has_code_factor() override { return enrolled; }
    bool push_enabled() override { return push; }
    config::RiskLevel user_risk() override { return risk; }
    config::RiskLevel source_risk() override { return source; }
};

store::Grant grant_of(const std::string& role, int64_t end) {
    store::Grant g;
    g.id = "0123456789abcdef";
    g.user = "alice";
    g.role = role;
    g.start = end - 3600;
    g.end = end;
    return g;
}

class EngineTest : public ::testing::Test {
protected:
    config::Config config;
    FakeFacts facts;

    void SetUp() override {
        config::Role db;
        db.name = "db-admin";
        db.group = "db-admin";
        db.gid = 5001;
        db.eligible_groups = {"dbas"};
        db.eligible_users = {"alice"};
        db.default_duration = 3600;
        db.max_duration = 4 * 3600;
        config.roles.push_back(db);
        config::NetworkList office;
        office.name = "office";
        office.cidrs = {"10.20.0.0/16", "2001:db8:20::/48"};
        config.policy.networks.push_back(office);
        config::ScheduleWindow business;
        business.name = "business";
        business.days = {1, 2, 3, 4, 5};
        business.start_minute = 8 * 60;
        business.end_minute = 18 * 60;
        business.zone = "Europe/Berlin";
        config.policy.schedules.push_back(business);
    }

    config::PolicyRule& add_rule(const std::string& name) {
        config.policy.rules.emplace_back();
        config.policy.rules.back().name = name;
        return config.policy.rules.back();
    }

    RequestContext request(Operation op = Operation::Authorize, const std::string& role = "db-admin",
                           const std::string& from = "") {
        RequestContext ctx;
        ctx.op = op;
        ctx.user = "alice";
        ctx.role = role;
        ctx.service = "sudo";
        ctx.time = kWednesday10Utc;
        if (!from.empty()) {
            ctx.source.kind = Source::Kind::Remote;
            ctx.source.host = from;
            ctx.source.ip = base::parse_ip(from);
        }
        return ctx;
    }

    // Decides `ctx` as a real request and as explain (with a trace): the two
    // must agree in everything but the trace. Returns explain's decision.
    Decision run(const RequestContext& ctx) {
        auto compiled = CompiledPolicy::compile(config);
        EXPECT_TRUE(compiled) << compiled.error().message;
        RequestContext real = ctx;
        real.trace = false;
        Decision decided = decide(config, *compiled, real, facts);
        RequestContext traced = ctx;
        traced.trace = true;
        Decision explained = decide(config, *compiled, traced, facts);
        EXPECT_TRUE(decided.trace.empty());
        EXPECT_EQ(decided.outcome, explained.outcome);
        EXPECT_EQ(decided.status, explained.status);
        EXPECT_EQ(decided.message, explained.message);
        EXPECT_EQ(decided.rule, explained.rule);
        EXPECT_EQ(decided.reasons, explained.reasons);
        EXPECT_EQ(decided.report_only, explained.report_only);
        EXPECT_EQ(decided.code_ok, explained.code_ok);
        EXPECT_EQ(decided.push_ok, explained.push_ok);
        EXPECT_EQ(decided.duration, explained.duration);
        return explained;
    }

    // The next step of a transaction, continuing from `earlier`.
    Decision continue_from(const Decision& earlier, const RequestContext& ctx) {
        auto compiled = CompiledPolicy::compile(config);
        EXPECT_TRUE(compiled) << compiled.error().message;
        std::optional<Decision> carried = carried_part(earlier);
        EXPECT_TRUE(carried) << "decision by " << earlier.rule << " is not carriable";
        if (!carried) return {};
        return decide(config, *compiled, ctx, facts, &*carried);
    }
};

TEST_F(EngineTest, WithoutRulesTodaysBehaviourAsksForTheRolesFactor) {
    Decision d = run(request());
    EXPECT_EQ(d.outcome, Outcome::NeedFactor);
    EXPECT_TRUE(d.code_ok);
    EXPECT_FALSE(d.push_ok);  // the role's factor is totp
    EXPECT_EQ(d.duration, 3600);
    EXPECT_EQ(d.rule, "default");
}

TEST_F(EngineTest, AnActiveGrantAllowsWithoutReadingTheGroupDatabase) {
    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    Decision d = run(request());
    EXPECT_EQ(d.outcome, Outcome::Allow);
    ASSERT_TRUE(d.grant);
    EXPECT_EQ(facts.group_reads, 0);
}

TEST_F(EngineTest, IneligibleIsDeniedAndMarked) {
    config.roles[0].eligible_users.clear();
    facts.groups = std::vector<gid_t>{1000};
    Decision d = run(request());
    EXPECT_EQ(d.outcome, Outcome::Deny);
    EXPECT_TRUE(d.ineligible);
    EXPECT_EQ(d.message, "user alice is not eligible for role db-admin");
}

TEST_F(EngineTest, FirstMatchWins) {
    add_rule("first").deny = "first says no";
    add_rule("second").allow = true;
    Decision d = run(request());
    EXPECT_EQ(d.outcome, Outcome::Deny);
    EXPECT_EQ(d.message, "first says no");
    EXPECT_EQ(d.rule, "first");
    ASSERT_EQ(d.trace.size(), 5u);  // four built-in risk rules, then "first"; "second" is never considered
    EXPECT_EQ(d.trace.back().rule, "first");
}

// The trace's texts (effects and list texts are made when the policy is
// compiled; built-in denials name the request's user) and a roles condition
// tested against each of account's roles.
TEST_F(EngineTest, TraceNamesEveryRulesReasonAndEffect) {
    auto& ssh = add_rule("ssh-push");
    ssh.services = {"sshd", "su"};
    ssh.require_factor = config::Factor::Push;
    ssh.every_time = true;
    auto& other = add_rule("other-role");
    other.roles = {"web-admin"};
    other.max_duration = 1800;
    auto& office = add_rule("office-only");
    office.networks = {"office"};
    office.deny = "only from the office";
    auto& dbas = add_rule("dbas-allowed");
    dbas.roles = {"db-admin"};
    dbas.groups = {"dbas"};
    dbas.allow = true;
    auto& last = add_rule("account-any-role");
    last.roles = {"web-admin", "db-admin"};
    last.allow = true;
    facts.risk = config::RiskLevel::Low;

    Decision d = run(request(Operation::Authorize, "db-admin", "192.0.2.7"));
    ASSERT_EQ(d.trace.size(), 9u);
    EXPECT_EQ(d.trace[0].rule, "builtin:high-risk");
    EXPECT_EQ(d.trace[0].why, "user risk is low, below high");
    EXPECT_EQ(d.trace[0].effect,
              "deny: elevation is blocked for alice: their risk is high; an administrator must review it "
              "(elevatectl risk show alice)");
    EXPECT_EQ(d.trace[4].why, "service sudo is not in services [sshd, su]");
    EXPECT_EQ(d.trace[4].effect, "require factor push every time");
    EXPECT_EQ(d.trace[5].why, "role is not in roles [web-admin]");
    EXPECT_EQ(d.trace[5].effect, "max duration 30m");
    EXPECT_EQ(d.trace[6].why, "source 192.0.2.7 is not in networks [office]");
    EXPECT_EQ(d.trace[6].effect, "deny: only from the office");
    EXPECT_EQ(d.trace[7].why, "alice is in none of groups [dbas]");
    EXPECT_TRUE(d.trace[8].matched);
    EXPECT_EQ(d.trace[8].why, "all conditions hold");
    EXPECT_EQ(d.trace[8].effect, "allow");
    EXPECT_EQ(d.rule, "account-any-role");

    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    RequestContext account = request(Operation::Account, "");
    account.roles = {"ops", "db-admin"};
    Decision a = run(account);
    EXPECT_EQ(a.rule, "account-any-role");  // "dbas-allowed" fails at groups, "other-role" at roles
    EXPECT_EQ(a.outcome, Outcome::Allow);
}

TEST_F(EngineTest, ServiceAndNotNetworksDenySshOutsideTheOffice) {
    auto& r = add_rule("outside-office-denied");
    r.services = {"sshd"};
    r.not_networks = {"office"};
    r.deny = "sshd only from the office network";
    RequestContext ssh = request(Operation::Authorize, "db-admin", "192.0.2.7");
    ssh.service = "sshd";
    EXPECT_EQ(run(ssh).message, "sshd only from the office network");
    ssh.source.ip = base::parse_ip("10.20.3.4");
    ssh.source.host = "10.20.3.4";
    EXPECT_EQ(run(ssh).outcome, Outcome::NeedFactor);
    // An IPv4-mapped IPv6 address is the IPv4 address.
    ssh.source.ip = base::parse_ip("::ffff:10.20.3.4");
    EXPECT_EQ(run(ssh).outcome, Outcome::NeedFactor);
    ssh.source.ip = base::parse_ip("2001:db8:20:1::5");
    EXPECT_EQ(run(ssh).outcome, Outcome::NeedFactor);
    // "unknown" never matches a trusted network.
    ssh.source = Source{};
    EXPECT_EQ(run(ssh).outcome, Outcome::Deny);
    // sudo is not sshd.
    EXPECT_EQ(run(request()).outcome, Outcome::NeedFactor);
}

TEST_F(EngineTest, NetworksAcceptLiteralsLocalAndUnknown) {
    auto& r = add_rule("only-these");
    r.networks = {"192.0.2.7", "local"};
    r.allow = true;
    add_rule("rest").deny = "not from here";
    EXPECT_EQ(run(request(Operation::Authorize, "db-admin", "192.0.2.7")).rule, "only-these");
    EXPECT_EQ(run(request(Operation::Authorize, "db-admin", "192.0.2.8")).rule, "rest");
    RequestContext local = request();
    local.source.kind = Source::Kind::Local;
    EXPECT_EQ(run(local).rule, "only-these");
    // A host name matches no address list.
    RequestContext named = request(Operation::Authorize, "db-admin", "host.example");
    EXPECT_EQ(run(named).rule, "rest");
}

TEST_F(EngineTest, NotScheduleRequiresApprovalAndCapsDurationOffHours) {
    auto& r = add_rule("off-hours-approval");
    r.roles = {"db-admin"};
    r.not_schedule = "business";
    r.require_approval = config::Approval{{"group:sec-leads"}, 1, 7200};
    r.max_duration = 1800;
    Decision inside = run(request(Operation::Activate));
    EXPECT_EQ(inside.outcome, Outcome::Allow);
    EXPECT_FALSE(inside.approval);
    EXPECT_EQ(inside.duration, 3600);

    RequestContext late = request(Operation::Activate);
    late.time = kWednesday10Utc + 10 * 3600;  // 21:00 in Berlin
    Decision outside = run(late);
    EXPECT_EQ(outside.outcome, Outcome::Allow);
    ASSERT_TRUE(outside.approval);
    EXPECT_EQ(outside.approval->approvers, std::vector<std::string>{"group:sec-leads"});
    EXPECT_EQ(outside.approval_by, "rule off-hours-approval");
    EXPECT_EQ(outside.duration, 1800);
    EXPECT_EQ(outside.rule, "off-hours-approval");
}

TEST_F(EngineTest, ReportOnlyIsNotedAndChangesNothing) {
    auto& r = add_rule("trial-push-for-admins");
    r.mode = config::RuleMode::ReportOnly;
    r.groups = {"dbas"};
    r.require_factor = config::Factor::Push;
    auto& d2 = add_rule("trial-deny");
    d2.mode = config::RuleMode::ReportOnly;
    d2.deny = "would be denied";
    facts.groups = std::vector<gid_t>{1000, 2000};
    Decision d = run(request());
    EXPECT_EQ(d.outcome, Outcome::NeedFactor);
    EXPECT_TRUE(d.code_ok);
    EXPECT_EQ(d.rule, "default");
    ASSERT_EQ(d.report_only.size(), 2u);
    EXPECT_EQ(d.report_only[0], "rule trial-push-for-admins would have applied: require factor push");
    EXPECT_EQ(d.report_only[1], "rule trial-deny would have denied");
    EXPECT_NE(d.audit_suffix().find("report-only: rule trial-deny would have denied"), std::string::npos);
}

TEST_F(EngineTest, RequireFactorEveryTimeAsksInsideAGrant) {
    auto& r = add_rule("always-ask");
    r.users = {"alice"};
    r.require_factor = config::Factor::Any;
    r.every_time = true;
    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    Decision d = run(request());
    EXPECT_EQ(d.outcome, Outcome::NeedFactor);
    EXPECT_TRUE(d.grant);
    EXPECT_TRUE(d.code_ok);
    EXPECT_TRUE(d.push_ok);
}

TEST_F(EngineTest, RequireGrantAndHasGrant) {
    config::Role web = config.roles[0];
    web.name = "web-admin";
    config.roles.push_back(web);
    auto& r = add_rule("db-first");
    r.roles = {"web-admin"};
    r.require_grant = "db-admin";
    Decision d = run(request(Operation::Authorize, "web-admin"));
    EXPECT_EQ(d.outcome, Outcome::Deny);
    EXPECT_EQ(d.message,
              "this requires an active grant of db-admin (rule db-first). Run: elevatectl activate db-admin");
    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    EXPECT_EQ(run(request(Operation::Authorize, "web-admin")).outcome, Outcome::NeedFactor);

    config.policy.rules.clear();
    auto& h = add_rule("holders");
    h.has_grant = "db-admin";
    h.deny = "no";
    EXPECT_EQ(run(request(Operation::Authorize, "web-admin")).rule, "holders");
    facts.grants.clear();
    EXPECT_EQ(run(request(Operation::Authorize, "web-admin")).rule, "default");
}

TEST_F(EngineTest, TtyCondition) {
    auto& r = add_rule("no-tty");
    r.tty = false;
    r.deny = "scripts may not";
    EXPECT_EQ(run(request()).rule, "no-tty");
    RequestContext with = request();
    with.tty = "pts/1";
    EXPECT_EQ(run(with).rule, "default");
}

TEST_F(EngineTest, DefaultDeny) {
    config.policy.default_control = config::PolicyDefault::Deny;
    auto& r = add_rule("office");
    r.networks = {"office"};
    r.allow = true;
    EXPECT_EQ(run(request()).message, config.policy.default_deny_message);
    EXPECT_EQ(run(request(Operation::Authorize, "db-admin", "10.20.0.1")).outcome, Outcome::NeedFactor);
}

TEST_F(EngineTest, BuiltInRiskRules) {
    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    facts.risk = config::RiskLevel::Medium;
    Decision medium = run(request());
    EXPECT_EQ(medium.outcome, Outcome::NeedFactor);  // inside the grant
    EXPECT_EQ(medium.rule, "builtin:medium-risk");

    facts.risk = config::RiskLevel::High;
    Decision high = run(request());
    EXPECT_EQ(high.outcome, Outcome::Deny);
    EXPECT_EQ(high.rule, "builtin:high-risk");
    EXPECT_NE(high.message.find("elevatectl risk show alice"), std::string::npos);
    RequestContext account = request(Operation::Account, "");
    account.roles = {"db-admin"};
    EXPECT_EQ(run(account).outcome, Outcome::Deny);  // the account step is for roles
    RequestContext ssh = request(Operation::Authorize, "");
    ssh.service = "sshd";
    EXPECT_EQ(run(ssh).rule, "builtin:high-risk-sshd");
    // A plain second factor elsewhere is not elevation.
    RequestContext plain = request(Operation::Verify, "");
    EXPECT_EQ(run(plain).outcome, Outcome::Allow);

    facts.risk = config::RiskLevel::None;
    facts.source = config::RiskLevel::High;
    Decision source = run(request(Operation::Authorize, "db-admin", "10.9.9.9"));
    EXPECT_EQ(source.rule, "builtin:high-risk-source");

    config.policy.risk_rules = false;
    EXPECT_EQ(run(request()).outcome, Outcome::Allow);
}

TEST_F(EngineTest, RiskConditionsAtOrAbove) {
    auto& r = add_rule("risky");
    r.risk = config::RiskLevel::Low;
    r.require_factor = config::Factor::Push;
    config.policy.risk_rules = false;
    facts.risk = config::RiskLevel::None;
    EXPECT_EQ(run(request()).rule, "default");
    facts.risk = config::RiskLevel::Low;
    EXPECT_EQ(run(request()).rule, "risky");
    facts.risk = config::RiskLevel::High;
    Decision d = run(request());
    EXPECT_EQ(d.rule, "risky");
    EXPECT_FALSE(d.code_ok);
    EXPECT_TRUE(d.push_ok);
}

TEST_F(EngineTest, AccountFindsTheLongestGrantOrSaysWhatToRun) {
    RequestContext account = request(Operation::Account, "");
    account.roles = {"db-admin"};
    Decision none = run(account);
    EXPECT_EQ(none.message, "No active grant for db-admin. Run: elevatectl activate db-admin");
    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    Decision some = run(account);
    EXPECT_EQ(some.outcome, Outcome::Allow);
    EXPECT_EQ(some.grant->role, "db-admin");
}

TEST_F(EngineTest, LocksComeBeforeFactors) {
    facts.lock_state.fraud = true;
    facts.lock_state.reason = "push 1234 reported as fraud";
    Decision d = run(request());
    EXPECT_EQ(d.status, wire::Status::Locked);
    facts.lock_state = {};
    facts.lock_state.locked_until = kWednesday10Utc + 60;
    Decision l = run(request());
    EXPECT_EQ(l.status, wire::Status::Locked);
    EXPECT_EQ(l.locked_until, kWednesday10Utc + 60);
}

TEST_F(EngineTest, ActivationChecksReasonConflictAndPending) {
    config.roles[0].require_reason = true;
    EXPECT_EQ(run(request(Operation::Activate)).message, "role db-admin requires a reason (--reason)");
    RequestContext with_reason = request(Operation::Activate);
    with_reason.reason = "INC-1";
    with_reason.requested_duration = 10 * 3600;
    Decision clamped = run(with_reason);
    EXPECT_EQ(clamped.outcome, Outcome::Allow);
    EXPECT_EQ(clamped.duration, 4 * 3600);
    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    EXPECT_EQ(run(with_reason).status, wire::Status::Conflict);
}

TEST_F(EngineTest, OnePushActivationReadsTheGroupDatabaseAndJudgesEligibilityOnce) {
    // Eligible through a group: eligibility itself needs the group database.
    config.roles[0].eligible_users.clear();
    config.roles[0].factor = config::Factor::Any;
    facts.groups = std::vector<gid_t>{1000, 2000};
    Decision asked = run(request(Operation::Authorize));
    ASSERT_EQ(asked.outcome, Outcome::NeedFactor) << asked.message;
    const int at_authorize = facts.group_reads;
    EXPECT_GT(at_authorize, 0);
    Decision pushed = continue_from(asked, request(Operation::PushStart));
    ASSERT_EQ(pushed.outcome, Outcome::Allow) << pushed.message;
    Decision activated = continue_from(pushed, request(Operation::Activate));
    ASSERT_EQ(activated.outcome, Outcome::Allow) << activated.message;
    EXPECT_EQ(facts.group_reads, at_authorize);
    EXPECT_EQ(activated.duration, 3600);
    ASSERT_FALSE(activated.reasons.empty());
    EXPECT_EQ(activated.reasons[0], "user alice is a member of eligible group dbas");
    // Deciding from the start reads it again.
    run(request(Operation::Activate));
    EXPECT_GT(facts.group_reads, at_authorize);
}

TEST_F(EngineTest, ACarriedDecisionKeepsTheRuleAndChecksWhatCanChangeNow) {
    config.roles[0].require_reason = true;
    config::PolicyRule& r = add_rule("outside");
    r.not_networks = {"office"};
    r.require_factor = config::Factor::Push;
    r.max_duration = 1800;
    Decision asked = run(request(Operation::Authorize, "db-admin", "192.0.2.7"));
    ASSERT_EQ(asked.outcome, Outcome::NeedFactor) << asked.message;
    EXPECT_EQ(asked.rule, "outside");
    EXPECT_FALSE(asked.code_ok);

    RequestContext activate = request(Operation::Activate, "db-admin", "192.0.2.7");
    // The reason is checked at the step that brings it.
    EXPECT_EQ(continue_from(asked, activate).message, "role db-admin requires a reason (--reason)");
    activate.reason = "INC-7";
    Decision done = continue_from(asked, activate);
    ASSERT_EQ(done.outcome, Outcome::Allow) << done.message;
    EXPECT_EQ(done.rule, "outside");
    EXPECT_EQ(done.duration, 1800);  // the rule's cap, carried
    EXPECT_FALSE(done.code_ok);
    EXPECT_TRUE(done.push_ok);
    EXPECT_EQ(done.audit_suffix(), "; rule outside");

    // A lock or a grant that came since is seen.
    facts.lock_state.fraud = true;
    EXPECT_EQ(continue_from(asked, request(Operation::PushStart, "db-admin", "192.0.2.7")).status,
              wire::Status::Locked);
    facts.lock_state = {};
    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    EXPECT_EQ(continue_from(asked, activate).status, wire::Status::Conflict);
}

TEST_F(EngineTest, DenialsAndDecisionsThatReadAGrantAreNotCarried) {
    add_rule("no-web").services = {"web"};
    config.policy.rules.back().deny = "not here";
    RequestContext web = request();
    web.service = "web";
    EXPECT_FALSE(carried_part(run(web)));
    // has_grant and require_grant depend on a grant that can end between
    // the steps.
    config::PolicyRule& holder = add_rule("holders");
    holder.has_grant = "db-admin";
    holder.allow = true;
    EXPECT_FALSE(carried_part(run(request())));
    config.policy.rules.pop_back();
    add_rule("needs").require_grant = "db-admin";
    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    Decision needs = run(request());
    EXPECT_EQ(needs.rule, "needs");
    EXPECT_EQ(needs.outcome, Outcome::Allow);
    EXPECT_FALSE(carried_part(needs));
}

TEST_F(EngineTest, AVerifyOrAPushInsideARolesGrantNeedsTheGrant) {
    RequestContext verify = request(Operation::Verify);
    Decision none = run(verify);
    EXPECT_EQ(none.outcome, Outcome::Deny);
    EXPECT_EQ(none.message, "No active grant for db-admin. Run: elevatectl activate db-admin");
    RequestContext push = request(Operation::PushStart);
    push.reauth = true;
    config.roles[0].factor = config::Factor::Any;
    EXPECT_EQ(run(push).message, "No active grant for db-admin. Run: elevatectl activate db-admin");

    facts.grants["db-admin"] = grant_of("db-admin", kWednesday10Utc + 600);
    Decision inside = run(verify);
    EXPECT_EQ(inside.outcome, Outcome::Allow);
    ASSERT_TRUE(inside.grant);
    Decision pushed = run(push);
    EXPECT_EQ(pushed.outcome, Outcome::Allow) << pushed.message;  // not "already active"
    facts.lock_state.fraud = true;
    EXPECT_EQ(run(push).status, wire::Status::Locked);
    // Without reauth a push for the role is an activation: the grant is a conflict.
    facts.lock_state = {};
    push.reauth = false;
    EXPECT_EQ(run(push).status, wire::Status::Conflict);
}

// A list named by several rules is tested against the source once per
// decision; every rule still sees the answer for itself.
TEST_F(EngineTest, RulesNamingTheSameNetworkListEachSeeItsAnswer) {
    auto& night = add_rule("office-at-night");
    night.networks = {"office"};
    night.not_schedule = "business";  // it is 11:00 in Berlin: does not match
    night.deny = "not at night";
    auto& outside = add_rule("outside-office");
    outside.not_networks = {"office", "10.99.0.0/16"};
    outside.deny = "only from the office";
    auto& office = add_rule("office");
    office.networks = {"10.99.0.0/16", "office"};
    office.require_factor = config::Factor::Push;
    Decision in = run(request(Operation::Authorize, "db-admin", "10.20.1.1"));
    EXPECT_EQ(in.rule, "office") << in.message;
    ASSERT_EQ(in.trace.size(), 7u);
    EXPECT_EQ(in.trace[4].why, "the time is inside schedule business");
    EXPECT_EQ(in.trace[5].why, "source 10.20.1.1 is in office");
    Decision out = run(request(Operation::Authorize, "db-admin", "192.0.2.7"));
    EXPECT_EQ(out.rule, "outside-office");
    EXPECT_EQ(out.message, "only from the office");
}

TEST_F(EngineTest, UnknownNetworkListOrScheduleFailsToCompile) {
    add_rule("bad").networks = {"nowhere"};
    auto compiled = CompiledPolicy::compile(config);
    EXPECT_FALSE(compiled);
    config.policy.rules.back().networks.clear();
    config.policy.rules.back().schedule = "never";
    EXPECT_FALSE(CompiledPolicy::compile(config));
}

}  // namespace
}  // namespace elevate::policy
