// pam_elevate.so against a scripted daemon (fake_daemon.h) for what a real
// elevated does not do on request: hang, send garbage, answer another
// operation, fail, reject the request, run as a non-root user, or report a
// grant that already ended. Also checks what the module puts on the wire.
#include "fake_daemon.h"
#include "harness.h"
#include "pam_support.h"

#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <ctime>

using namespace elevate;
using namespace elevate::pamtest;
using elevate::test::TempDir;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

FakeReply ok(std::function<void(wire::FieldWriter&)> fields = {}) {
    FakeReply r;
    r.fields = std::move(fields);
    return r;
}

FakeReply status(wire::Status s, std::string message) {
    FakeReply r;
    r.status = s;
    r.message = std::move(message);
    return r;
}

FakeReply mode(FakeReply::Mode m) {
    FakeReply r;
    r.mode = m;
    return r;
}

class PamFailure : public ::testing::Test {
protected:
    std::string socket() const { return dir.path() + "/fake.sock"; }
    std::string line(const std::string& type, const std::string& args = "") {
        return elevate_line(type, "required", socket(), args);
    }
    TempDir dir;
};

}  // namespace

TEST_F(PamFailure, HungDaemonIsDeniedWithinTheTimeout) {
    FakeDaemon fake(socket(), [](const FakeRequest&) { return mode(FakeReply::Mode::Hang); });
    write_service("hang", line("auth", "timeout=1"));
    LogCapture log;
    Conversation conv;
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_cases("hang", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL)}));
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, std::chrono::milliseconds(900));
    EXPECT_LT(elapsed, std::chrono::seconds(5));
    EXPECT_TRUE(contains(log.text(), "reply from " + socket() + ": timed out")) << log.text();
}

TEST_F(PamFailure, HungDaemonUnderFailmodeOpenIsAllowedLoudly) {
    FakeDaemon fake(socket(), [](const FakeRequest&) { return mode(FakeReply::Mode::Hang); });
    write_service("hang-open", line("auth", "timeout=1 failmode=open"));
    LogCapture log;
    Conversation conv;
    ASSERT_TRUE(run_cases("hang-open", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)}));
    EXPECT_TRUE(contains(log.text(), "failmode=open: allowing root without elevate because reply from")) << log.text();
}

TEST_F(PamFailure, MalformedRepliesAreDenied) {
    struct Case {
        FakeReply::Mode mode;
        const char* logged;
    } cases[] = {
        {FakeReply::Mode::Garbage, "bad magic"},
        {FakeReply::Mode::WrongOp, "answers operation 1, not 10"},
        {FakeReply::Mode::Close, "connection closed by the daemon"},
    };
    write_service("malformed", line("auth") + line("account", "require_grant=web"));
    for (const auto& c : cases) {
        FakeDaemon fake(socket(), [&](const FakeRequest&) { return mode(c.mode); });
        LogCapture log;
        Conversation conv;
        EXPECT_TRUE(run_cases("malformed", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL)}))
            << c.logged;
        EXPECT_TRUE(run_cases("malformed", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED)})) << c.logged;
        EXPECT_TRUE(contains(log.text(), c.logged)) << log.text();
    }
}

TEST_F(PamFailure, InconsistentAuthorizeReplyIsDenied) {
    // ok, but neither granted nor asking for a code.
    FakeDaemon fake(socket(), [](const FakeRequest&) { return ok(); });
    write_service("inconsistent", line("auth"));
    Conversation conv;
    EXPECT_TRUE(run_cases("inconsistent", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL)}));
}

TEST_F(PamFailure, DaemonInternalErrorNeverFailsOpen) {
    FakeDaemon fake(socket(), [](const FakeRequest&) { return status(wire::Status::Internal, "database is locked"); });
    write_service("internal", line("auth", "failmode=open") + line("account", "failmode=open require_grant=web"));
    LogCapture log;
    Conversation conv;
    EXPECT_TRUE(run_cases("internal", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL)}));
    EXPECT_TRUE(run_cases("internal", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED)}));
    EXPECT_TRUE(contains(log.text(), "the daemon failed (database is locked)")) << log.text();
    EXPECT_FALSE(contains(log.text(), "failmode=open: allowing")) << log.text();
}

// A refusal caused by the daemon's storage reaches the user at the prompt
// as the daemon's own line, not as "the service is unavailable".
TEST_F(PamFailure, StorageFailureIsShownToTheUser) {
    const std::string line_text = "elevate cannot record this activation: the state disk is full";
    FakeDaemon fake(socket(), [&](const FakeRequest&) { return status(wire::Status::Internal, line_text); });
    write_service("storage", line("auth"));
    LogCapture log;
    Conversation conv;
    EXPECT_TRUE(run_cases("storage", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL)}));
    EXPECT_TRUE(contains(conv.all_errors(), line_text)) << conv.all_errors();
    EXPECT_FALSE(contains(conv.all_errors(), "unavailable")) << conv.all_errors();
    EXPECT_TRUE(contains(log.text(), line_text)) << log.text();
}

