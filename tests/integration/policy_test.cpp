// Conditional access through the real daemon (docs/POLICY.md): rules decide
// sshd and sudo requests by their source, report-only rules are audited and
// change nothing, and `elevatectl explain` gives the same answer as the real
// request (golden text and --json). The callers here are root peers (as sshd
// and sudo are), so their PAM_RHOST counts.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace elevate;
using namespace elevate::test;
using nlohmann::json;

namespace {

const char kPolicy[] = R"(
[[role]]
name = "db-admin"
gid = 61093
eligible_users = ["root"]

[policy.networks.office]
cidrs = ["10.20.0.0/16", "2001:db8:20::/48"]

[[policy.rule]]
name = "outside-office-denied"
services = ["sshd"]
not_networks = ["office"]
deny = "sshd only from the office network"

[[policy.rule]]
name = "trial-deny-sudo"
mode = "report-only"
services = ["sudo"]
deny = "sudo would be refused"
)";

// authorize as sshd or sudo (a root peer) would send it.
wire::Reply authorize(Daemon& daemon, const std::string& service, const std::string& rhost,
                      const std::string& role = "") {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, "root");
    w->put_str(wire::Tag::Service, service);
    if (!rhost.empty()) w->put_str(wire::Tag::RemoteHost, rhost);
    if (!role.empty()) w->put_str(wire::Tag::Role, role);
    auto r = daemon.call(wire::Op::Authorize, w.take());
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(*r);
}

TEST(Policy, SshdFromOutsideTheOfficeIsDeniedAndFromInsideAskedForACode) {
    Daemon daemon(kPolicy);
    daemon.start();
    daemon.enroll("root");

    auto outside = authorize(daemon, "sshd", "192.0.2.7");
    EXPECT_EQ(outside.status, wire::Status::Denied);
    EXPECT_EQ(outside.message, "sshd only from the office network");

    auto inside = authorize(daemon, "sshd", "10.20.3.4");
    EXPECT_EQ(inside.status, wire::Status::Ok) << inside.message;
    bool need_code = false;
    EXPECT_TRUE(inside.fields.get_bool(wire::Tag::NeedCode, &need_code) && need_code);

    auto v6 = authorize(daemon, "sshd", "2001:db8:20::9");
    EXPECT_EQ(v6.status, wire::Status::Ok) << v6.message;

    // sshd with no remote host at all: unknown, which no trusted network matches.
    auto unknown = authorize(daemon, "sshd", "");
    EXPECT_EQ(unknown.status, wire::Status::Denied);

    const std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("sshd only from the office network; rule outside-office-denied"), std::string::npos) << audit;
}

TEST(Policy, ReportOnlyRuleIsAuditedAndChangesNothing) {
    Daemon daemon(kPolicy);
    daemon.start();
    daemon.enroll("root");
    auto sudo = authorize(daemon, "sudo", "", "db-admin");
    EXPECT_EQ(sudo.status, wire::Status::Ok) << sudo.message;
    const std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("report-only: rule trial-deny-sudo would have denied"), std::string::npos) << audit;
}

