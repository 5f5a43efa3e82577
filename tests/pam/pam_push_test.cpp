// pam_elevate.so with push and approval requests (docs/PROTOCOL.md, "Push"
// and "Approval requests") against a scripted daemon (fake_daemon.h): the
// code-or-push prompt, push_start and the challenge that replaces the code,
// autopush, what a denied, fraudulent or unavailable push becomes, the
// deadline of a push, and waiting for approvers (approved, still pending,
// denied, expired, cancelled, lost). Each test checks what the module sent
// and what the user saw.
#include "fake_daemon.h"
#include "harness.h"
#include "pam_support.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

using namespace elevate;
using namespace elevate::pamtest;
using elevate::test::TempDir;

namespace {

constexpr const char* kCombinedPrompt = "Verification code (or press Enter for push): ";
constexpr const char* kChallenge = "5f0c8a52-8d7e-4c59-9a43-0e6f3f1c2b7d";

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

int64_t in_an_hour() {
    return int64_t(time(nullptr)) + 3600;
}

// What the module showed with `style` (PAM_TEXT_INFO or PAM_ERROR_MSG).
std::vector<std::string> shown(const ScriptedConv& conv, int style) {
    std::vector<std::string> out;
    for (const auto& [s, text] : conv.seen)
        if (s == style) out.push_back(text);
    return out;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
}

FakeReply delayed(FakeReply r, int ms) {
    r.delay_ms = ms;
    return r;
}

FakeApproval approval(std::string state, std::string decided_by = "") {
    FakeApproval a;
    a.state = std::move(state);
    a.decided_by = std::move(decided_by);
    return a;
}

class PamPush : public ::testing::Test {
protected:
    std::string socket() const { return dir.path() + "/fake.sock"; }
    std::string line(const std::string& type, const std::string& args = "") {
        return elevate_line(type, "required", socket(), args);
    }
    // One handle, the listed steps, a conversation that answers in order.
    std::vector<int> run(const std::string& service, ScriptedConv& conv,
                         std::vector<int> steps = {PAMTEST_AUTHENTICATE}, int flags = 0) {
        pam_conv c = conv.conv();
        return run_direct({service, "root", &c, "10.0.0.7", "/dev/pts/3", std::move(steps), flags});
    }
    std::vector<FakeRequest> of(FakeDaemon& fake, wire::Op op) {
        std::vector<FakeRequest> out;
        for (auto& r : fake.requests())
            if (r.op == uint8_t(op)) out.push_back(r);
        return out;
    }
    TempDir dir;
};

const std::vector<int> kSuccess = {PAM_SUCCESS};
const std::vector<int> kAuthErr = {PAM_AUTH_ERR};
const std::vector<int> kUnavailable = {PAM_AUTHINFO_UNAVAIL};

}  // namespace

// ---- choosing the factor ----

TEST_F(PamPush, CombinedPromptTakesACodeAndActivatesWithIt) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, true))
        .on(wire::Op::Activate, granted_reply("db-admin", in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    // prompt= sets the code prompt only when no push is offered.
    write_service("combo", line("auth", "activate=db-admin [prompt=Code please: ]"));
    ScriptedConv conv;
    conv.answers = {"493017"};
    ASSERT_EQ(run("combo", conv), kSuccess);

    EXPECT_EQ(conv.prompts(), std::vector<std::string>{kCombinedPrompt});
    EXPECT_EQ(conv.seen[0].first, PAM_PROMPT_ECHO_OFF);
    EXPECT_EQ(fake.count(wire::Op::PushStart), 0u);
    auto activate = of(fake, wire::Op::Activate);
    ASSERT_EQ(activate.size(), 1u);
    EXPECT_EQ(activate[0].str(wire::Tag::Code), "493017");
    EXPECT_FALSE(activate[0].has(wire::Tag::Challenge));
    EXPECT_TRUE(contains(joined(shown(conv, PAM_TEXT_INFO)), "Granted db-admin until ")) << joined(conv.prompts());
}

TEST_F(PamPush, CodeOnlyKeepsTheConfiguredPrompt) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, false)).on(wire::Op::Verify, ok_reply());
    FakeDaemon fake(socket(), script.handler());
    write_service("code-only", line("auth", "[prompt=Code please: ] autopush"));
    ScriptedConv conv;
    conv.answers = {"493017"};
    ASSERT_EQ(run("code-only", conv), kSuccess);
    EXPECT_EQ(conv.prompts(), std::vector<std::string>{"Code please: "});
    EXPECT_EQ(fake.count(wire::Op::PushStart), 0u);  // autopush without push_ok: nothing to push
    // An empty answer is still refused locally when no push is offered.
    ScriptedConv empty;
    empty.answers = {""};
    ASSERT_EQ(run("code-only", empty), kAuthErr);
    EXPECT_EQ(shown(empty, PAM_ERROR_MSG), std::vector<std::string>{"No verification code was entered."});
    EXPECT_EQ(fake.count(wire::Op::Verify), 1u);
}

