// The loader's [policy] and [risk] sections (issue 13).
#include "config_fixture.h"

namespace {

// Issue 13, section 3, with the role and groups it names.
constexpr const char* kIssueExample = R"([[role]]
name = "db-admin"
gid = 60001
eligible_groups = ["dbas"]

[policy.networks.office]
cidrs = ["10.20.0.0/16", "2001:db8:20::/48"]

[policy.schedules.business]
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "08:00-18:00"
zone = "Europe/Berlin"

[[policy.rule]]
name = "outside-office-denied"
services = ["sshd"]
not_networks = ["office"]
deny = "sshd only from the office network"

[[policy.rule]]
name = "off-hours-approval"
roles = ["db-admin"]
not_schedule = "business"
require_approval = { approvers = ["group:sec-leads"], count = 1 }
max_duration = "1h"

[[policy.rule]]
name = "trial-push-for-admins"
mode = "report-only"
groups = ["dbas"]
require_factor = "push"
)";

class PolicyLoad : public ConfigLoad {
protected:
    void SetUp() override {
        ConfigLoad::SetUp();
        options_.system_group_file = write("group", "root:x:0:\ndbas:x:50:alice\nsec-leads:x:51:bob\n");
    }
    // The error for a main file holding the db-admin role and `text`.
    std::string rule_error(const std::string& text) { return error_for(std::string(kDbAdmin) + text); }
    std::vector<std::string> warnings_for(const std::string& text) {
        write_main(std::string(kDbAdmin) + text);
        return load_ok().warnings;
    }
};

TEST_F(PolicyLoad, IssueExampleParses) {
    write_main(kIssueExample);
    Config config = load_ok();
    const PolicyConfig& p = config.policy;
    EXPECT_EQ(p.default_control, PolicyDefault::Allow);
    EXPECT_TRUE(p.risk_rules);
    ASSERT_EQ(p.networks.size(), 1u);
    EXPECT_EQ(p.networks[0].name, "office");
    EXPECT_EQ(p.networks[0].cidrs, (std::vector<std::string>{"10.20.0.0/16", "2001:db8:20::/48"}));
    ASSERT_EQ(p.schedules.size(), 1u);
    EXPECT_EQ(p.schedules[0].name, "business");
    EXPECT_EQ(p.schedules[0].days, (std::vector<int>{1, 2, 3, 4, 5}));
    EXPECT_EQ(p.schedules[0].start_minute, 8 * 60);
    EXPECT_EQ(p.schedules[0].end_minute, 18 * 60);
    EXPECT_EQ(p.schedules[0].zone, "Europe/Berlin");
    ASSERT_EQ(p.rules.size(), 3u);

    const PolicyRule& deny = p.rules[0];
    EXPECT_EQ(deny.name, "outside-office-denied");
    EXPECT_EQ(deny.file, main_);
    EXPECT_EQ(deny.line, 14);
    EXPECT_EQ(deny.mode, RuleMode::Enforce);
    EXPECT_EQ(deny.services, std::vector<std::string>{"sshd"});
    EXPECT_EQ(deny.not_networks, std::vector<std::string>{"office"});
    EXPECT_EQ(deny.deny, "sshd only from the office network");
    EXPECT_FALSE(deny.allow);
    EXPECT_FALSE(deny.require_factor);

    const PolicyRule& approval = p.rules[1];
    EXPECT_EQ(approval.name, "off-hours-approval");
    EXPECT_EQ(approval.line, 20);
    EXPECT_EQ(approval.roles, std::vector<std::string>{"db-admin"});
    EXPECT_EQ(approval.not_schedule, "business");
    ASSERT_TRUE(approval.require_approval);
    EXPECT_EQ(approval.require_approval->approvers, std::vector<std::string>{"group:sec-leads"});
    EXPECT_EQ(approval.require_approval->count, 1);
    EXPECT_EQ(approval.require_approval->timeout, 7200);
    EXPECT_EQ(approval.max_duration, 3600);
    EXPECT_FALSE(approval.deny);

    const PolicyRule& trial = p.rules[2];
    EXPECT_EQ(trial.name, "trial-push-for-admins");
    EXPECT_EQ(trial.mode, RuleMode::ReportOnly);
    EXPECT_EQ(trial.groups, std::vector<std::string>{"dbas"});
    EXPECT_EQ(trial.require_factor, Factor::Push);
    EXPECT_FALSE(trial.every_time);
    EXPECT_TRUE(config.warnings.empty());
}

