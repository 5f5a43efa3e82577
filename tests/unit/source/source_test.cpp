// Where a request comes from: /proc parsing and the resolution order, on
// this test's own process tree (a forked child whose parent "opened" a
// registered session).
#include "daemon/policy/source.h"
#include "daemon/sessions/process.h"

#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace elevate;
using policy::Source;

namespace {

// A child process that waits until destroyed: a caller one level below us.
class Child {
public:
    Child() {
        if (pipe(fds_) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            close(fds_[1]);
            char c;
            while (read(fds_[0], &c, 1) > 0) {
            }
            _exit(0);
        }
        close(fds_[0]);
    }
    ~Child() {
        close(fds_[1]);
        waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }

private:
    int fds_[2];
    pid_t pid_ = -1;
};

policy::Peer peer_of(pid_t pid, uid_t uid) {
    policy::Peer p;
    p.pid = pid;
    p.uid = uid;
    return p;
}

int64_t start_of(pid_t pid) {
    auto info = sessions::read_process(pid);
    return info ? int64_t(info->start_time) : -1;
}

// The registry knows one session, opened by process (pid, start).
policy::SessionByPid registry_with(pid_t pid, int64_t start, std::string rhost) {
    return [=](int64_t p, int64_t s) -> std::optional<policy::RegisteredSession> {
        if (p == pid && s == start) return policy::RegisteredSession{"1a2b3c4d5e6f", rhost, pid};
        return std::nullopt;
    };
}

const policy::LoginByPid no_logind = [](int64_t) { return std::nullopt; };

std::string stat_line(const std::string& comm) {
    // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
    // majflt cmajflt utime stime cutime cstime priority nice threads
    // itrealvalue starttime vsize ...
    return "4242 (" + comm + ") S 77 4242 4242 34817 4242 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 0";
}

}  // namespace

TEST(ParseStat, ReadsFieldsAfterTheLastParenthesis) {
    for (const std::string comm : {"bash", "a b", "x) S 1 2 3 4 (y", "))", "(sd-pam)"}) {
        auto p = sessions::parse_stat(4242, stat_line(comm));
        ASSERT_TRUE(p) << comm;
        EXPECT_EQ(p->ppid, 77) << comm;
        EXPECT_EQ(p->tty_nr, 34817) << comm;
        EXPECT_EQ(p->start_time, 987654u) << comm;
    }
}

TEST(ParseStat, RefusesTruncatedLines) {
    EXPECT_FALSE(sessions::parse_stat(1, ""));
    EXPECT_FALSE(sessions::parse_stat(1, "1 (init"));
    EXPECT_FALSE(sessions::parse_stat(1, "1 (init)"));
    EXPECT_FALSE(sessions::parse_stat(1, "1 (init) S 0 1 1"));
}

TEST(ParseStat, ReadsThisProcess) {
    auto self = sessions::read_process(getpid());
    ASSERT_TRUE(self);
    EXPECT_EQ(self->ppid, getppid());
    EXPECT_GT(self->start_time, 0u);
}

TEST(LocalTerminal, VirtualConsolesAndSerialLinesOnly) {
    auto nr = [](unsigned major, unsigned minor) {
        return int((minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12));
    };
    EXPECT_TRUE(sessions::is_local_terminal(nr(4, 1)));     // tty1
    EXPECT_TRUE(sessions::is_local_terminal(nr(4, 64)));    // ttyS0
    EXPECT_FALSE(sessions::is_local_terminal(nr(136, 1)));  // pts/1
    EXPECT_FALSE(sessions::is_local_terminal(0));
}

TEST(ResolveSource, RootPeersRemoteHostIsUsedAsIs) {
    auto s = policy::resolve_source(peer_of(getpid(), 0), {"10.1.2.3", ""}, {}, no_logind);
    EXPECT_EQ(s.kind, Source::Kind::Remote);
    EXPECT_EQ(s.text(), "10.1.2.3");
    EXPECT_EQ(s.how, "PAM_RHOST");
    ASSERT_TRUE(s.ip);
    EXPECT_EQ(base::format_ip(*s.ip), "10.1.2.3");

    auto name = policy::resolve_source(peer_of(getpid(), 0), {"bastion.example.com", ""}, {}, no_logind);
    EXPECT_EQ(name.text(), "bastion.example.com");
    EXPECT_FALSE(name.ip);
    auto zoned = policy::resolve_source(peer_of(getpid(), 0), {"fe80::1%eth0", ""}, {}, no_logind);
    EXPECT_EQ(zoned.kind, Source::Kind::Remote);
    EXPECT_EQ(zoned.host, "fe80::1%eth0");
    EXPECT_FALSE(zoned.ip);
}

