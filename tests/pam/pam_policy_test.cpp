// Policy rules (docs/POLICY.md) through real PAM transactions: pam_elevate.so
// under pam_wrapper against a real elevated whose config has [policy]
// networks and rules. The source is sshd's way of telling it, PAM_RHOST,
// which counts only when the caller is root (docs/SOURCES.md). Each case
// checks the PAM return code, what the user was asked and told, and the
// audit record of the decision. TOTP codes come from oathtool.
#include "harness.h"
#include "pam_support.h"

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

using namespace elevate::test;
using namespace elevate::pamtest;
using nlohmann::json;

namespace {

constexpr int kDriftSteps = 10;
const char kPolicyUser[] = "elvt-polu";
const char kOffice[] = "10.1.2.3";
const char kElsewhere[] = "192.0.2.7";
const char kQuarantine[] = "198.51.100.20";
const char kCodePrompt[] = "Verification code: ";

const char kConfig[] = R"(
[totp]
drift_steps = 10

[lockout]
max_failures = 5
window = "10m"
duration = "10m"

[[role]]
name = "db-admin"
gid = 61131
eligible_users = ["root", "elvt-polu"]
default_duration = "1h"
max_duration = "2h"

[[role]]
name = "ops"
gid = 61132
eligible_users = ["root"]

[[role]]
name = "web"
gid = 61133
eligible_users = ["root"]

[policy.networks.office]
cidrs = ["10.1.2.0/24"]

[policy.networks.quarantine]
cidrs = ["198.51.100.0/24"]

[[policy.rule]]
name = "quarantine-denied"
networks = ["quarantine"]
deny = "no elevation from the quarantine network"

[[policy.rule]]
name = "sshd-needs-office"
services = ["sshd"]
roles = ["db-admin"]
not_networks = ["office"]
deny = "db-admin over ssh only from the office"

[[policy.rule]]
name = "ops-every-time"
roles = ["ops"]
require_factor = "totp"
every_time = true

[[policy.rule]]
name = "office-allowed"
networks = ["office"]
allow = true

[[policy.rule]]
name = "polu-only-from-office"
users = ["elvt-polu"]
deny = "elvt-polu only from the office"

[[policy.rule]]
name = "outside-code-every-time"
roles = ["db-admin"]
not_networks = ["office"]
require_factor = "totp"
every_time = true
)";

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// One pam_authenticate through pam_start with our own conversation: what
// the module returned, asked and said.
struct Attempt {
    int rc = -1;
    ScriptedConv conv;

    std::string errors() const {
        std::string out;
        for (const auto& [style, text] : conv.seen)
            if (style == PAM_ERROR_MSG) out += text + "\n";
        return out;
    }
};

// `answers` are given to the prompts in order; a prompt beyond them gets no
// answer, which the module turns into PAM_CONV_ERR.
Attempt authenticate(const std::string& service, const std::string& user, const std::string& rhost,
                     std::vector<std::string> answers = {}) {
    Attempt a;
    a.conv.answers = std::move(answers);
    pam_conv c = a.conv.conv();
    a.rc = run_direct({service, user, &c, rhost, "", {PAMTEST_AUTHENTICATE}}).at(0);
    return a;
}

::testing::AssertionResult expect_attempt(const Attempt& a, int rc, const std::vector<std::string>& prompts) {
    if (a.rc == rc && a.conv.prompts() == prompts) return ::testing::AssertionSuccess();
    std::string seen;
    for (const auto& p : a.conv.prompts()) seen += "[" + p + "]";
    return ::testing::AssertionFailure() << "rc " << pam_strerror(nullptr, a.rc) << " (want "
                                         << pam_strerror(nullptr, rc) << "), prompts " << seen << ", errors "
                                         << a.errors();
}

class PamPolicy : public ::testing::Test {
protected:
    void SetUp() override {
        daemon.start();
        secret = daemon.enroll("root");
        // Each PAM service activates its role at auth, like sudo-elevate;
        // "sshd" is the name sshd gives PAM (and the rules' services).
        for (const auto& [service, role] : {std::pair{"sudo", "db-admin"}, std::pair{"sshd", "db-admin"},
                                            std::pair{"sudo-ops", "ops"}, std::pair{"sudo-web", "web"}})
            write_service(service, elevate_line("auth", "required", daemon.socket(), std::string("activate=") + role));
    }

    // Codes of ever later time-steps, so none is a replay (drift_steps = 10).
    std::string next_code() { return oathtool_code(secret, now() + 30 * step_++); }