TEST_F(PolicyLoad, EveryConditionAndControl) {
    write_main(std::string(kDbAdmin) + R"(
[[role]]
name = "web-admin"
gid = 60002
eligible_users = ["alice"]

[policy]
default = "deny"
deny_message = "ask the security team"
risk_rules = false

[policy.schedules.night]
hours = "22:00-06:00"

[[policy.rule]]
name = "all"
users = ["alice"]
groups = ["dbas"]
roles = ["db-admin"]
services = ["sudo", "elevatectl"]
networks = ["local", "unknown", "192.0.2.7", "2001:db8::/32"]
not_networks = ["10.0.0.0/8"]
schedule = "night"
risk = "medium"
source_risk = "high"
has_grant = "web-admin"
tty = false
require_factor = "any"
every_time = true
require_grant = "web-admin"
require_approval = { approvers = ["user:bob"], count = 2, timeout = "30m" }
max_duration = "15m"

[[policy.rule]]
name = "ok"
allow = true
max_duration = "2h"
)");
    Config config = load_ok();
    EXPECT_EQ(config.policy.default_control, PolicyDefault::Deny);
    EXPECT_EQ(config.policy.default_deny_message, "ask the security team");
    EXPECT_FALSE(config.policy.risk_rules);
    ASSERT_EQ(config.policy.schedules.size(), 1u);
    EXPECT_TRUE(config.policy.schedules[0].days.empty());
    EXPECT_EQ(config.policy.schedules[0].start_minute, 22 * 60);
    EXPECT_EQ(config.policy.schedules[0].end_minute, 6 * 60);
    ASSERT_EQ(config.policy.rules.size(), 2u);
    const PolicyRule& r = config.policy.rules[0];
    EXPECT_EQ(r.users, std::vector<std::string>{"alice"});
    EXPECT_EQ(r.services, (std::vector<std::string>{"sudo", "elevatectl"}));
    EXPECT_EQ(r.networks, (std::vector<std::string>{"local", "unknown", "192.0.2.7", "2001:db8::/32"}));
    EXPECT_EQ(r.not_networks, std::vector<std::string>{"10.0.0.0/8"});
    EXPECT_EQ(r.schedule, "night");
    EXPECT_EQ(r.risk, RiskLevel::Medium);
    EXPECT_EQ(r.source_risk, RiskLevel::High);
    EXPECT_EQ(r.has_grant, "web-admin");
    EXPECT_EQ(r.tty, false);
    EXPECT_EQ(r.require_factor, Factor::Any);
    EXPECT_TRUE(r.every_time);
    EXPECT_EQ(r.require_grant, "web-admin");
    ASSERT_TRUE(r.require_approval);
    EXPECT_EQ(r.require_approval->count, 2);
    EXPECT_EQ(r.require_approval->timeout, 1800);
    EXPECT_EQ(r.max_duration, 900);
    EXPECT_TRUE(config.policy.rules[1].allow);
    EXPECT_EQ(config.policy.rules[1].max_duration, 7200);
}

TEST_F(PolicyLoad, NetworkListErrors) {
    EXPECT_EQ(error_for("[policy.networks.office]\ncidrs = [\"10.20.0.0/16\", \"10.20.1.0/16\"]\n"),
              main_ +
                  ":2: key 'policy.networks.office.cidrs': '10.20.1.0/16': host bits are set (the network is "
                  "10.20.0.0/16)");
    EXPECT_EQ(
        error_for("[policy.networks.office]\ncidrs = [\"fe80::1%eth0\"]\n"),
        main_ + ":2: key 'policy.networks.office.cidrs': 'fe80::1%eth0': an IPv6 zone (%...) has no meaning here");
    EXPECT_EQ(error_for("[policy.networks.office]\ncidrs = [\"office2\"]\n"),
              main_ +
                  ":2: key 'policy.networks.office.cidrs': 'office2': not an IP address or CIDR (such as "
                  "10.20.0.0/16 or 2001:db8::/48)");
    EXPECT_EQ(error_for("[policy.networks.office]\ncidrs = []\n"),
              main_ + ":2: key 'policy.networks.office.cidrs': must be a non-empty array such as [\"10.20.0.0/16\"]");
    EXPECT_EQ(error_for("[policy.networks.office]\n"), main_ + ":1: key 'policy.networks.office.cidrs': is required");
    EXPECT_EQ(error_for("[policy.networks.local]\ncidrs = [\"10.0.0.0/8\"]\n"),
              main_ +
                  ":1: key 'policy.networks': 'local' is not a valid name (1-64 of a-z, 0-9, '_' and '-', "
                  "starting with a letter; not \"local\" or \"unknown\")");
    EXPECT_EQ(error_for("[policy.networks.office]\ncidr = [\"10.0.0.0/8\"]\n"),
              main_ + ":2: unknown key 'policy.networks.office.cidr' (did you mean 'cidrs'?)");
}