TEST_F(PamFailure, DaemonShuttingDownCountsAsUnavailable) {
    FakeDaemon fake(socket(), [](const FakeRequest&) { return status(wire::Status::Unavailable, "shutting down"); });
    write_service("shutdown", line("auth") + line("account", "failmode=open require_grant=web"));
    Conversation conv;
    EXPECT_TRUE(run_cases("shutdown", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL)}));
    EXPECT_TRUE(run_cases("shutdown", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)}));
}

TEST_F(PamFailure, OlderDaemonRejectingTheOperationIsAServiceError) {
    FakeDaemon fake(socket(),
                    [](const FakeRequest&) { return status(wire::Status::BadRequest, "unknown operation 10"); });
    write_service("old", line("auth", "failmode=open"));
    LogCapture log;
    Conversation conv;
    EXPECT_TRUE(run_cases("old", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_SERVICE_ERR)}));
    EXPECT_TRUE(contains(log.text(), "unknown operation 10")) << log.text();
}

TEST_F(PamFailure, SocketNotServedByRootIsNeverTrusted) {
    // A socket squatted by an unprivileged user: refused even with failmode=open.
    chmod(dir.path().c_str(), 0777);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(1);
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::string path = dir.path() + "/fake.sock";
        std::strcpy(addr.sun_path, path.c_str());
        if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 8) != 0) _exit(2);
        char c = 'r';
        if (write(ready[1], &c, 1) != 1) _exit(3);
        for (;;) {
            int client = accept(fd, nullptr, nullptr);
            if (client >= 0) close(client);
        }
    }
    close(ready[1]);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);

    write_service("squat", line("auth", "failmode=open"));
    LogCapture log;
    Conversation conv;
    EXPECT_TRUE(run_cases("squat", "root", conv, {pam_test(PAMTEST_AUTHENTICATE, PAM_AUTHINFO_UNAVAIL)}));
    EXPECT_TRUE(contains(log.text(), "socket is not served by root; refusing to trust it")) << log.text();
    EXPECT_TRUE(contains(log.text(), "SYSLOG(1)")) << log.text();
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
}

TEST_F(PamFailure, RequestsCarryTheContextAndTheCodeOnlyGoesToActivate) {
    const int64_t end = int64_t(time(nullptr)) + 3600;
    FakeDaemon fake(socket(), [&](const FakeRequest& r) {
        if (r.op == uint8_t(wire::Op::Authorize)) {
            return ok([](wire::FieldWriter& w) {
                w.put_bool(wire::Tag::NeedCode, true);
                w.put_bool(wire::Tag::NeedReason, true);
            });
        }
        if (r.op == uint8_t(wire::Op::Activate))
            return ok([&](wire::FieldWriter& w) { put_grant(w, "db-admin", end); });
        return status(wire::Status::BadRequest, "unexpected");
    });
    write_service("ctx", line("auth", "activate=db-admin debug"));
    LogCapture log;
    ScriptedConv conv;
    conv.answers = {"INC-4711", "493017"};
    pam_conv c = conv.conv();
    ASSERT_EQ(run_direct({"ctx", "root", &c, "10.0.0.7", "/dev/pts/3", {PAMTEST_AUTHENTICATE}}),
              std::vector<int>{PAM_SUCCESS});

    auto requests = fake.requests();
    ASSERT_EQ(requests.size(), 2u);
    const FakeRequest& authorize = requests[0];
    EXPECT_EQ(authorize.op, uint8_t(wire::Op::Authorize));
    EXPECT_EQ(authorize.str(wire::Tag::User), "root");
    EXPECT_EQ(authorize.str(wire::Tag::Service), "ctx");
    EXPECT_EQ(authorize.str(wire::Tag::RemoteHost), "10.0.0.7");
    EXPECT_EQ(authorize.str(wire::Tag::Tty), "/dev/pts/3");
    EXPECT_EQ(authorize.str(wire::Tag::Role), "db-admin");
    EXPECT_FALSE(authorize.has(wire::Tag::Reauth));
    EXPECT_FALSE(authorize.has(wire::Tag::Code));

    const FakeRequest& activate = requests[1];
    EXPECT_EQ(activate.op, uint8_t(wire::Op::Activate));
    EXPECT_EQ(activate.str(wire::Tag::Code), "493017");
    EXPECT_EQ(activate.str(wire::Tag::Reason), "INC-4711");
    EXPECT_EQ(activate.str(wire::Tag::Role), "db-admin");
    EXPECT_EQ(activate.str(wire::Tag::User), "root");
    EXPECT_EQ(activate.str(wire::Tag::RemoteHost), "10.0.0.7");

    // The user learns until when; the code is never logged, even with debug.
    ASSERT_GE(conv.seen.size(), 3u);
    EXPECT_EQ(conv.seen.back().first, PAM_TEXT_INFO);
    EXPECT_TRUE(contains(conv.seen.back().second, "Granted db-admin until ")) << conv.seen.back().second;
    std::string logged = log.text();
    EXPECT_TRUE(contains(logged, "SYSLOG(7)")) << logged;  // debug lines are there...
    EXPECT_FALSE(contains(logged, "493017")) << logged;    // ...but not the code
}