    void activate_with_ctl(const std::string& role) {
        auto r = daemon.ctl({"activate", role}, {.input = next_code() + "\n"});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    }

    json grants(const std::string& user = "root") {
        auto r = daemon.ctl({"--json", "status", user});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        return json::parse(r.out)["grants"];
    }

    void ctl_ok(const std::vector<std::string>& args) {
        auto r = daemon.ctl(args);
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    }

    std::vector<json> audit() {
        std::vector<json> records;
        std::ifstream f(daemon.audit_path());
        for (std::string line; std::getline(f, line);)
            if (!line.empty()) records.push_back(json::parse(line));
        return records;
    }

    // The latest audit record of `event` about `user`, or null.
    json last_audit(const std::string& event, const std::string& user = "root") {
        json found;
        for (const json& r : audit())
            if (r["event"] == event && r["user"] == user) found = r;
        return found;
    }

    // The latest record of `event` has this result, source and reason text.
    ::testing::AssertionResult audited(const std::string& event, const std::string& result, const std::string& source,
                                       const std::string& reason_part, const std::string& user = "root") {
        json r = last_audit(event, user);
        if (r.is_null()) return ::testing::AssertionFailure() << "no " << event << " record for " << user;
        if (r["result"] == result && r["source"] == source && contains(r["reason"].get<std::string>(), reason_part))
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << "want " << result << ", " << source << ", \"" << reason_part << "\"; got " << r.dump();
    }

    Daemon daemon{kConfig};
    std::string secret;

private:
    int step_ = 0;
};

TEST_F(PamPolicy, OfficeAsksNothingMoreInsideAGrantWhileElsewhereTheCodeIsRequired) {
    activate_with_ctl("db-admin");

    // From the office: rule office-allowed leaves the role's own terms, and
    // the active grant covers sudo without a prompt.
    EXPECT_TRUE(expect_attempt(authenticate("sudo", "root", kOffice), PAM_SUCCESS, {}));
    EXPECT_TRUE(audited("authorize", "ok", "sudo from 10.1.2.3", "rule office-allowed"));

    // From elsewhere: rule outside-code-every-time asks for a code, even
    // inside the grant. Unanswered, the transaction fails.
    EXPECT_TRUE(expect_attempt(authenticate("sudo", "root", kElsewhere), PAM_CONV_ERR, {kCodePrompt}));
    EXPECT_TRUE(
        audited("authorize", "ok", "sudo from 192.0.2.7", "asked for a second factor; rule outside-code-every-time"));

    Attempt right = authenticate("sudo", "root", kElsewhere, {next_code()});
    EXPECT_TRUE(expect_attempt(right, PAM_SUCCESS, {kCodePrompt}));
    EXPECT_TRUE(audited("verify", "ok", "sudo from 192.0.2.7", ""));

    Attempt wrong = authenticate("sudo", "root", kElsewhere, {wrong_totp_code(secret, kDriftSteps)});
    EXPECT_TRUE(expect_attempt(wrong, PAM_AUTH_ERR, {kCodePrompt}));
    EXPECT_TRUE(contains(wrong.errors(), "wrong verification code")) << wrong.errors();
    EXPECT_TRUE(audited("verify", "denied", "sudo from 192.0.2.7", "wrong verification code"));

    // The code was verified inside the grant: no second grant.
    EXPECT_EQ(grants().size(), 1u) << grants().dump();
}

TEST_F(PamPolicy, DenyRuleForANetworkRefusesWithItsMessageAndIsAudited) {
    for (const char* service : {"sudo", "sshd"}) {
        // Refused before any prompt: nothing to answer.
        Attempt a = authenticate(service, "root", kQuarantine);
        EXPECT_TRUE(expect_attempt(a, PAM_AUTH_ERR, {})) << service;
        EXPECT_EQ(a.errors(), "no elevation from the quarantine network\n") << service;
        EXPECT_TRUE(audited("authorize", "denied", std::string(service) + " from 198.51.100.20",
                            "no elevation from the quarantine network; rule quarantine-denied"))
            << service;
    }
    EXPECT_TRUE(grants().empty());
}