TEST_F(PolicyLoad, ScheduleErrors) {
    EXPECT_EQ(error_for("[policy.schedules.business]\nzone = \"Mars/Olympus_Mons\"\n"),
              main_ +
                  ":2: key 'policy.schedules.business.zone': 'Mars/Olympus_Mons' is not a time zone of the tz "
                  "database");
    EXPECT_EQ(error_for("[policy.schedules.business]\ndays = [\"mon\", \"weekdays\"]\n"),
              main_ +
                  ":2: key 'policy.schedules.business.days': 'weekdays' is not a day (mon, tue, wed, thu, fri, "
                  "sat or sun)");
    EXPECT_EQ(error_for("[policy.schedules.business]\ndays = [\"mon\", \"mon\"]\n"),
              main_ + ":2: key 'policy.schedules.business.days': 'mon' is listed twice");
    for (const char* bad : {"8:00-18:00", "08:00", "24:00-06:00", "08:60-18:00", "08:00-24:01", "08:00-25:00",
                            "08.00-18.00", "08:00 - 18:00"}) {
        EXPECT_EQ(error_for(std::string("[policy.schedules.business]\nhours = \"") + bad + "\"\n"),
                  main_ + ":2: key 'policy.schedules.business.hours': '" + bad +
                      "' must be \"HH:MM-HH:MM\" (such as \"08:00-18:00\")");
    }
    EXPECT_EQ(error_for("[policy.schedules.business]\nhours = \"08:00-08:00\"\n"),
              main_ +
                  ":2: key 'policy.schedules.business.hours': '08:00-08:00' is empty (for the whole day write "
                  "\"00:00-24:00\")");
    write_main(
        "[policy.schedules.late]\nhours = \"18:00-24:00\"\n[policy.schedules.evening]\nhours = \"18:00-00:00\"\n");
    Config config = load_ok();
    ASSERT_EQ(config.policy.schedules.size(), 2u);
    EXPECT_EQ(config.policy.schedules[0].end_minute, 1440);
    EXPECT_EQ(config.policy.schedules[1].end_minute, 1440);
}

TEST_F(PolicyLoad, RuleShapeErrors) {
    EXPECT_EQ(rule_error("[[policy.rule]]\nallow = true\n"), main_ + ":6: key 'policy.rule.name': is required");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nusers = [\"alice\"]\n"),
              main_ +
                  ":6: key 'policy.rule': rule 'x' has no control (allow, deny, require_factor, require_grant, "
                  "require_approval or max_duration)");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\ndeny = \"no\"\nmax_duration = \"1h\"\n"),
              main_ + ":8: key 'policy.rule.deny': rule 'x': deny combines with no other control");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\ndeny = \"no\"\nallow = true\n"),
              main_ + ":8: key 'policy.rule.deny': rule 'x': deny combines with no other control");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nallow = true\nrequire_factor = \"totp\"\n"),
              main_ +
                  ":8: key 'policy.rule.allow': rule 'x': allow combines with none of require_factor, "
                  "require_grant and require_approval");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nallow = false\n"),
              main_ + ":8: key 'policy.rule.allow': must be true (leave it out otherwise)");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nmax_duration = \"1h\"\nevery_time = true\n"),
              main_ + ":9: key 'policy.rule.every_time': rule 'x': needs require_factor");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nallow = true\nservice = [\"sshd\"]\n"),
              main_ + ":9: unknown key 'policy.rule.service' (did you mean 'services'?)");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nallow = true\nmode = \"audit\"\n"),
              main_ + ":9: key 'policy.rule.mode': must be \"enforce\" or \"report-only\"");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nallow = true\nrisk = \"none\"\n"),
              main_ + ":9: key 'policy.rule.risk': must be \"low\", \"medium\" or \"high\"");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nrequire_factor = \"sms\"\n"),
              main_ + ":8: key 'policy.rule.require_factor': must be \"totp\", \"push\" or \"any\"");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nmax_duration = 3600\n"),
              main_ + ":8: key 'policy.rule.max_duration': must be a duration string such as \"30s\" or \"1h\"");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nallow = true\nnetworks = [\"10.0.0.300/8\"]\n"),
              main_ +
                  ":9: key 'policy.rule.networks': '10.0.0.300/8' is not a network list name, \"local\", "
                  "\"unknown\" or a CIDR (not an IP address or CIDR (such as 10.20.0.0/16 or 2001:db8::/48))");
    EXPECT_EQ(rule_error("[policy]\nrule = 1\n"),
              main_ + ":7: key 'policy.rule': must be an array of tables (write [[policy.rule]])");
    EXPECT_EQ(rule_error("[policy]\ndefault = \"maybe\"\n"),
              main_ + ":7: key 'policy.default': must be \"allow\" or \"deny\"");
    EXPECT_EQ(rule_error("[policy]\ndefaults = \"deny\"\n"),
              main_ + ":7: unknown key 'policy.defaults' (did you mean 'default'?)");
}