TEST_F(PamPush, EmptyAnswerSendsAPushAndActivatesWithItsChallenge) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, true, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "iPhone 15 (root)", 30))
        .on(wire::Op::Activate, granted_reply("db-admin", in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    write_service("push", line("auth", "activate=db-admin debug"));
    LogCapture log;
    ScriptedConv conv;
    conv.answers = {"INC-4711", ""};
    // sudo passes PAM_SILENT: the push notice must still be shown.
    ASSERT_EQ(run("push", conv, {PAMTEST_AUTHENTICATE}, PAM_SILENT), kSuccess);

    EXPECT_EQ(conv.prompts(), (std::vector<std::string>{"Reason for db-admin: ", kCombinedPrompt}));
    EXPECT_EQ(
        shown(conv, PAM_TEXT_INFO),
        std::vector<std::string>{"Push sent to iPhone 15 (root), waiting up to 30 s..."});  // "Granted" is silenced

    auto requests = fake.requests();
    ASSERT_EQ(requests.size(), 3u);
    const FakeRequest& push = requests[1];
    EXPECT_EQ(push.op, uint8_t(wire::Op::PushStart));
    EXPECT_EQ(push.str(wire::Tag::User), "root");
    EXPECT_EQ(push.str(wire::Tag::Role), "db-admin");
    EXPECT_EQ(push.str(wire::Tag::Reason), "INC-4711");
    EXPECT_EQ(push.str(wire::Tag::Service), "push");
    EXPECT_EQ(push.str(wire::Tag::RemoteHost), "10.0.0.7");
    EXPECT_EQ(push.str(wire::Tag::Tty), "/dev/pts/3");
    EXPECT_FALSE(push.has(wire::Tag::Code));
    EXPECT_FALSE(push.has(wire::Tag::Challenge));

    const FakeRequest& activate = requests[2];
    EXPECT_EQ(activate.op, uint8_t(wire::Op::Activate));
    EXPECT_EQ(activate.str(wire::Tag::Challenge), kChallenge);
    EXPECT_FALSE(activate.has(wire::Tag::Code));
    EXPECT_EQ(activate.str(wire::Tag::Role), "db-admin");
    EXPECT_EQ(activate.str(wire::Tag::Reason), "INC-4711");
    EXPECT_EQ(activate.str(wire::Tag::RemoteHost), "10.0.0.7");

    const std::string logged = log.text();
    EXPECT_TRUE(contains(logged, "activated at the prompt, push")) << logged;
    EXPECT_FALSE(contains(logged, kChallenge)) << logged;  // not even with debug
}

TEST_F(PamPush, PushOnlyFactorNeverPrompts) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(false, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 45))
        .on(wire::Op::Activate, granted_reply("db-admin", in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    write_service("push-only", line("auth", "activate=db-admin"));
    ScriptedConv conv;  // no answers: any prompt would get none
    ASSERT_EQ(run("push-only", conv), kSuccess);
    EXPECT_TRUE(conv.prompts().empty()) << joined(conv.prompts());
    auto infos = shown(conv, PAM_TEXT_INFO);
    ASSERT_EQ(infos.size(), 2u) << joined(infos);
    EXPECT_EQ(infos[0], "Push sent to Pixel 8, waiting up to 45 s...");
    EXPECT_TRUE(contains(infos[1], "Granted db-admin until ")) << infos[1];
    EXPECT_EQ(of(fake, wire::Op::Activate).at(0).str(wire::Tag::Challenge), kChallenge);
}

TEST_F(PamPush, PlainSecondFactorByPushUsesVerifyAndNamesNoRole) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 45))
        .on(wire::Op::Verify, ok_reply());
    FakeDaemon fake(socket(), script.handler());
    write_service("plain-push", line("auth"));
    ScriptedConv conv;
    conv.answers = {""};
    ASSERT_EQ(run("plain-push", conv), kSuccess);
    auto push = of(fake, wire::Op::PushStart);
    ASSERT_EQ(push.size(), 1u);
    EXPECT_FALSE(push[0].has(wire::Tag::Role));
    EXPECT_FALSE(push[0].has(wire::Tag::Reason));
    auto verify = of(fake, wire::Op::Verify);
    ASSERT_EQ(verify.size(), 1u);
    EXPECT_EQ(verify[0].str(wire::Tag::Challenge), kChallenge);
    EXPECT_FALSE(verify[0].has(wire::Tag::Code));
    EXPECT_EQ(fake.count(wire::Op::Activate), 0u);
}