TEST_F(PamPolicy, HighRiskIsDeniedByTheBuiltInRuleUntilDismissed) {
    ctl_ok({"risk", "confirm", "root", "--reason", "INC-31: phished"});
    const std::string blocked =
        "elevation is blocked for root: their risk is high; an administrator must review it (elevatectl risk show "
        "root)\n";
    // Even from the office, which a rule otherwise allows.
    Attempt denied = authenticate("sudo", "root", kOffice, {next_code()});
    EXPECT_TRUE(expect_attempt(denied, PAM_AUTH_ERR, {}));
    EXPECT_EQ(denied.errors(), blocked);
    EXPECT_TRUE(audited("authorize", "denied", "sudo from 10.1.2.3", "rule builtin:high-risk"));
    EXPECT_TRUE(grants().empty());

    ctl_ok({"risk", "dismiss", "root", "--reason", "INC-31 closed"});
    Attempt again = authenticate("sudo", "root", kOffice, {next_code()});
    EXPECT_TRUE(expect_attempt(again, PAM_SUCCESS, {kCodePrompt}));
    EXPECT_TRUE(audited("activate", "ok", "sudo from 10.1.2.3", "rule office-allowed"));
    json g = grants();
    ASSERT_EQ(g.size(), 1u) << g.dump();
    EXPECT_EQ(g[0]["role"], "db-admin");
}

TEST_F(PamPolicy, SshdAndSudoGetDifferentAnswersForTheSameUserAndSource) {
    Attempt sshd = authenticate("sshd", "root", kElsewhere, {next_code()});
    EXPECT_TRUE(expect_attempt(sshd, PAM_AUTH_ERR, {}));
    EXPECT_EQ(sshd.errors(), "db-admin over ssh only from the office\n");
    EXPECT_TRUE(audited("authorize", "denied", "sshd from 192.0.2.7",
                        "db-admin over ssh only from the office; rule sshd-needs-office"));
    EXPECT_TRUE(grants().empty());

    // sudo from the same address: rule sshd-needs-office is not about sudo;
    // outside-code-every-time asks for the code, and it activates the role.
    Attempt sudo = authenticate("sudo", "root", kElsewhere, {next_code()});
    EXPECT_TRUE(expect_attempt(sudo, PAM_SUCCESS, {kCodePrompt}));
    EXPECT_TRUE(audited("activate", "ok", "sudo from 192.0.2.7", "rule outside-code-every-time"));
    ASSERT_EQ(grants().size(), 1u);

    // sshd from the office is not refused: the grant covers it.
    EXPECT_TRUE(expect_attempt(authenticate("sshd", "root", kOffice), PAM_SUCCESS, {}));
    EXPECT_TRUE(audited("authorize", "ok", "sshd from 10.1.2.3", "rule office-allowed"));
}

TEST_F(PamPolicy, NonRootCallersRemoteHostIsIgnored) {
    TestUser user(kPolicyUser);
    const std::string user_secret = daemon.enroll(user.name());
    const std::string child_code = oathtool_code(user_secret, now());

    // The user's own program loads pam_elevate and claims the office as its
    // PAM_RHOST: the daemon does not believe it, and the request is judged
    // as coming from nowhere known, so polu-only-from-office denies it.
    const std::string runtime_dir = std::getenv("PAM_WRAPPER_RUNTIME_DIR");
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(user.gid()) != 0 || setuid(user.uid()) != 0) _exit(100);
        int failures = 0;
        // Failures are reported on stderr (no gtest assertions in a child).
        Attempt a = authenticate("sudo", user.name(), kOffice, {child_code});
        if (::testing::AssertionResult r = expect_attempt(a, PAM_AUTH_ERR, {}); !r) {
            failures |= 1;
            std::fprintf(stderr, "child: %s\n", r.message());
        }
        if (a.errors() != "elvt-polu only from the office\n") {
            failures |= 2;
            std::fprintf(stderr, "child: errors: %s\n", a.errors().c_str());
        }
        discard_child_runtime_dir(runtime_dir);
        _exit(failures);  // no exit(): the test process's atexit handlers are not the child's
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFEXITED(wstatus));
    EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "failure bits: " << WEXITSTATUS(wstatus);
    json denied = last_audit("authorize", user.name());
    ASSERT_FALSE(denied.is_null());
    EXPECT_EQ(denied["result"], "denied") << denied.dump();
    EXPECT_EQ(denied["reason"], "elvt-polu only from the office; rule polu-only-from-office") << denied.dump();
    // The test may run on a terminal ("sudo from unknown on pts/N").
    EXPECT_EQ(denied["source"].get<std::string>().rfind("sudo from unknown", 0), 0u) << denied.dump();
    EXPECT_TRUE(grants(user.name()).empty());

    // The same claim from root (as sshd or sudo make it) counts: the office
    // rule allows, and the code activates the role.
    Attempt root_caller = authenticate("sudo", user.name(), kOffice, {oathtool_code(user_secret, now() + 30)});
    EXPECT_TRUE(expect_attempt(root_caller, PAM_SUCCESS, {kCodePrompt}));
    EXPECT_TRUE(audited("activate", "ok", "sudo from 10.1.2.3", "rule office-allowed", user.name()));
    EXPECT_EQ(grants(user.name()).size(), 1u);
}