TEST_F(PolicyLoad, ApprovalIsValidatedLikeARoles) {
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nrequire_approval = { approvers = [\"sec-leads\"] }\n"),
              main_ +
                  ":8: key 'policy.rule.require_approval.approvers': 'sec-leads' must be \"group:NAME\" or "
                  "\"user:NAME\"");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nrequire_approval = { approvers = [\"user:bob\"], count = 0 "
                         "}\n"),
              main_ + ":8: key 'policy.rule.require_approval.count': must be between 1 and 100 (got 0)");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nrequire_approval = { count = 1 }\n"),
              main_ + ":8: key 'policy.rule.require_approval': needs approvers (for example [\"group:sec-leads\"])");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nrequire_approval = { approvers = [\"group:db-admin\"] }\n"),
              main_ +
                  ":8: key 'policy.rule.require_approval.approvers': 'group:db-admin' is the group of role "
                  "'db-admin'; approvers must come from a standing group, not from a grant");
}

TEST_F(PolicyLoad, NamesMustExist) {
    const std::string rule = "[[policy.rule]]\nname = \"x\"\nallow = true\n";
    EXPECT_EQ(rule_error(rule + "roles = [\"web-admin\"]\n"),
              main_ + ":9: key 'policy.rule.roles': 'web-admin' is not a configured role");
    EXPECT_EQ(rule_error(rule + "has_grant = \"web-admin\"\n"),
              main_ + ":9: key 'policy.rule.has_grant': 'web-admin' is not a configured role");
    EXPECT_EQ(rule_error("[[policy.rule]]\nname = \"x\"\nrequire_grant = \"web-admin\"\n"),
              main_ + ":8: key 'policy.rule.require_grant': 'web-admin' is not a configured role");
    EXPECT_EQ(rule_error(rule + "not_networks = [\"local\", \"vpn\"]\n"),
              main_ + ":9: key 'policy.rule.not_networks': 'vpn' is not a network list ([policy.networks.vpn])");
    EXPECT_EQ(rule_error(rule + "schedule = \"business\"\n"),
              main_ + ":9: key 'policy.rule.schedule': 'business' is not a schedule ([policy.schedules.business])");
    EXPECT_EQ(rule_error(rule + "not_schedule = \"business\"\n"),
              main_ +
                  ":9: key 'policy.rule.not_schedule': 'business' is not a schedule "
                  "([policy.schedules.business])");
    EXPECT_EQ(
        rule_error(rule + "groups = [\"dbas\", \"nosuchgroup\"]\n"),
        main_ + ":9: key 'policy.rule.groups': group 'nosuchgroup' does not exist in " + *options_.system_group_file);
    EXPECT_EQ(rule_error(rule + "groups = [\"db-admin\"]\n"),
              main_ +
                  ":9: key 'policy.rule.groups': 'db-admin' is the group of role 'db-admin'; policy must come "
                  "from a standing group, not from a grant");
}