TEST_F(PamPush, AutopushSendsThePushWithoutAskingForACode) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 45))
        .on(wire::Op::Activate, granted_reply("web", in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    write_service("autopush", line("auth", "activate=web autopush"));
    ScriptedConv conv;
    ASSERT_EQ(run("autopush", conv), kSuccess);
    EXPECT_TRUE(conv.prompts().empty()) << joined(conv.prompts());
    EXPECT_EQ(fake.count(wire::Op::PushStart), 1u);
    EXPECT_EQ(of(fake, wire::Op::Activate).at(0).str(wire::Tag::Challenge), kChallenge);
}

TEST_F(PamPush, QuietHidesThePushNoticeToo) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(false, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 45))
        .on(wire::Op::Activate, granted_reply("web", in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    write_service("push-quiet", line("auth", "activate=web quiet"));
    ScriptedConv conv;
    ASSERT_EQ(run("push-quiet", conv), kSuccess);
    EXPECT_TRUE(conv.seen.empty());
}

TEST_F(PamPush, DeviceLabelCannotWriteEscapesToTheTerminal) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(false, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel\x1b]0;pwned\x07 8", 20))
        .on(wire::Op::Activate, granted_reply("web", in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    write_service("push-label", line("auth", "activate=web"));
    ScriptedConv conv;
    ASSERT_EQ(run("push-label", conv), kSuccess);
    EXPECT_EQ(shown(conv, PAM_TEXT_INFO).at(0), "Push sent to Pixel?]0;pwned? 8, waiting up to 20 s...");
}

// ---- what the push's answer becomes ----

TEST_F(PamPush, PushDeniedOnThePhoneIsAnAuthErrorWithTheDaemonsMessage) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 45))
        .on(wire::Op::Activate, status_reply(wire::Status::Denied, "push denied on Pixel 8"));
    FakeDaemon fake(socket(), script.handler());
    // failmode=open changes nothing: the daemon decided.
    write_service("push-denied", line("auth", "activate=web autopush failmode=open"));
    LogCapture log;
    ScriptedConv conv;
    ASSERT_EQ(run("push-denied", conv, {PAMTEST_AUTHENTICATE}, PAM_SILENT), kAuthErr);
    EXPECT_EQ(shown(conv, PAM_ERROR_MSG), std::vector<std::string>{"push denied on Pixel 8"});
    EXPECT_TRUE(contains(log.text(), "denied root: push denied on Pixel 8")) << log.text();
    EXPECT_FALSE(contains(log.text(), "failmode=open: allowing")) << log.text();
}

TEST_F(PamPush, PushReportedAsFraudIsRefusedWithTheDaemonsMessage) {
    const std::string message =
        "You reported this push as fraud; elevation is locked until an administrator runs: elevatectl unlock root";
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(false, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 45))
        .on(wire::Op::Activate, status_reply(wire::Status::Locked, message));
    FakeDaemon fake(socket(), script.handler());
    write_service("push-fraud", line("auth", "activate=web failmode=open"));
    ScriptedConv conv;
    ASSERT_EQ(run("push-fraud", conv), kAuthErr);  // locked maps like every lockout
    EXPECT_EQ(shown(conv, PAM_ERROR_MSG), std::vector<std::string>{message});
}

