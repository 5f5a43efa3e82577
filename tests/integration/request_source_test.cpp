// Where a request comes from, through a real daemon: a root peer's
// RemoteHost is the source; a non-root peer's is ignored; a process below
// one that registered a session (as sshd does through pam_elevate's session
// step) comes from that session's remote host. Seen in the grant's source.
#include "harness.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace elevate;
using namespace elevate::test;
using nlohmann::json;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "ops"
gid = 61061
eligible_users = ["root", "elvt-src"]
default_duration = "1h"

[[role]]
name = "ops2"
gid = 61062
eligible_users = ["elvt-src"]
default_duration = "1h"
)";

// Activates `role` for the calling process's user with a code, as a client
// claiming RemoteHost `rhost` (empty: none); true if a grant came back.
bool activate(Daemon& daemon, const std::string& code, const std::string& rhost, const std::string& role = "ops") {
    wire::BufferWriter w;
    w->put_str(wire::Tag::Role, role);
    w->put_str(wire::Tag::Code, code);
    w->put_str(wire::Tag::Service, "test");
    if (!rhost.empty()) w->put_str(wire::Tag::RemoteHost, rhost);
    auto r = daemon.call(wire::Op::Activate, w.take());
    return r && r->status == wire::Status::Ok && r->fields.has(wire::Tag::Grant);
}

// Registers a session for `user` claiming RemoteHost `rhost`; its id, or "".
std::string open_session(Daemon& daemon, const std::string& user, const std::string& rhost) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, user);
    w->put_str(wire::Tag::Service, "sshd");
    w->put_str(wire::Tag::RemoteHost, rhost);
    auto r = daemon.call(wire::Op::SessionOpen, w.take());
    std::string_view id;
    if (!r || r->status != wire::Status::Ok || !r->fields.get_str(wire::Tag::SessionId, &id)) return "";
    return std::string(id);
}

// Runs `fn` in a child process (as `user` if given) and returns whether it
// exited 0.
template <typename Fn>
bool in_child(const TestUser* user, Fn fn) {
    pid_t pid = fork();
    if (pid == 0) {
        if (user && (setgid(user->gid()) || setuid(user->uid()))) _exit(10);
        _exit(fn() ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class Sources : public ::testing::Test {
protected:
    void SetUp() override { daemon.start(); }

    // The source of `who`'s active grant of `role`.
    std::string grant_source(const std::string& who, const std::string& role = "ops") {
        auto r = daemon.ctl({"--json", "list"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        const json list = json::parse(r.out);
        for (const auto& g : list["grants"])
            if (g["user"] == who && g["role"] == role) return g["source"];
        return "(no grant)";
    }
    // Successive codes: a code of each step is accepted once.
    std::string code(const std::string& secret) { return oathtool_code(secret, now() + 30 * steps_++); }

    TestUser user{"elvt-src"};
    Daemon daemon{kRoles};
    int steps_ = 0;
};

}  // namespace

TEST_F(Sources, ARootClientsRemoteHostIsTheSource) {
    const std::string secret = daemon.enroll("root");
    ASSERT_TRUE(activate(daemon, code(secret), "10.1.2.3"));
    EXPECT_EQ(grant_source("root").rfind("test from 10.1.2.3", 0), 0u) << grant_source("root");
}

TEST_F(Sources, ANonRootClientsRemoteHostIsIgnored) {
    const std::string secret = daemon.enroll(user.name());
    const std::string c = code(secret);
    ASSERT_TRUE(in_child(&user, [&] { return activate(daemon, c, "10.1.2.3"); }));
    const std::string source = grant_source(user.name());
    EXPECT_EQ(source.rfind("test from unknown", 0), 0u) << source;
    EXPECT_EQ(source.find("10.1.2.3"), std::string::npos) << source;
}

TEST_F(Sources, AProcessBelowARegisteredSessionComesFromItsRemoteHost) {
    const std::string secret = daemon.enroll(user.name());
    const std::string first = code(secret), second = code(secret);
    // A root process (sshd's) registers the session; the user's process
    // below it activates without claiming anything.
    ASSERT_TRUE(in_child(nullptr, [&] {
        const std::string id = open_session(daemon, user.name(), "127.0.0.2");
        if (id.empty()) return false;
        return in_child(&user, [&] { return activate(daemon, first, ""); });
    }));
    const std::string source = grant_source(user.name());
    EXPECT_EQ(source.rfind("test from 127.0.0.2 (ssh session ", 0), 0u) << source;

    // The registry is read back at start: a session opened before a restart
    // still gives the source of a process below it after the restart.
    int ready[2], go[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(go), 0);
    pid_t holder = fork();
    if (holder == 0) {
        close(ready[0]);
        close(go[1]);
        const bool opened = !open_session(daemon, user.name(), "127.0.0.2").empty();
        if (write(ready[1], opened ? "1" : "0", 1) != 1 || !opened) _exit(2);
        _exit(in_child(&user,
                       [&] {
                           char c;
                           return read(go[0], &c, 1) == 1 && activate(daemon, second, "", "ops2");
                       })
                  ? 0
                  : 1);
    }
    close(ready[1]);
    close(go[0]);
    char opened = 0;
    const bool was_opened = read(ready[0], &opened, 1) == 1 && opened == '1';
    if (was_opened) {
        daemon.stop();
        daemon.start();
    }
    EXPECT_EQ(write(go[1], "g", 1), 1);
    close(go[1]);
    close(ready[0]);
    int status = 0;
    waitpid(holder, &status, 0);
    ASSERT_TRUE(was_opened);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(grant_source(user.name(), "ops2").rfind("test from 127.0.0.2 (ssh session ", 0), 0u)
        << grant_source(user.name(), "ops2");
}

TEST_F(Sources, AClosedSessionIsNoSourceAnyMore) {
    const std::string secret = daemon.enroll(user.name());
    const std::string c = code(secret);
    ASSERT_TRUE(in_child(nullptr, [&] {
        const std::string id = open_session(daemon, user.name(), "127.0.0.2");
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, user.name());
        w->put_str(wire::Tag::SessionId, id);
        auto closed = daemon.call(wire::Op::SessionClose, w.take());
        if (id.empty() || !closed || closed->status != wire::Status::Ok) return false;
        return in_child(&user, [&] { return activate(daemon, c, ""); });
    }));
    EXPECT_EQ(grant_source(user.name()).rfind("test from unknown", 0), 0u) << grant_source(user.name());
}

TEST_F(Sources, ANonRootPeerCannotPlantASourceForItsChildren) {
    const std::string secret = daemon.enroll(user.name());
    const std::string c = code(secret);
    ASSERT_TRUE(in_child(&user, [&] {
        if (open_session(daemon, user.name(), "10.6.6.6").empty()) return false;
        return in_child(nullptr, [&] { return activate(daemon, c, ""); });
    }));
    const std::string source = grant_source(user.name());
    EXPECT_EQ(source.rfind("test from unknown", 0), 0u) << source;
}