TEST_F(PamFailure, ReauthAlwaysIsSentAndKeptEvenIfTheDaemonWouldNotAsk) {
    FakeDaemon fake(socket(), [](const FakeRequest& r) {
        if (r.op == uint8_t(wire::Op::Authorize))
            return ok([](wire::FieldWriter& w) { w.put_bool(wire::Tag::Granted, true); });
        return ok();  // verify
    });
    write_service("reauth-fake", line("auth", "activate=db-admin reauth=always"));
    ScriptedConv conv;
    conv.answers = {"111222"};
    pam_conv c = conv.conv();
    ASSERT_EQ(run_direct({"reauth-fake", "root", &c, "", "", {PAMTEST_AUTHENTICATE}}), std::vector<int>{PAM_SUCCESS});
    auto requests = fake.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_TRUE(requests[0].flag(wire::Tag::Reauth));
    EXPECT_EQ(requests[1].op, uint8_t(wire::Op::Verify));  // under a grant: verify, not a second activation
    EXPECT_EQ(requests[1].str(wire::Tag::Code), "111222");
    EXPECT_EQ(fake.count(wire::Op::Activate), 0u);
}

TEST_F(PamFailure, ExpiredGrantInAnOkAccountReplyIsStillDenied) {
    // Expiry is enforced by every reader from the end time (DESIGN.md, invariant 3).
    const int64_t ended = int64_t(time(nullptr)) - 5;
    FakeDaemon fake(socket(),
                    [&](const FakeRequest&) { return ok([&](wire::FieldWriter& w) { put_grant(w, "web", ended); }); });
    write_service("expired", line("account", "require_grant=web"));
    Conversation conv;
    ASSERT_TRUE(run_cases("expired", "root", conv, {pam_test(PAMTEST_ACCOUNT, PAM_PERM_DENIED)}));
    EXPECT_TRUE(contains(conv.all_errors(), "The grant for web ended at")) << conv.all_errors();
    ASSERT_EQ(fake.requests().size(), 1u);
    EXPECT_EQ(fake.requests()[0].str(wire::Tag::Roles), "web");
}

TEST_F(PamFailure, SessionIdFromOpenIsSentOnClose) {
    FakeDaemon fake(socket(), [](const FakeRequest& r) {
        if (r.op == uint8_t(wire::Op::SessionOpen))
            return ok([](wire::FieldWriter& w) { w.put_str(wire::Tag::SessionId, "sess-42"); });
        return ok();
    });
    write_service("sess", line("session", "activate=db-admin"));
    ASSERT_EQ(
        run_direct({"sess", "root", nullptr, "192.0.2.1", "pts/9", {PAMTEST_OPEN_SESSION, PAMTEST_CLOSE_SESSION}}),
        (std::vector<int>{PAM_SUCCESS, PAM_SUCCESS}));
    auto requests = fake.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].op, uint8_t(wire::Op::SessionOpen));
    EXPECT_EQ(requests[0].u64(wire::Tag::Pid), uint64_t(getpid()));
    EXPECT_EQ(requests[0].str(wire::Tag::Role), "db-admin");
    EXPECT_EQ(requests[0].str(wire::Tag::RemoteHost), "192.0.2.1");
    EXPECT_EQ(requests[1].op, uint8_t(wire::Op::SessionClose));
    EXPECT_EQ(requests[1].str(wire::Tag::SessionId), "sess-42");
    EXPECT_EQ(requests[1].str(wire::Tag::User), "root");
}

TEST_F(PamFailure, SessionOpenWithoutSessionIdFailsUnderSecure) {
    FakeDaemon fake(socket(), [](const FakeRequest&) { return ok(); });
    write_service("sess-bad", line("session"));
    // (libpam freezes the session chain at open: a close in the same handle
    // reports the open's failure whatever the module returns, so only the
    // open's code and the absence of a close request are checked here.)
    auto codes = run_direct({"sess-bad", "root", nullptr, "", "", {PAMTEST_OPEN_SESSION, PAMTEST_CLOSE_SESSION}});
    EXPECT_EQ(codes[0], PAM_SESSION_ERR);
    EXPECT_EQ(fake.count(wire::Op::SessionClose), 0u);  // nothing was kept, nothing to close
    EXPECT_EQ(run_direct({"sess-bad", "root", nullptr, "", "", {PAMTEST_CLOSE_SESSION}}),
              std::vector<int>{PAM_SUCCESS});
}