TEST_F(PamPush, UnavailablePushFollowsFailmodeWhenNoCodeIsPossible) {
    // The provider fails when the push is sent, or while the user answers it;
    // the role takes only a push, so there is nothing to fall back to.
    for (wire::Op failing : {wire::Op::PushStart, wire::Op::Activate}) {
        for (const char* failmode : {"secure", "open"}) {
            SCOPED_TRACE(std::string(wire::op_name(failing)) + " failmode=" + failmode);
            Script script;
            script.on(wire::Op::Authorize, authorize_reply(false, true));
            script.on(wire::Op::PushStart,
                      failing == wire::Op::PushStart
                          ? status_reply(wire::Status::Unavailable, "push provider unreachable: TLS handshake failed")
                          : push_started(kChallenge, "Pixel 8", 45));
            script.on(wire::Op::Activate,
                      status_reply(wire::Status::Unavailable, "push provider unreachable: timeout"));
            FakeDaemon fake(socket(), script.handler());
            write_service("push-unavail", line("auth", std::string("activate=web autopush failmode=") + failmode));
            LogCapture log;
            ScriptedConv conv;
            const bool open = std::string(failmode) == "open";
            EXPECT_EQ(run("push-unavail", conv), open ? kSuccess : kUnavailable);
            const std::string logged = log.text();
            EXPECT_TRUE(contains(logged, "the push provider or the daemon is unavailable (push provider unreachable"))
                << logged;
            if (open) {
                EXPECT_TRUE(contains(logged, "SYSLOG(1)")) << logged;  // LOG_ALERT
                EXPECT_TRUE(contains(logged, "failmode=open: allowing root without elevate because ")) << logged;
                EXPECT_TRUE(shown(conv, PAM_ERROR_MSG).empty());
            } else {
                EXPECT_TRUE(contains(logged, "denied root (failmode=secure)")) << logged;
                EXPECT_TRUE(contains(joined(shown(conv, PAM_ERROR_MSG)), "unavailable")) << joined(conv.prompts());
            }
            EXPECT_EQ(fake.count(wire::Op::Activate), failing == wire::Op::PushStart ? 0u : 1u);
        }
    }
}

TEST_F(PamPush, UnavailablePushFallsBackToACodeNeverToFailmode) {
    for (const char* options : {"activate=web failmode=open", "activate=web autopush failmode=open"}) {
        SCOPED_TRACE(options);
        Script script;
        script.on(wire::Op::Authorize, authorize_reply(true, true))
            .on(wire::Op::PushStart, status_reply(wire::Status::Unavailable, "push provider unreachable: refused"))
            .on(wire::Op::Activate, granted_reply("web", in_an_hour()));
        FakeDaemon fake(socket(), script.handler());
        write_service("push-fallback", line("auth", options));
        LogCapture log;
        ScriptedConv conv;
        const bool autopush = std::string(options).find("autopush") != std::string::npos;
        conv.answers = autopush ? std::vector<std::string>{"493017"} : std::vector<std::string>{"", "493017"};
        EXPECT_EQ(run("push-fallback", conv), kSuccess);
        EXPECT_TRUE(contains(joined(shown(conv, PAM_ERROR_MSG)), "Push is unavailable")) << joined(conv.prompts());
        EXPECT_EQ(conv.prompts().back(), "Verification code: ");
        auto activate = of(fake, wire::Op::Activate);
        ASSERT_EQ(activate.size(), 1u);
        EXPECT_EQ(activate[0].str(wire::Tag::Code), "493017");
        EXPECT_FALSE(contains(log.text(), "failmode=open: allowing")) << log.text();
    }
    // No code typed after the fallback: denied, and still not failed open.
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, true))
        .on(wire::Op::PushStart, status_reply(wire::Status::Unavailable, "push provider unreachable: refused"));
    FakeDaemon fake(socket(), script.handler());
    write_service("push-fallback-empty", line("auth", "activate=web failmode=open"));
    ScriptedConv conv;
    conv.answers = {"", ""};
    EXPECT_EQ(run("push-fallback-empty", conv), kAuthErr);
    EXPECT_EQ(fake.count(wire::Op::Activate), 0u);
}

TEST_F(PamPush, MalformedPushStartReplyIsUnavailableAndNothingIsActivated) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(false, true))
        .on(wire::Op::PushStart,
            ok_reply([](wire::FieldWriter& w) { w.put_str(wire::Tag::Label, "Pixel 8"); }));  // no challenge
    FakeDaemon fake(socket(), script.handler());
    write_service("push-malformed", line("auth", "activate=web"));
    LogCapture log;
    ScriptedConv conv;
    ASSERT_EQ(run("push-malformed", conv), kUnavailable);
    EXPECT_TRUE(contains(log.text(), "push_start at " + socket() + ": the reply has no usable challenge or timeout"))
        << log.text();
    EXPECT_EQ(fake.count(wire::Op::Activate), 0u);
}