TEST_F(PolicyLoad, GroupsComeFromTheSystemDatabaseWithoutATestFile) {
    options_.system_group_file.reset();
    // Every Linux system has a root group; getgrnam_r finds it.
    write_main("[[policy.rule]]\nname = \"x\"\ngroups = [\"root\"]\nallow = true\n");
    EXPECT_EQ(load_ok().policy.rules.size(), 1u);
    EXPECT_EQ(error_for("[[policy.rule]]\nname = \"x\"\ngroups = [\"elevate-no-such-group\"]\nallow = true\n"),
              main_ +
                  ":3: key 'policy.rule.groups': group 'elevate-no-such-group' does not exist in the group "
                  "database");
}

TEST_F(PolicyLoad, DropInsAddRulesAndLists) {
    write_main(std::string(kDbAdmin) + "[[policy.rule]]\nname = \"a\"\nnetworks = [\"vpn\"]\nallow = true\n");
    const std::string drop_in =
        write_drop_in("10-vpn.conf",
                      "[policy.networks.vpn]\ncidrs = [\"10.8.0.0/16\"]\n[[policy.rule]]\nname = "
                      "\"b\"\ndeny = \"no\"\n");
    Config config = load_ok();
    ASSERT_EQ(config.policy.rules.size(), 2u);
    EXPECT_EQ(config.policy.rules[1].name, "b");
    EXPECT_EQ(config.policy.rules[1].file, drop_in);
    ASSERT_NE(config.policy.find_network("vpn"), nullptr);

    write_drop_in("20-dup.conf", "[[policy.rule]]\nname = \"a\"\ndeny = \"no\"\n");
    EXPECT_EQ(load_error(),
              dir_ + "/elevate.conf.d/20-dup.conf:2: key 'policy.rule.name': duplicate rule 'a' (first defined at " +
                  main_ + ":6)");
}

// A rule that a broader earlier sudo rule shadows (the rule header is line 12).
constexpr const char* kAliceSudoDenied = R"(
[[policy.rule]]
name = "alice-sudo-denied"
users = ["alice"]
services = ["sudo"]
deny = "no"
)";