TEST_F(PamFailure, CloseSessionErrorsAreLoggedNotReturned) {
    FakeDaemon fake(socket(), [](const FakeRequest& r) {
        if (r.op == uint8_t(wire::Op::SessionOpen))
            return ok([](wire::FieldWriter& w) { w.put_str(wire::Tag::SessionId, "sess-7"); });
        return status(wire::Status::NotFound, "no open session sess-7 for root");
    });
    write_service("sess-close", line("session"));
    LogCapture log;
    EXPECT_EQ(run_direct({"sess-close", "root", nullptr, "", "", {PAMTEST_OPEN_SESSION, PAMTEST_CLOSE_SESSION}}),
              (std::vector<int>{PAM_SUCCESS, PAM_SUCCESS}));
    EXPECT_TRUE(contains(log.text(), "could not close session sess-7 of root")) << log.text();
}

TEST_F(PamFailure, LockedReplyShowsTheDaemonsMessageWithoutPrompting) {
    FakeDaemon fake(socket(), [](const FakeRequest&) {
        return status(wire::Status::Locked, "Too many failed attempts; locked until 14:50 UTC");
    });
    write_service("locked", line("auth"));
    ScriptedConv conv;
    pam_conv c = conv.conv();
    ASSERT_EQ(run_direct({"locked", "root", &c, "", "", {PAMTEST_AUTHENTICATE}}), std::vector<int>{PAM_AUTH_ERR});
    EXPECT_TRUE(conv.prompts().empty());
    ASSERT_EQ(conv.seen.size(), 1u);
    EXPECT_EQ(conv.seen[0].first, PAM_ERROR_MSG);
    EXPECT_EQ(conv.seen[0].second, "Too many failed attempts; locked until 14:50 UTC");
}

TEST_F(PamFailure, ControlCharactersFromTheWireNeverReachTheTerminal) {
    FakeDaemon fake(socket(),
                    [](const FakeRequest&) { return status(wire::Status::Denied, "no\x1b]0;pwned\x07 grant"); });
    write_service("escape", line("account", "require_grant=web"));
    ScriptedConv conv;
    pam_conv c = conv.conv();
    ASSERT_EQ(run_direct({"escape", "root", &c, "", "", {PAMTEST_ACCOUNT}}), std::vector<int>{PAM_PERM_DENIED});
    ASSERT_EQ(conv.seen.size(), 1u);
    EXPECT_EQ(conv.seen[0].second, "no?]0;pwned? grant");
}

// C1 controls (CSI, U+009B) and bidi overrides (U+202E) drive or mislead
// terminals as ESC does. (Invalid UTF-8, 8-bit C1 among it, never passes the
// wire codec; base::display_text's unit tests cover it.)
TEST_F(PamFailure, C1ControlsAndBidiOverridesNeverReachTheTerminal) {
    FakeDaemon fake(socket(), [](const FakeRequest&) {
        return status(wire::Status::Denied,
                      "no\xc2\x9b"
                      "2J grant for \xe2\x80\xae"
                      "nimda j\xc3\xbcrgen\xe2\x81\xa6");
    });
    write_service("c1", line("account", "require_grant=web"));
    ScriptedConv conv;
    pam_conv c = conv.conv();
    ASSERT_EQ(run_direct({"c1", "root", &c, "", "", {PAMTEST_ACCOUNT}}), std::vector<int>{PAM_PERM_DENIED});
    ASSERT_EQ(conv.seen.size(), 1u);
    EXPECT_EQ(conv.seen[0].second, "no?2J grant for ?nimda j\xc3\xbcrgen?");
}

TEST_F(PamFailure, EmptyOrOverlongCodesAreRefusedWithoutAskingTheDaemon) {
    FakeDaemon fake(socket(), [](const FakeRequest&) {
        return ok([](wire::FieldWriter& w) { w.put_bool(wire::Tag::NeedCode, true); });
    });
    write_service("longcode", line("auth"));
    for (const char* answer : {"", "12345678901234567"}) {
        ScriptedConv conv;
        conv.answers = {answer};
        pam_conv c = conv.conv();
        EXPECT_EQ(run_direct({"longcode", "root", &c, "", "", {PAMTEST_AUTHENTICATE}}), std::vector<int>{PAM_AUTH_ERR})
            << answer;
        ASSERT_FALSE(conv.seen.empty());
        EXPECT_EQ(conv.seen.back().first, PAM_ERROR_MSG) << answer;
    }
    EXPECT_EQ(fake.count(wire::Op::Verify), 0u);
    EXPECT_EQ(fake.count(wire::Op::Authorize), 2u);
}