TEST_F(PamPush, ThePushAnswerMayTakeTheDaemonsTimeoutPlusTheModulesOwn) {
    // timeout=1, yet the answer after 2.5 s is accepted: the push gave 3 s.
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(false, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 3))
        .on(wire::Op::Activate, delayed(granted_reply("web", in_an_hour()), 2500));
    FakeDaemon fake(socket(), script.handler());
    write_service("push-slow", line("auth", "activate=web timeout=1"));
    ScriptedConv conv;
    ASSERT_EQ(run("push-slow", conv), kSuccess);

    // ...but not longer: a daemon that never answers is given up on at 1 + 1 s,
    // and failmode=open does not let an unanswered push in.
    Script hung;
    hung.on(wire::Op::Authorize, authorize_reply(false, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 1))
        .on(wire::Op::Activate, delayed(granted_reply("web", in_an_hour()), 30000));
    const std::string hung_socket = dir.path() + "/hung.sock";
    FakeDaemon hung_fake(hung_socket, hung.handler());
    write_service("push-hung", elevate_line("auth", "required", hung_socket, "activate=web timeout=1 failmode=open"));
    LogCapture log;
    ScriptedConv conv2;
    auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(run("push-hung", conv2), kUnavailable);
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, std::chrono::milliseconds(1900));
    EXPECT_LT(elapsed, std::chrono::seconds(5));
    const std::string logged = log.text();
    EXPECT_TRUE(contains(logged, "denied root: no answer about the push")) << logged;
    EXPECT_TRUE(contains(logged, "timed out")) << logged;
    EXPECT_FALSE(contains(logged, "failmode=open: allowing")) << logged;
    EXPECT_EQ(shown(conv2, PAM_ERROR_MSG),
              std::vector<std::string>{"The elevate access service did not say whether the push was approved, so "
                                       "access is denied. Try again."});
}

TEST_F(PamPush, LosingTheDaemonWhileThePushIsAnsweredNeverFailsOpen) {
    for (FakeReply::Mode lost : {FakeReply::Mode::Close, FakeReply::Mode::Garbage, FakeReply::Mode::WrongOp}) {
        SCOPED_TRACE(int(lost));
        FakeReply broken;
        broken.mode = lost;
        Script script;
        script.on(wire::Op::Authorize, authorize_reply(false, true))
            .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 30))
            .on(wire::Op::Activate, broken);
        FakeDaemon fake(socket(), script.handler());
        write_service("push-lost", line("auth", "activate=web failmode=open"));
        LogCapture log;
        ScriptedConv conv;
        ASSERT_EQ(run("push-lost", conv), kUnavailable);
        EXPECT_FALSE(contains(log.text(), "failmode=open: allowing")) << log.text();
        EXPECT_TRUE(contains(log.text(), "no answer about the push")) << log.text();
    }
}

// ---- approval requests ----

TEST_F(PamPush, ApprovalIsAwaitedAndTheApprovedGrantServesTheAccountStep) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, false, true))
        .on(wire::Op::Activate, request_reply(approval("pending")))
        .on(wire::Op::RequestWait, delayed(request_reply(approval("approved", "alice"), in_an_hour()), 300));
    FakeDaemon fake(socket(), script.handler());
    write_service("approve",
                  line("auth", "activate=db-admin approval_wait=30") + line("account", "require_grant=db-admin"));
    ScriptedConv conv;
    conv.answers = {"INC-7", "493017"};
    ASSERT_EQ(run("approve", conv, {PAMTEST_AUTHENTICATE, PAMTEST_ACCOUNT}),
              (std::vector<int>{PAM_SUCCESS, PAM_SUCCESS}));

    auto wait = of(fake, wire::Op::RequestWait);
    ASSERT_EQ(wait.size(), 1u);
    EXPECT_EQ(wait[0].u64(wire::Tag::RequestId), 7u);
    EXPECT_EQ(wait[0].u64(wire::Tag::Wait), 30u);
    EXPECT_EQ(fake.count(wire::Op::Account), 0u);  // the approved grant was confirmed in this handle

    auto infos = shown(conv, PAM_TEXT_INFO);
    ASSERT_EQ(infos.size(), 2u) << joined(infos);
    EXPECT_EQ(infos[0], "Waiting for approval of request 7 by group:sec-leads (up to 30 s)...");
    EXPECT_TRUE(contains(infos[1], "Request 7 approved by alice: granted db-admin until ")) << infos[1];
}

