// pam_elevate.so in real PAM stacks (pam_wrapper + libpamtest) against a
// real elevated: JIT activation at the prompt, wrong and replayed codes,
// lockout, account without and with a grant, expiry mid-test, reauth,
// daemon down (secure and open), conversation failures, break-glass, strict
// options, sessions, and a non-root caller. TOTP codes come from oathtool.
#include "harness.h"
#include "pam_support.h"

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <thread>

using namespace elevate::test;
using namespace elevate::pamtest;
using nlohmann::json;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 10

[lockout]
max_failures = 3
window = "10m"
duration = "10m"

[[role]]
name = "db-admin"
gid = 61101
eligible_users = ["root", "elvt-pamu"]
default_duration = "45m"
max_duration = "2h"
require_reason = true

[[role]]
name = "web"
gid = 61102
eligible_users = ["root"]
default_duration = "30m"
max_duration = "1h"

[[role]]
name = "quick"
gid = 61103
eligible_users = ["root"]
default_duration = "2s"
max_duration = "1h"
)";

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

class PamStack : public ::testing::Test {
protected:
    void SetUp() override {
        daemon.start();
        secret = daemon.enroll("root");
    }

    // A code for the time-step `offset` steps from now: distinct offsets
    // give distinct codes that are each valid (drift_steps = 10).
    std::string code(int offset = 0) { return oathtool_code(secret, now() + offset * 30); }

    // Six digits that are not the code of any step the daemon accepts.
    std::string wrong_code() { return wrong_totp_code(secret, 10); }

    std::string line(const std::string& type, const std::string& control, const std::string& args = "") {
        return elevate_line(type, control, daemon.socket(), args);
    }

    json status(const std::string& user = "root") {
        auto r = daemon.ctl({"--json", "status", user});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        return json::parse(r.out);
    }

    void activate_with_ctl(const std::string& role, const std::string& reason, int offset) {
        auto r = daemon.ctl({"activate", role, "--reason", reason}, {.input = code(offset) + "\n"});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    }

    std::string audit() { return read_file(daemon.audit_path()); }
    // How many audit records of `event` the daemon has written.
    size_t audit_events(const std::string& event) {
        const std::string needle = "\"event\":\"" + event + "\"";
        const std::string text = audit();
        size_t n = 0;
        for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
        return n;
    }

    Daemon daemon{kRoles};
    std::string secret;
};

}  // namespace