TEST(Policy, ExplainAgreesWithTheRealAnswer) {
    Daemon daemon(kPolicy);
    daemon.start();
    daemon.enroll("root");
    const size_t audit_before = read_file(daemon.audit_path()).size();

    auto denied = daemon.ctl({"explain", "--service", "sshd", "--from", "192.0.2.7", "--at", "2026-12-02T10:00Z"});
    EXPECT_EQ(denied.exit_code, 1) << denied.out << denied.err;
    EXPECT_EQ(denied.out,
              "Request:  root through sshd from 192.0.2.7 at 2026-12-02 10:00 UTC\n"
              "Risk:     none\n"
              "\n"
              "  no      builtin:high-risk: the request is for no role\n"
              "  no      builtin:high-risk-sshd: user risk is none, below high\n"
              "  no      builtin:high-risk-source: source risk is none, below high\n"
              "  no      builtin:medium-risk: user risk is none, below medium\n"
              "  match   outside-office-denied: all conditions hold\n"
              "          deny: sshd only from the office network\n"
              "\n"
              "Decided by: outside-office-denied\n"
              "Outcome:    deny: sshd only from the office network\n");
    EXPECT_EQ((authorize(daemon, "sshd", "192.0.2.7")).message, "sshd only from the office network");

    auto asked = daemon.ctl({"--json", "explain", "--role", "db-admin", "--from", "10.20.1.1"});
    EXPECT_EQ(asked.exit_code, 0) << asked.out << asked.err;
    json j = json::parse(asked.out);
    EXPECT_EQ(j["outcome"], "factor");
    EXPECT_EQ(j["rule"], "default");
    EXPECT_EQ(j["service"], "sudo");
    EXPECT_EQ(j["source"], "10.20.1.1");
    EXPECT_EQ(j["result"], "asked for a verification code; then db-admin for 1h");
    ASSERT_EQ(j["rules"].size(), 6u) << asked.out;
    EXPECT_EQ(j["rules"][5]["rule"], "trial-deny-sudo");
    EXPECT_EQ(j["rules"][5]["mode"], "report-only");
    EXPECT_EQ(j["rules"][5]["matched"], true);

    // A malformed time is a usage error, before anything is sent.
    auto bad = daemon.ctl({"explain", "--at", "tomorrow"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("--at: 'tomorrow' is not a time"), std::string::npos) << bad.err;

    // Explaining acts on nothing: the first explain call, the json one and
    // the refused one added no audit record; only the real authorize did.
    const std::string audit = read_file(daemon.audit_path()).substr(audit_before);
    EXPECT_EQ(audit.find("\"event\":\"explain\""), std::string::npos);
    size_t lines = 0;
    for (char c : audit) lines += c == '\n';
    EXPECT_EQ(lines, 1u) << audit;
}

TEST(Policy, UsersMayExplainOnlyThemselves) {
    Daemon daemon(kPolicy);
    daemon.start();
    const RunOptions as_nobody{.uid = 65534, .gid = 65534};
    auto other = daemon.ctl({"explain", "--user", "root"}, as_nobody);
    EXPECT_EQ(other.exit_code, 4) << other.out << other.err;
}

}  // namespace

// A user's group list is read once and reused (group_cache, 5 s by
// default), but a change to /etc/group is seen by the very next decision:
// joining the eligible group makes the user eligible at once, leaving it
// makes them ineligible at once.
TEST(Policy, GroupMembershipIsReusedUntilTheGroupFileChanges) {
    struct Group {
        Group() { run({"/usr/sbin/groupadd", "elvt-polg"}); }
        ~Group() { run({"/usr/sbin/groupdel", "elvt-polg"}); }
    } group;
    TestUser user("elvt-polgu");
    TempDir counter;
    const std::string reads = counter.path() + "/reads";
    Daemon daemon(R"(
[[role]]
name = "grouped"
gid = 61094
eligible_groups = ["elvt-polg"]
)");
    daemon.set_env(group_read_counter_env(reads));
    daemon.start();
    daemon.enroll("elvt-polgu");
    auto outcome = [&] {
        auto r = daemon.ctl({"--json", "explain", "--user", "elvt-polgu", "--role", "grouped", "--service", "sudo"});
        return json::parse(r.out)["outcome"].get<std::string>();
    };
    const size_t before = group_reads(reads);
    EXPECT_EQ(outcome(), "deny");
    EXPECT_EQ(outcome(), "deny");
    EXPECT_EQ(group_reads(reads) - before, 1u);  // the second decision reused the first read

    ASSERT_EQ(run({"/usr/sbin/usermod", "-aG", "elvt-polg", "elvt-polgu"}).exit_code, 0);
    EXPECT_EQ(outcome(), "factor");
    EXPECT_EQ(group_reads(reads) - before, 2u);
    ASSERT_EQ(run({"/usr/bin/gpasswd", "-d", "elvt-polgu", "elvt-polg"}).exit_code, 0);
    EXPECT_EQ(outcome(), "deny");
}