TEST_F(PamPush, ApprovalAfterAPushUnderPamSilentStillTellsTheUserWhatIsHappening) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(false, true))
        .on(wire::Op::PushStart, push_started(kChallenge, "Pixel 8", 45))
        .on(wire::Op::Activate, request_reply(approval("pending")))
        .on(wire::Op::RequestWait, request_reply(approval("approved", "alice"), in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    write_service("approve-push", line("auth", "activate=db-admin"));
    ScriptedConv conv;
    ASSERT_EQ(run("approve-push", conv, {PAMTEST_AUTHENTICATE}, PAM_SILENT), kSuccess);
    EXPECT_EQ(shown(conv, PAM_TEXT_INFO),
              (std::vector<std::string>{"Push sent to Pixel 8, waiting up to 45 s...",
                                        "Waiting for approval of request 7 by group:sec-leads (up to 60 s)..."}));
    EXPECT_EQ(of(fake, wire::Op::RequestWait).at(0).u64(wire::Tag::Wait), 60u);  // the default
}

TEST_F(PamPush, StillPendingAfterTheWaitIsRefusedWithWhatToDo) {
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, false))
        .on(wire::Op::Activate, request_reply(approval("pending")))
        .on(wire::Op::RequestWait, request_reply(approval("pending")));
    FakeDaemon fake(socket(), script.handler());
    write_service("pending", line("auth", "activate=db-admin approval_wait=1"));
    ScriptedConv conv;
    conv.answers = {"493017"};
    ASSERT_EQ(run("pending", conv), kAuthErr);
    EXPECT_EQ(shown(conv, PAM_ERROR_MSG),
              std::vector<std::string>{
                  "Request 7 is still waiting for approval by group:sec-leads; try again once it is approved."});
    EXPECT_EQ(of(fake, wire::Op::RequestWait).at(0).u64(wire::Tag::Wait), 1u);
}

TEST_F(PamPush, DecidedRequestsAreRefusedNamingTheDecision) {
    struct Case {
        FakeApproval request;
        std::string message;
        std::string shown;
    } cases[] = {
        {approval("denied", "bob"), "not during the change freeze",
         "Request 7 was denied by bob: not during the change freeze."},
        {approval("denied"), "", "Request 7 was denied."},
        {approval("cancelled", "root"), "", "Request 7 was cancelled by root."},
        {approval("expired"), "", "Request 7 expired before it was approved by group:sec-leads."},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.shown);
        FakeReply decided = request_reply(c.request);
        decided.message = c.message;
        Script script;
        script.on(wire::Op::Authorize, authorize_reply(true, false))
            .on(wire::Op::Activate, request_reply(approval("pending")))
            .on(wire::Op::RequestWait, decided);
        FakeDaemon fake(socket(), script.handler());
        write_service("decided", line("auth", "activate=db-admin"));
        ScriptedConv conv;
        conv.answers = {"493017"};
        ASSERT_EQ(run("decided", conv), kAuthErr);
        EXPECT_EQ(shown(conv, PAM_ERROR_MSG), std::vector<std::string>{c.shown});
    }
}