TEST_F(PamStack, JitActivationWithReasonAndCodeCreatesGrant) {
    write_service("jit", line("auth", "required", "activate=db-admin"));
    const std::string c = code();
    LogCapture log;
    Conversation conv({c}, {"INC-4711"});
    ASSERT_TRUE(run_cases("jit", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_TRUE(contains(conv.all_infos(), "Granted db-admin until ")) << conv.all_infos();
    EXPECT_TRUE(contains(conv.all_infos(), " UTC")) << conv.all_infos();
    EXPECT_TRUE(conv.errors().empty()) << conv.all_errors();

    json s = status();
    ASSERT_EQ(s["grants"].size(), 1u) << s.dump();
    EXPECT_EQ(s["grants"][0]["role"], "db-admin");
    EXPECT_EQ(s["grants"][0]["reason"], "INC-4711");
    EXPECT_EQ(s["grants"][0]["end"].get<int64_t>() - s["grants"][0]["start"].get<int64_t>(), 45 * 60);

    // The code appears in no log and no audit record.
    std::string logged = log.text();
    EXPECT_TRUE(contains(logged, "allowed root")) << logged;
    EXPECT_FALSE(contains(logged, c)) << logged;
    EXPECT_FALSE(contains(audit(), c));

    // Within the grant the next sudo does not prompt: no answers are given,
    // so any prompt would fail the conversation.
    Conversation again;
    EXPECT_TRUE(run_cases("jit", "root", again, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_EQ(status()["grants"].size(), 1u);
}

TEST_F(PamStack, JitActivationWithoutReasonWhenRoleNeedsNone) {
    write_service("jit-web", line("auth", "required", "activate=web"));
    // No echo-on answer: a reason prompt would fail with PAM_CONV_ERR.
    Conversation conv({code()});
    ASSERT_TRUE(run_cases("jit-web", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_TRUE(contains(conv.all_infos(), "Granted web until")) << conv.all_infos();
    EXPECT_EQ(status()["grants"][0]["role"], "web");
}

TEST_F(PamStack, EmptyReasonIsRefusedWithoutSpendingTheCode) {
    write_service("jit-noreason", line("auth", "required", "activate=db-admin"));
    const std::string c = code();
    Conversation conv({c}, {""});
    ASSERT_TRUE(run_cases("jit-noreason", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(conv.all_errors(), "A reason is required to activate db-admin")) << conv.all_errors();
    EXPECT_TRUE(status()["grants"].empty());
    // The code was never sent, so it still works.
    Conversation retry({c}, {"INC-1"});
    EXPECT_TRUE(run_cases("jit-noreason", "root", retry, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
}

TEST_F(PamStack, WrongCodeIsDenied) {
    write_service("wrong", line("auth", "required", "activate=web"));
    Conversation conv({wrong_code()});
    ASSERT_TRUE(run_cases("wrong", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(conv.all_errors(), "wrong verification code")) << conv.all_errors();
    EXPECT_TRUE(status()["grants"].empty());
}

TEST_F(PamStack, PlainSecondFactorVerifiesAndRefusesAReplayedCode) {
    // No activate=: a plain TOTP step (verify), no grant involved.
    write_service("otp", line("auth", "required"));
    const std::string c = code();
    Conversation first({c});
    ASSERT_TRUE(run_cases("otp", "root", first, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_TRUE(status()["grants"].empty());

    Conversation replay({c});
    ASSERT_TRUE(run_cases("otp", "root", replay, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(replay.all_errors(), "already used")) << replay.all_errors();
}

TEST_F(PamStack, ReplayedCodeCannotActivateAgain) {
    write_service("jit-replay", line("auth", "required", "activate=web"));
    const std::string c = code();
    Conversation first({c});
    ASSERT_TRUE(run_cases("jit-replay", "root", first, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    ASSERT_EQ(daemon.ctl({"drop", "web"}).exit_code, 0);
    Conversation replay({c});
    ASSERT_TRUE(run_cases("jit-replay", "root", replay, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(replay.all_errors(), "already used")) << replay.all_errors();
    EXPECT_TRUE(status()["grants"].empty());
}

TEST_F(PamStack, LockoutIsReportedWithoutPrompting) {
    write_service("lock", line("auth", "required", "activate=web"));
    for (int i = 0; i < 3; ++i) {
        Conversation conv({wrong_code()});
        ASSERT_TRUE(run_cases("lock", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)})) << i;
    }
    // Locked now: the daemon says so before any prompt (no answers given:
    // a prompt would end in PAM_CONV_ERR instead of PAM_AUTH_ERR).
    Conversation locked;
    ASSERT_TRUE(run_cases("lock", "root", locked, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(locked.all_errors(), "locked until")) << locked.all_errors();
    // Even a correct code does not help while locked.
    Conversation correct({code()});
    EXPECT_TRUE(run_cases("lock", "root", correct, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
}

TEST_F(PamStack, AccountWithoutGrantIsDeniedWithHowToActivate) {
    write_service("acct", line("account", "required", "require_grant=db-admin"));
    LogCapture log;
    Conversation conv;
    ASSERT_TRUE(run_cases("acct", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED)}));
    std::string errors = conv.all_errors();
    EXPECT_TRUE(contains(errors, "db-admin")) << errors;
    EXPECT_TRUE(contains(errors, "elevatectl activate")) << errors;
    EXPECT_TRUE(contains(log.text(), "denied root")) << log.text();
}

TEST_F(PamStack, AccountWithoutRequireGrantIsNotThisModulesBusiness) {
    write_service("acct-none", line("account", "required") + "account required pam_permit.so\n");
    Conversation conv;
    EXPECT_TRUE(run_cases("acct-none", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}));
}

TEST_F(PamStack, ActiveGrantAuthenticatesWithoutPromptAndPassesAccount) {
    activate_with_ctl("db-admin", "INC-1", 0);
    write_service("granted", line("auth", "required", "activate=db-admin") +
                                 line("account", "required", "require_grant=web,db-admin"));
    Conversation conv;  // no answers: any prompt would fail
    EXPECT_TRUE(run_cases("granted", "root", conv,
                          {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_SETCRED, PAM_SUCCESS),
                           pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}));
    EXPECT_TRUE(conv.errors().empty()) << conv.all_errors();
}

TEST_F(PamStack, AccountReusesTheGrantConfirmedByAuthInTheSameHandleOnly) {
    activate_with_ctl("db-admin", "INC-1", 0);
    write_service(
        "reuse", line("auth", "required", "activate=db-admin") + line("account", "required", "require_grant=db-admin"));
    write_service("account-only", line("account", "required", "require_grant=db-admin"));
    Conversation conv;
    // auth then account in one handle (sudo): the daemon is asked once.
    const size_t before = audit_events("account");
    ASSERT_TRUE(run_cases("reuse", "root", conv,
                          {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}));
    EXPECT_EQ(audit_events("account"), before);
    // account in a handle of its own (sshd's forked auth): the daemon is asked.
    ASSERT_TRUE(run_cases("account-only", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}));
    EXPECT_EQ(audit_events("account"), before + 1);
}

TEST_F(PamStack, ReauthAlwaysPromptsEvenUnderAnActiveGrant) {
    activate_with_ctl("db-admin", "INC-2", 0);
    write_service("reauth", line("auth", "required", "activate=db-admin reauth=always"));
    Conversation unanswered;
    ASSERT_TRUE(run_cases("reauth", "root", unanswered, {pam_test(PAMTEST_AUTHENTICATE, PAM_CONV_ERR)}));

    Conversation answered({code(1)});
    ASSERT_TRUE(run_cases("reauth", "root", answered, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_EQ(status()["grants"].size(), 1u);  // verified, not a second grant

    Conversation wrong({wrong_code()});
    EXPECT_TRUE(run_cases("reauth", "root", wrong, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
}

TEST_F(PamStack, GrantThatExpiresMidTestStopsPassingAccount) {
    write_service("quick",
                  line("auth", "required", "activate=quick") + line("account", "required", "require_grant=quick"));
    Conversation activate({code()});
    ASSERT_TRUE(run_cases("quick", "root", activate,
                          {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}));
    std::this_thread::sleep_for(std::chrono::seconds(3));
    Conversation later;
    ASSERT_TRUE(run_cases("quick", "root", later, {pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED)}));
    EXPECT_TRUE(contains(later.all_errors(), "quick")) << later.all_errors();
}

TEST_F(PamStack, DaemonDownDeniesQuicklyWithReasonUnderFailmodeSecure) {
    write_service("down", line("auth", "required", "activate=web") + line("account", "required", "require_grant=web") +
                              line("session", "required"));
    daemon.stop();
    LogCapture log;
    Conversation conv({code()});
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_cases("down", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL)}));
    auto elapsed = std::chrono::steady_clock::now() - start;
    // Functional bound only (the target is tens of ms; see bench/).
    EXPECT_LT(elapsed, std::chrono::seconds(2));
    std::string logged = log.text();
    EXPECT_TRUE(contains(logged, "denied root (failmode=secure): elevate daemon unavailable")) << logged;
    EXPECT_TRUE(contains(logged, daemon.socket())) << logged;
    EXPECT_TRUE(contains(conv.all_errors(), "unavailable")) << conv.all_errors();

    Conversation acct;
    EXPECT_TRUE(run_cases("down", "root", acct, {pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED)}));
    Conversation session;
    EXPECT_TRUE(run_cases("down", "root", session, {pam_test(PAMTEST_OPEN_SESSION, PAM_SESSION_ERR)}));
}

TEST_F(PamStack, DaemonDownAllowsWithLoudLogUnderFailmodeOpen) {
    write_service("open", line("auth", "required", "activate=web failmode=open") +
                              line("account", "required", "require_grant=web failmode=open") +
                              line("session", "required", "failmode=open"));
    daemon.stop();
    LogCapture log;
    Conversation conv;
    ASSERT_TRUE(run_cases("open", "root", conv,
                          {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
                           pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS), pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS)}));
    std::string logged = log.text();
    EXPECT_TRUE(contains(logged, "SYSLOG(1)")) << logged;  // LOG_ALERT
    EXPECT_TRUE(contains(logged, "failmode=open: allowing root without elevate because connect to " + daemon.socket()))
        << logged;
    EXPECT_TRUE(contains(logged, "failmode=open: opening the session of root without elevate")) << logged;
}

TEST_F(PamStack, ConversationFailuresNeverSucceedAndNeverSpendAFailure) {
    write_service("conv", line("auth", "required", "activate=web"));
    LogCapture log;

    // A NULL answer (libpamtest: a NULL echo-off entry).
    Conversation null_answer;
    EXPECT_TRUE(run_cases("conv", "root", null_answer, {pam_test(PAMTEST_AUTHENTICATE, PAM_CONV_ERR)}));

    // The application's conversation fails.
    ScriptedConv failing;
    failing.mode = ScriptedConv::Mode::ConvErr;
    pam_conv c1 = failing.conv();
    EXPECT_EQ(run_direct({"conv", "root", &c1, "", "", {PAMTEST_AUTHENTICATE}}), std::vector<int>{PAM_CONV_ERR});

    // Success, but no response array at all.
    ScriptedConv no_array;
    no_array.mode = ScriptedConv::Mode::NullResponseArray;
    pam_conv c2 = no_array.conv();
    EXPECT_EQ(run_direct({"conv", "root", &c2, "", "", {PAMTEST_AUTHENTICATE}}), std::vector<int>{PAM_CONV_ERR});

    // An answer array whose answer is NULL.
    ScriptedConv null_resp;
    null_resp.mode = ScriptedConv::Mode::NullAnswer;
    pam_conv c3 = null_resp.conv();
    EXPECT_EQ(run_direct({"conv", "root", &c3, "", "", {PAMTEST_AUTHENTICATE}}), std::vector<int>{PAM_CONV_ERR});

    // No conversation function at all (a non-interactive caller).
    EXPECT_EQ(run_direct({"conv", "root", nullptr, "", "", {PAMTEST_AUTHENTICATE}}), std::vector<int>{PAM_CONV_ERR});

    std::string logged = log.text();
    EXPECT_TRUE(contains(logged, "could not ask for the verification code: the conversation returned no answer"))
        << logged;
    EXPECT_TRUE(contains(logged, "the conversation function failed")) << logged;
    EXPECT_TRUE(contains(logged, "no conversation function")) << logged;

    // Nothing reached the daemon as a failed attempt: still not locked out
    // after five failed conversations with max_failures = 3.
    Conversation ok({code()});
    EXPECT_TRUE(run_cases("conv", "root", ok, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
}

TEST_F(PamStack, PromptOptionAndPromptStyles) {
    write_service("prompt", line("auth", "required", "activate=db-admin [prompt=Enter your elevate code: ]"));
    ScriptedConv conv;
    conv.answers = {"INC-7", code()};
    pam_conv c = conv.conv();
    ASSERT_EQ(run_direct({"prompt", "root", &c, "", "", {PAMTEST_AUTHENTICATE}}), std::vector<int>{PAM_SUCCESS});
    ASSERT_EQ(conv.prompts(), (std::vector<std::string>{"Reason for db-admin: ", "Enter your elevate code: "}));
    EXPECT_EQ(conv.seen[0].first, PAM_PROMPT_ECHO_ON);
    EXPECT_EQ(conv.seen[1].first, PAM_PROMPT_ECHO_OFF);
    EXPECT_EQ(conv.seen[2].first, PAM_TEXT_INFO);

    write_service("default-prompt", line("auth", "required"));
    ScriptedConv plain;
    plain.answers = {code(1)};
    pam_conv c2 = plain.conv();
    ASSERT_EQ(run_direct({"default-prompt", "root", &c2, "", "", {PAMTEST_AUTHENTICATE}}),
              std::vector<int>{PAM_SUCCESS});
    EXPECT_EQ(plain.prompts(), std::vector<std::string>{"Verification code: "});
}

TEST_F(PamStack, QuietShowsNoMessages) {
    write_service("quiet", line("account", "required", "require_grant=db-admin quiet"));
    Conversation conv;
    ASSERT_TRUE(run_cases("quiet", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED)}));
    EXPECT_TRUE(conv.errors().empty()) << conv.all_errors();
}

TEST_F(PamStack, BreakGlassFallsThroughAndIsAudited) {
    const std::string control = "[success=ok ignore=ignore default=die]";
    write_service("bg", line("auth", control, "activate=db-admin breakglass_users=admin2,root") +
                            "auth required pam_permit.so\n" +
                            line("account", control, "require_grant=db-admin breakglass_users=admin2,root") +
                            "account required pam_permit.so\n");
    {
        LogCapture log;
        Conversation conv;  // no prompt for a break-glass user
        ASSERT_TRUE(run_cases("bg", "root", conv,
                              {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}));
        std::string logged = log.text();
        EXPECT_TRUE(contains(logged, "SYSLOG(1)")) << logged;
        EXPECT_TRUE(contains(logged, "emergency access: break-glass user root bypasses elevate in auth")) << logged;
        EXPECT_TRUE(contains(logged, "audited by elevated")) << logged;
    }
    EXPECT_TRUE(contains(audit(), "break-glass")) << audit();
    EXPECT_TRUE(status()["grants"].empty());

    // Anyone else still goes through elevate: an unknown user is denied and
    // default=die stops the stack before pam_permit.
    Conversation other;
    EXPECT_TRUE(run_cases("bg", "elvt-nosuchuser", other, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));

    // Emergency access works when the daemon is down; the log says the
    // daemon did not record it.
    daemon.stop();
    LogCapture log;
    Conversation down;
    EXPECT_TRUE(run_cases("bg", "root", down,
                          {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}));
    EXPECT_TRUE(contains(log.text(), "NOT audited by elevated")) << log.text();
}

TEST_F(PamStack, UnknownOptionOrBadValueIsAServiceError) {
    write_service("typo", line("auth", "required", "requre_grant=db-admin") +
                              line("account", "required", "requre_grant=db-admin") +
                              line("session", "required", "requre_grant=db-admin"));
    LogCapture log;
    Conversation conv({code()});
    EXPECT_TRUE(run_cases("typo", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SERVICE_ERR)}));
    EXPECT_TRUE(run_cases("typo", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_SERVICE_ERR)}));
    EXPECT_TRUE(run_cases("typo", "root", conv, {pam_test(PAMTEST_OPEN_SESSION, PAM_SERVICE_ERR)}));
    EXPECT_TRUE(contains(log.text(), "invalid configuration, failing closed: unknown option \"requre_grant=db-admin\""))
        << log.text();

    for (const char* bad : {"timeout=0", "timeout=61", "timeout=10s", "failmode=maybe", "debug=1", "socket=relative",
                            "activate=Bad!", "reauth=sometimes", "require_grant=a,,b", "timeout=5 timeout=6",
                            "breakglass_users=", "quiet=yes", "activate", "autopush=yes", "autopush autopush",
                            "approval_wait=601", "approval_wait=-1", "approval_wait=", "approval_wait"}) {
        write_service("bad", line("auth", "required", bad));
        Conversation c;
        EXPECT_TRUE(run_cases("bad", "root", c, {pam_test(PAMTEST_AUTHENTICATE, PAM_SERVICE_ERR)})) << bad;
    }
}

TEST_F(PamStack, SessionIsRegisteredAndClosed) {
    activate_with_ctl("db-admin", "INC-3", 0);
    write_service("session", line("session", "required", "activate=db-admin"));
    Conversation conv;
    ASSERT_TRUE(run_cases("session", "root", conv,
                          {pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS), pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS)}));
    std::string a = audit();
    EXPECT_TRUE(contains(a, "session-open")) << a;
    EXPECT_TRUE(contains(a, "session-close")) << a;

    // close_session without an open one in this handle: nothing to do.
    Conversation close_only;
    EXPECT_TRUE(run_cases("session", "root", close_only, {pam_test(PAMTEST_CLOSE_SESSION, PAM_SUCCESS)}));
}

TEST_F(PamStack, UnenrolledUserIsToldWhatToDo) {
    TestUser user("elvt-pamu");
    write_service("unenrolled", line("auth", "required", "activate=db-admin"));
    Conversation conv;
    ASSERT_TRUE(run_cases("unenrolled", user.name(), conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}));
    EXPECT_TRUE(contains(conv.all_errors(), "elevatectl enroll")) << conv.all_errors();
}

TEST_F(PamStack, NonRootCallerIsAnsweredOnlyForItself) {
    TestUser user("elvt-pamu");
    const std::string user_secret = daemon.enroll(user.name());
    write_service(
        "self", line("auth", "required", "activate=db-admin") + line("account", "required", "require_grant=db-admin"));
    const std::string user_code = oathtool_code(user_secret, now());
    const std::string root_code = code();

    // The transactions run in a child that is the test user, like a
    // non-root program that loads pam_elevate (results come back as bits).
    const std::string runtime_dir = std::getenv("PAM_WRAPPER_RUNTIME_DIR");
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(user.gid()) != 0 || setuid(user.uid()) != 0) _exit(100);
        int failures = 0;
        // Failures are reported on stderr (no gtest assertions in a child).
        auto check = [&](::testing::AssertionResult r, int bit, const char* what) {
            if (r) return;
            failures |= bit;
            std::fprintf(stderr, "child: %s: %s\n", what, r.message());
        };
        {
            // Asking about root from a non-root process: refused by the daemon.
            Conversation conv({root_code}, {"INC-9"});
            check(run_cases("self", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR)}), 1, "auth for root");
            check(contains(conv.all_errors(), "administrator") ? ::testing::AssertionSuccess()
                                                               : ::testing::AssertionFailure() << conv.all_errors(),
                  2, "message for root");
            Conversation acct;
            check(run_cases("self", "root", acct, {pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED)}), 4, "account for root");
        }
        {
            // About itself: JIT activation works.
            Conversation conv({user_code}, {"INC-10"});
            check(run_cases("self", user.name(), conv,
                            {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}),
                  8, "auth and account for self");
        }
        discard_child_runtime_dir(runtime_dir);
        _exit(failures);  // no exit(): the test process's atexit handlers are not the child's
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFEXITED(wstatus));
    EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "failure bits: " << WEXITSTATUS(wstatus);

    EXPECT_TRUE(status()["grants"].empty());  // root got nothing
    json s = status(user.name());
    ASSERT_EQ(s["grants"].size(), 1u) << s.dump();
    EXPECT_EQ(s["grants"][0]["user"], user.name());
    EXPECT_EQ(s["grants"][0]["reason"], "INC-10");
}