TEST_F(PolicyLoad, ShadowedRuleWarns) {
    auto warnings = warnings_for(std::string(R"(
[[policy.rule]]
name = "sudo-needs-totp"
services = ["sudo"]
require_factor = "totp"
)") + kAliceSudoDenied);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0], main_ + ":12: rule 'alice-sudo-denied' can never apply: rule 'sudo-needs-totp' (" + main_ +
                               ":7) matches every request it does");
}

TEST_F(PolicyLoad, ReportOnlyRuleDoesNotShadow) {
    EXPECT_TRUE(warnings_for(std::string(R"(
[[policy.rule]]
name = "trial"
mode = "report-only"
services = ["sudo"]
require_factor = "totp"
)") + kAliceSudoDenied)
                    .empty());
}

TEST_F(PolicyLoad, ShadowNeedsEveryConditionAsNarrow) {
    auto pair = [](const std::string& a, const std::string& b) {
        return "[policy.networks.office]\ncidrs = [\"10.0.0.0/8\"]\n[policy.networks.vpn]\ncidrs = "
               "[\"192.0.2.0/24\"]\n[[policy.rule]]\nname = \"a\"\nallow = true\n" +
               a + "\n[[policy.rule]]\nname = \"b\"\ndeny = \"no\"\n" + b + "\n";
    };
    // Broader, or set where the earlier rule is not: no warning.
    EXPECT_TRUE(warnings_for(pair("users = [\"alice\"]", "")).empty());
    EXPECT_TRUE(warnings_for(pair("users = [\"alice\"]", "users = [\"alice\", \"bob\"]")).empty());
    EXPECT_TRUE(warnings_for(pair("not_networks = [\"office\", \"vpn\"]", "not_networks = [\"office\"]")).empty());
    EXPECT_TRUE(warnings_for(pair("risk = \"high\"", "risk = \"medium\"")).empty());
    EXPECT_TRUE(warnings_for(pair("tty = true", "tty = false")).empty());
    EXPECT_TRUE(warnings_for(pair("tty = true", "")).empty());
    // As narrow or narrower: a warning.
    EXPECT_EQ(warnings_for(pair("users = [\"alice\", \"bob\"]", "users = [\"bob\"]")).size(), 1u);
    EXPECT_EQ(warnings_for(pair("not_networks = [\"office\"]", "not_networks = [\"vpn\", \"office\"]")).size(), 1u);
    EXPECT_EQ(warnings_for(pair("risk = \"medium\"", "risk = \"high\"")).size(), 1u);
    EXPECT_EQ(warnings_for(pair("", "tty = false\nroles = [\"db-admin\"]")).size(), 1u);
    // A report-only rule after an enforced one is not warned about.
    EXPECT_TRUE(warnings_for(pair("", "mode = \"report-only\"")).empty());
}

TEST_F(PolicyLoad, RiskKeys) {
    write_main(R"(
[risk]
low = 5
medium = 20
high = 60
half_life = "12h"
retention = "7d"
v4_prefix = 16
v6_prefix = 48
spray_users = 3
spray_window = "5m"
hour_history = 10
hour_margin = 3
source_attempts = 10
source_window = "30s"
max_sources = 1000
max_events_per_user = 100

[risk.weights]
wrong_code = 1
replayed_code = 2
push_denied = 3
fraud = 4
spray = 5
new_network = 6
unusual_hour = 7
ineligible = 8
break_glass = 0
)");
    const RiskConfig r = load_ok().risk;
    EXPECT_EQ(r.low, 5);
    EXPECT_EQ(r.medium, 20);
    EXPECT_EQ(r.high, 60);
    EXPECT_EQ(r.half_life, 12 * 3600);
    EXPECT_EQ(r.retention, 7 * 86400);
    EXPECT_EQ(r.v4_prefix, 16);
    EXPECT_EQ(r.v6_prefix, 48);
    EXPECT_EQ(r.spray_users, 3);
    EXPECT_EQ(r.spray_window, 300);
    EXPECT_EQ(r.hour_history, 10);
    EXPECT_EQ(r.hour_margin, 3);
    EXPECT_EQ(r.source_attempts, 10);
    EXPECT_EQ(r.source_window, 30);
    EXPECT_EQ(r.max_sources, 1000);
    EXPECT_EQ(r.max_events_per_user, 100);
    EXPECT_EQ(r.weights.wrong_code, 1);
    EXPECT_EQ(r.weights.replayed_code, 2);
    EXPECT_EQ(r.weights.push_denied, 3);
    EXPECT_EQ(r.weights.fraud, 4);
    EXPECT_EQ(r.weights.spray, 5);
    EXPECT_EQ(r.weights.new_network, 6);
    EXPECT_EQ(r.weights.unusual_hour, 7);
    EXPECT_EQ(r.weights.ineligible, 8);
    EXPECT_EQ(r.weights.break_glass, 0);
}

TEST_F(PolicyLoad, RiskErrors) {
    EXPECT_EQ(error_for("[risk]\nmedium = 10\n"), main_ + ":1: key 'risk.medium': must be above risk.low (10 <= 10)");
    EXPECT_EQ(error_for("[risk]\nhigh = 30\n"), main_ + ":1: key 'risk.high': must be above risk.medium (30 <= 40)");
    EXPECT_EQ(error_for("[risk]\nlow = 0\n"), main_ + ":2: key 'risk.low': must be between 1 and 1000000 (got 0)");
    EXPECT_EQ(error_for("[risk]\nv4_prefix = 7\n"),
              main_ + ":2: key 'risk.v4_prefix': must be between 8 and 32 (got 7)");
    EXPECT_EQ(error_for("[risk]\nv6_prefix = 129\n"),
              main_ + ":2: key 'risk.v6_prefix': must be between 16 and 128 (got 129)");
    EXPECT_EQ(error_for("[risk]\nspray_users = 0\n"),
              main_ + ":2: key 'risk.spray_users': must be between 1 and 10000 (got 0)");
    EXPECT_EQ(error_for("[risk]\nhalf_life = 86400\n"),
              main_ + ":2: key 'risk.half_life': must be a duration string such as \"30s\" or \"1h\"");
    EXPECT_EQ(error_for("[risk.weights]\nfraud = 1001\n"),
              main_ + ":2: key 'risk.weights.fraud': must be between 0 and 1000 (got 1001)");
    EXPECT_EQ(error_for("[risk.weights]\nfrauds = 1\n"),
              main_ + ":2: unknown key 'risk.weights.frauds' (did you mean 'fraud'?)");
    EXPECT_EQ(error_for("[risk]\nweights = 1\n"), main_ + ":2: key 'risk.weights': must be a table ([risk.weights])");
}

}  // namespace