TEST_F(PamPush, PendingRequestFromAuthorizeIsAwaitedWithoutAPrompt) {
    Script script;
    script.on(wire::Op::Authorize, request_reply(approval("pending")))
        .on(wire::Op::RequestWait, request_reply(approval("approved", "alice,carol"), in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    write_service("already-pending", line("auth", "activate=db-admin"));
    ScriptedConv conv;
    ASSERT_EQ(run("already-pending", conv), kSuccess);
    EXPECT_TRUE(conv.prompts().empty());
    EXPECT_EQ(fake.count(wire::Op::Activate), 0u);
    EXPECT_EQ(fake.count(wire::Op::PushStart), 0u);
    EXPECT_EQ(of(fake, wire::Op::RequestWait).at(0).u64(wire::Tag::RequestId), 7u);
    EXPECT_TRUE(contains(joined(shown(conv, PAM_TEXT_INFO)), "Request 7 approved by alice,carol: granted db-admin"))
        << joined(shown(conv, PAM_TEXT_INFO));
}

TEST_F(PamPush, ApprovalWaitZeroDoesNotWait) {
    Script script;
    script.on(wire::Op::Authorize, request_reply(approval("pending")));
    FakeDaemon fake(socket(), script.handler());
    write_service("no-wait", line("auth", "activate=db-admin approval_wait=0"));
    ScriptedConv conv;
    ASSERT_EQ(run("no-wait", conv), kAuthErr);
    EXPECT_EQ(fake.count(wire::Op::RequestWait), 0u);
    EXPECT_TRUE(shown(conv, PAM_TEXT_INFO).empty());
    EXPECT_EQ(shown(conv, PAM_ERROR_MSG),
              std::vector<std::string>{
                  "Request 7 is still waiting for approval by group:sec-leads; try again once it is approved."});
}

TEST_F(PamPush, TheApprovalWaitMayTakeItsLengthPlusTheTimeout) {
    // timeout=1, approval_wait=3: a decision after 2.5 s still counts.
    Script script;
    script.on(wire::Op::Authorize, request_reply(approval("pending")))
        .on(wire::Op::RequestWait, delayed(request_reply(approval("approved", "alice"), in_an_hour()), 2500));
    FakeDaemon fake(socket(), script.handler());
    write_service("slow-approval", line("auth", "activate=db-admin approval_wait=3 timeout=1"));
    ScriptedConv conv;
    ASSERT_EQ(run("slow-approval", conv), kSuccess);
}

TEST_F(PamPush, ConflictWithAPendingRequestIsAwaited) {
    // A request was made elsewhere between authorize and activate.
    FakeReply conflict = request_reply(approval("pending"));
    conflict.status = wire::Status::Conflict;
    conflict.message = "a request for db-admin is already pending";
    Script script;
    script.on(wire::Op::Authorize, authorize_reply(true, false))
        .on(wire::Op::Activate, conflict)
        .on(wire::Op::RequestWait, request_reply(approval("approved", "alice"), in_an_hour()));
    FakeDaemon fake(socket(), script.handler());
    write_service("conflict", line("auth", "activate=db-admin"));
    ScriptedConv conv;
    conv.answers = {"493017"};
    ASSERT_EQ(run("conflict", conv), kSuccess);
    EXPECT_EQ(fake.count(wire::Op::RequestWait), 1u);
    EXPECT_TRUE(shown(conv, PAM_ERROR_MSG).empty()) << joined(shown(conv, PAM_ERROR_MSG));
}

TEST_F(PamPush, LosingTheDaemonWhileWaitingForApproversNeverFailsOpen) {
    struct Case {
        FakeReply wait_reply;
        std::vector<int> code;
        const char* logged;
    } cases[] = {
        {[] {
             FakeReply r;
             r.mode = FakeReply::Mode::Close;
             return r;
         }(),
         kUnavailable, "connection closed by the daemon"},
        {status_reply(wire::Status::Unavailable, "shutting down"), kUnavailable, "shutting down"},
        {request_reply(approval("mislaid")), kUnavailable, "unknown state \"mislaid\""},
        {[] {
             FakeApproval other = approval("approved", "alice");
             other.id = 8;
             return request_reply(other, in_an_hour());
         }(),
         kUnavailable, "carries no record of request 7"},
        {status_reply(wire::Status::NotFound, "no request 7"), kAuthErr, "no request 7"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.logged);
        Script script;
        script.on(wire::Op::Authorize, request_reply(approval("pending"))).on(wire::Op::RequestWait, c.wait_reply);
        FakeDaemon fake(socket(), script.handler());
        write_service("lost", line("auth", "activate=db-admin failmode=open"));
        LogCapture log;
        ScriptedConv conv;
        ASSERT_EQ(run("lost", conv), c.code);
        const std::string logged = log.text();
        EXPECT_TRUE(contains(logged, c.logged)) << logged;
        EXPECT_FALSE(contains(logged, "failmode=open: allowing")) << logged;
        ASSERT_EQ(shown(conv, PAM_ERROR_MSG).size(), 1u);
        if (c.code == kUnavailable) {
            EXPECT_TRUE(contains(shown(conv, PAM_ERROR_MSG)[0], "Could not learn whether request 7 was approved"))
                << shown(conv, PAM_ERROR_MSG)[0];
        }
    }
}
