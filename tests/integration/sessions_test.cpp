// Sessions registered with session_open are ended when their grant ends and
// the role says on_expiry = "terminate"; with "keep" they are left alone.
#include "harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

using namespace elevate;
using namespace elevate::test;
using nlohmann::json;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "ops"
gid = 61041
eligible_users = ["root"]
default_duration = "4s"
on_expiry = "terminate"

[[role]]
name = "calm"
gid = 61042
eligible_users = ["root"]
default_duration = "2s"
on_expiry = "keep"
)";

// Forks a process that registers a PAM session for root under `role` (as
// pam_elevate's open_session would) and then waits to be killed.
pid_t session_process(Daemon& daemon, const std::string& role, bool ignore_term) {
    int ready[2];
    if (pipe(ready) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        if (ignore_term) signal(SIGTERM, SIG_IGN);
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, "root");
        w->put_str(wire::Tag::Role, role);
        w->put_str(wire::Tag::Service, "test");
        auto r = daemon.call(wire::Op::SessionOpen, w.take());
        char ok = r && r->status == wire::Status::Ok && r->fields.has(wire::Tag::Grant) ? '1' : '0';
        if (write(ready[1], &ok, 1) != 1) _exit(3);
        for (int i = 0; i < 300; ++i) usleep(100000);
        _exit(0);
    }
    close(ready[1]);
    char ok = 0;
    if (read(ready[0], &ok, 1) != 1 || ok != '1') {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        pid = -1;
    }
    close(ready[0]);
    return pid;
}

// Waits up to `seconds` for pid to exit; returns its wait status or -1.
int wait_exit(pid_t pid, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        usleep(100000);
    }
    return -1;
}

class Sessions : public ::testing::Test {
protected:
    void SetUp() override {
        daemon.start();
        secret = daemon.enroll("root");
    }
    void activate(const std::string& role, int offset) {
        auto r = daemon.ctl({"activate", role}, {.input = oathtool_code(secret, now() + offset * 30) + "\n"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    Daemon daemon{kRoles};
    std::string secret;
};

}  // namespace

TEST_F(Sessions, ExpiryTerminatesSessionsOfTheGrant) {
    activate("ops", 0);
    pid_t pid = session_process(daemon, "ops", false);
    ASSERT_GT(pid, 0);
    int status = wait_exit(pid, 15);
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    ASSERT_NE(status, -1) << "session process still running after its grant expired";
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    EXPECT_NE(read_file(daemon.audit_path()).find("session-terminate"), std::string::npos);
}

TEST_F(Sessions, ProcessIgnoringSigtermIsKilledAfterGrace) {
    activate("ops", 0);
    pid_t pid = session_process(daemon, "ops", true);
    ASSERT_GT(pid, 0);
    int status = wait_exit(pid, 20);
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    ASSERT_NE(status, -1);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST_F(Sessions, RevokeTerminatesToo) {
    // A long grant, revoked by the admin.
    auto r = daemon.ctl({"--json", "activate", "ops", "--for", "1h"}, {.input = oathtool_code(secret, now()) + "\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string id = json::parse(r.out)["grant"]["id"];
    pid_t pid = session_process(daemon, "ops", false);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(daemon.ctl({"revoke", id}).exit_code, 0);
    int status = wait_exit(pid, 5);
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    ASSERT_NE(status, -1);
    EXPECT_TRUE(WIFSIGNALED(status));
}

TEST_F(Sessions, KeepLeavesSessionsRunning) {
    activate("calm", 0);
    pid_t pid = session_process(daemon, "calm", false);
    ASSERT_GT(pid, 0);
    EXPECT_EQ(wait_exit(pid, 4), -1) << "a keep-role session was ended";
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
}

TEST_F(Sessions, CloseOfUnknownSessionIsNotFound) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::SessionId, "00000000-0000-4000-8000-000000000000");
    auto r = daemon.call(wire::Op::SessionClose, w.take());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, wire::Status::NotFound);
}

namespace {

// session_open for `user` naming grant `grant_id`, as pam_elevate's
// open_session does after its auth or account step confirmed that grant;
// the id of the grant the session was filed under ("" for none).
std::string filed_under(Daemon& daemon, const std::string& user, const std::string& grant_id) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, user);
    w->put_str(wire::Tag::GrantId, grant_id);
    w->put_str(wire::Tag::Service, "sudo");
    auto r = daemon.call(wire::Op::SessionOpen, w.take());
    if (!r || r->status != wire::Status::Ok) return "error";
    wire::Field f;
    wire::FieldList grant;
    std::string_view id;
    if (!r->fields.find(wire::Tag::Grant, &f) || grant.parse(f.data, f.length) != wire::CodecError::Ok ||
        !grant.get_str(wire::Tag::GrantId, &id))
        return "";
    return std::string(id);
}

}  // namespace

// sudo's session must end with the grant that admitted the sudo (here the
// shorter "ops" grant), not with the user's grant that lasts longest. (The
// session's process is this test: no grant here ends while it runs.)
TEST_F(Sessions, SessionIsFiledUnderTheGrantTheHandleConfirmed) {
    auto ops = daemon.ctl({"--json", "activate", "ops", "--for", "1h"}, {.input = oathtool_code(secret, now()) + "\n"});
    ASSERT_EQ(ops.exit_code, 0) << ops.err;
    auto calm =
        daemon.ctl({"--json", "activate", "calm", "--for", "2h"}, {.input = oathtool_code(secret, now() + 30) + "\n"});
    ASSERT_EQ(calm.exit_code, 0) << calm.err;
    std::string ops_id = json::parse(ops.out)["grant"]["id"];
    std::string calm_id = json::parse(calm.out)["grant"]["id"];
    EXPECT_EQ(filed_under(daemon, "root", ops_id), ops_id);
    // An id that is no active grant of the user: the user's longest grant.
    EXPECT_EQ(filed_under(daemon, "root", "00000000-0000-4000-8000-000000000000"), calm_id);
}

// A non-root caller files sessions for itself only, and never under
// another user's grant, whatever it names.
TEST_F(Sessions, NonRootCallerCannotFileUnderAnotherUsersGrant) {
    auto ops = daemon.ctl({"--json", "activate", "ops", "--for", "1h"}, {.input = oathtool_code(secret, now()) + "\n"});
    ASSERT_EQ(ops.exit_code, 0) << ops.err;
    std::string ops_id = json::parse(ops.out)["grant"]["id"];
    TestUser carol("elvt-carol");
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(carol.gid()) || setuid(carol.uid())) _exit(10);
        if (filed_under(daemon, "root", ops_id) != "error") _exit(1);  // Forbidden
        _exit(filed_under(daemon, "elvt-carol", ops_id).empty() ? 0 : 2);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << WEXITSTATUS(status);
}