TEST_F(PamPolicy, EveryTimeAsksForACodeEvenInsideAnActiveGrant) {
    activate_with_ctl("ops");
    activate_with_ctl("web");
    const json before = grants();
    ASSERT_EQ(before.size(), 2u) << before.dump();

    // web has no such rule: its grant covers sudo without a prompt.
    EXPECT_TRUE(expect_attempt(authenticate("sudo-web", "root", ""), PAM_SUCCESS, {}));

    // ops-every-time: a prompt inside the grant; unanswered it fails, with
    // the right code it passes and adds no grant; the same code again is a replay.
    EXPECT_TRUE(expect_attempt(authenticate("sudo-ops", "root", ""), PAM_CONV_ERR, {kCodePrompt}));
    json asked = last_audit("authorize");
    EXPECT_EQ(asked["role"], "ops") << asked.dump();
    EXPECT_EQ(asked["reason"], "asked for a second factor; rule ops-every-time") << asked.dump();
    EXPECT_FALSE(asked["grant_id"].get<std::string>().empty()) << asked.dump();

    const std::string code = next_code();
    EXPECT_TRUE(expect_attempt(authenticate("sudo-ops", "root", "", {code}), PAM_SUCCESS, {kCodePrompt}));
    EXPECT_EQ(grants(), before);

    Attempt replay = authenticate("sudo-ops", "root", "", {code});
    EXPECT_TRUE(expect_attempt(replay, PAM_AUTH_ERR, {kCodePrompt}));
    EXPECT_TRUE(contains(replay.errors(), "already used")) << replay.errors();
}

// A code asked for inside a grant is judged by the rules for the grant's
// role (the ones that asked for it), not as a plain second factor: under
// `default = "deny"`, the office's every-time rule for ops lets the right
// code in, and elsewhere nothing does.
TEST(PamPolicyDefaultDeny, ACodeInsideAGrantIsJudgedByTheRulesThatAskedForIt) {
    Daemon daemon{R"(
[totp]
drift_steps = 10

[[role]]
name = "ops"
gid = 61134
eligible_users = ["root"]

[policy]
default = "deny"
deny_message = "no rule allows this"

[policy.networks.office]
cidrs = ["10.1.2.0/24"]

[[policy.rule]]
name = "cli"
services = ["elevatectl"]
allow = true

[[policy.rule]]
name = "office-ops"
roles = ["ops"]
networks = ["office"]
require_factor = "totp"
every_time = true
)"};
    daemon.start();
    const std::string secret = daemon.enroll("root");
    int step = 0;
    auto next_code = [&] { return oathtool_code(secret, now() + 30 * step++); };
    auto r = daemon.ctl({"activate", "ops"}, {.input = next_code() + "\n"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    write_service("sudo-ops-deny", elevate_line("auth", "required", daemon.socket(), "activate=ops"));

    Attempt in_office = authenticate("sudo-ops-deny", "root", kOffice, {next_code()});
    EXPECT_TRUE(expect_attempt(in_office, PAM_SUCCESS, {kCodePrompt}));
    json verified;
    std::ifstream f(daemon.audit_path());
    for (std::string line; std::getline(f, line);)
        if (!line.empty() && json::parse(line)["event"] == "verify") verified = json::parse(line);
    ASSERT_FALSE(verified.is_null());
    EXPECT_EQ(verified["result"], "ok") << verified.dump();
    EXPECT_EQ(verified["role"], "ops") << verified.dump();
    EXPECT_TRUE(contains(verified["reason"].get<std::string>(), "code accepted; rule office-ops")) << verified.dump();

    Attempt elsewhere = authenticate("sudo-ops-deny", "root", kElsewhere, {next_code()});
    EXPECT_TRUE(expect_attempt(elsewhere, PAM_AUTH_ERR, {}));
    EXPECT_TRUE(contains(elsewhere.errors(), "no rule allows this")) << elsewhere.errors();
}

}  // namespace