TEST(ResolveSource, NonRootPeersRemoteHostAndTtyAreIgnored) {
    Child child;
    auto s = policy::resolve_source(peer_of(child.pid(), 1000), {"10.1.2.3", "tty1"}, {}, no_logind);
    EXPECT_EQ(s.text(), "unknown");
    EXPECT_EQ(s.how, "none");
    EXPECT_FALSE(s.ip);
    EXPECT_NE(s.tty, "tty1");
}

TEST(ResolveSource, AnAncestorsRegisteredSessionGivesTheSource) {
    Child child;
    const auto registry = registry_with(getpid(), start_of(getpid()), "127.0.0.2");
    for (uid_t uid : {uid_t(0), uid_t(1000)}) {
        // A non-root peer's claim loses to the registry; a root peer without
        // a remote host (sudo) is found through it.
        auto s = policy::resolve_source(peer_of(child.pid(), uid), {uid ? "10.1.2.3" : "", ""}, registry, no_logind);
        EXPECT_EQ(s.kind, Source::Kind::Remote) << uid;
        EXPECT_EQ(s.text(), "127.0.0.2") << uid;
        EXPECT_EQ(s.session, "ssh session 1a2b3c4d") << uid;
        EXPECT_EQ(s.how, "ssh session 1a2b3c4d (pid " + std::to_string(getpid()) + ")") << uid;
        ASSERT_TRUE(s.ip);
    }
    // PAM_RHOST of a root peer comes first.
    EXPECT_EQ(policy::resolve_source(peer_of(child.pid(), 0), {"10.9.9.9", ""}, registry, no_logind).text(),
              "10.9.9.9");
}

TEST(ResolveSource, ARegisteredSessionOfAnotherProcessInstanceDoesNotCount) {
    Child child;
    // Same pid, other start time: the pid was reused since the session opened.
    auto s = policy::resolve_source(peer_of(child.pid(), 1000), {},
                                    registry_with(getpid(), start_of(getpid()) + 1, "127.0.0.2"), no_logind);
    EXPECT_EQ(s.text(), "unknown");
    // A session without a remote host is no source either.
    auto local = policy::resolve_source(peer_of(child.pid(), 1000), {}, registry_with(getpid(), start_of(getpid()), ""),
                                        no_logind);
    EXPECT_EQ(local.text(), "unknown");
}

TEST(ResolveSource, LogindComesBeforeTheRegistry) {
    Child child;
    const auto registry = registry_with(getpid(), start_of(getpid()), "127.0.0.2");
    auto remote = [](int64_t) { return std::optional<policy::LoginSession>({"4", "192.0.2.7", false}); };
    auto s = policy::resolve_source(peer_of(child.pid(), 1000), {}, registry, remote);
    EXPECT_EQ(s.text(), "192.0.2.7");
    EXPECT_EQ(s.how, "logind session 4");
    auto seat = [](int64_t) { return std::optional<policy::LoginSession>({"2", "", true}); };
    auto local = policy::resolve_source(peer_of(child.pid(), 1000), {}, registry, seat);
    EXPECT_EQ(local.kind, Source::Kind::Local);
    EXPECT_EQ(local.how, "logind session 2");
    // A logind session that is neither remote nor on a seat says nothing.
    auto neither = [](int64_t) { return std::optional<policy::LoginSession>({"c1", "", false}); };
    EXPECT_EQ(policy::resolve_source(peer_of(child.pid(), 1000), {}, registry, neither).text(), "127.0.0.2");
}

TEST(ResolveSource, ARootPeersConsoleTtyIsLocalAPseudoTerminalIsNot) {
    Child child;  // no controlling terminal of its own that is a console (CI, ssh)
    for (const char* tty : {"tty1", "/dev/tty2", "ttyS0", "/dev/ttyS1"}) {
        auto s = policy::resolve_source(peer_of(child.pid(), 0), {"", tty}, {}, no_logind);
        EXPECT_EQ(s.text(), "local") << tty;
        EXPECT_EQ(s.how, "tty") << tty;
    }
    for (const char* tty : {"pts/3", "/dev/pts/0", "ssh", "tty", "ttyX1", ""}) {
        auto s = policy::resolve_source(peer_of(child.pid(), 0), {"", tty}, {}, no_logind);
        EXPECT_EQ(s.text(), "unknown") << tty;
    }
}

TEST(ResolveSource, TheTerminalShownIsARootPeersDeviceWithoutDev) {
    Child child;
    EXPECT_EQ(policy::resolve_source(peer_of(child.pid(), 0), {"", "/dev/pts/3"}, {}, no_logind).tty, "pts/3");
    EXPECT_EQ(policy::resolve_source(peer_of(child.pid(), 0), {"", "ssh"}, {}, no_logind).tty.find("ssh"),
              std::string::npos);
    EXPECT_EQ(policy::resolve_source(peer_of(child.pid(), 1000), {"", "/dev/pts/99"}, {}, no_logind).tty.find("99"),
              std::string::npos);
}
