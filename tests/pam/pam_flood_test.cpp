// Issue 8.7 (DESIGN.md invariant 10): an ordinary user who opens far more
// connections to the real elevated than it may hold, and keeps them open,
// cannot take the slots pam_elevate needs: sudo's PAM transaction (a root
// peer) for another user still works, the flood's extra connections are
// refused at once, and the log says why once, not once per connection.
#include "harness.h"
#include "pam_support.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace elevate::test;
using namespace elevate::pamtest;

namespace {

// client_timeout: the flood's silent connections stay for the whole test.
const char kConfig[] = R"(max_clients = 64
client_timeout = "60s"
)";
const char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "ops"
gid = 61151
eligible_users = ["root"]
)";

constexpr int kFlood = 200;  // far more than max_clients (64), let alone the per-user cap (16)

size_t count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

// The flood, in a forked child that becomes `user`: opens kFlood
// connections, reports how many the daemon closed at once (refused) and how
// many it holds, then keeps them all open until `release` is closed.
[[noreturn]] void flood(const TestUser& user, const std::string& socket, int report, int release) {
    if (setgroups(0, nullptr) != 0 || setgid(user.gid()) != 0 || setuid(user.uid()) != 0) _exit(100);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    std::vector<int> fds;
    for (int i = 0; i < kFlood; ++i) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(101);
        fds.push_back(fd);
    }
    // A refused connection reads EOF; the daemon gets through its backlog
    // in far less than the pause.
    ::usleep(500 * 1000);
    std::vector<pollfd> polled;
    for (int fd : fds) polled.push_back(pollfd{fd, POLLIN, 0});
    const int refused = ::poll(polled.data(), polled.size(), 0);
    int counts[2] = {refused, kFlood - refused};
    if (::write(report, counts, sizeof counts) != ssize_t(sizeof counts)) _exit(102);
    char byte;
    while (::read(release, &byte, 1) > 0) {
    }
    _exit(0);
}

struct FloodOutcome {
    ::testing::AssertionResult sudo = ::testing::AssertionFailure();
    std::string sudo_errors;
    int status_exit = -1;
    int refused = -1;  // of the flood's connections, closed by the daemon at once
    int held = -1;     // and kept
    std::string log;
    uid_t flooder = 0;
};

// Floods the daemon as an ordinary user, then runs sudo's PAM transaction
// (a root peer) for root: JIT activation with a code, then account.
FloodOutcome flood_then_sudo(const std::string& daemon_keys) {
    FloodOutcome out;
    TestUser flooder("elvt-flood");
    out.flooder = flooder.uid();
    Daemon daemon(daemon_keys + kRoles);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    write_service("sudo-flood", elevate_line("auth", "required", daemon.socket(), "activate=ops") +
                                    elevate_line("account", "required", daemon.socket(), "require_grant=ops"));

    int report[2], release[2];
    if (pipe2(report, O_CLOEXEC) != 0 || pipe2(release, O_CLOEXEC) != 0) return out;
    const std::string runtime_dir = std::getenv("PAM_WRAPPER_RUNTIME_DIR");
    pid_t pid = fork();
    if (pid == 0) {
        // The parent's ends: with the write end of `release` open here too,
        // the child would never read its EOF.
        close(report[0]);
        close(release[1]);
        discard_child_runtime_dir(runtime_dir);
        flood(flooder, daemon.socket(), report[1], release[0]);
    }
    close(report[1]);
    close(release[0]);
    int counts[2] = {-1, -1};
    if (pid > 0 && read(report[0], counts, sizeof counts) == ssize_t(sizeof counts)) {
        out.refused = counts[0];
        out.held = counts[1];
    }
    close(report[0]);

    Conversation conv({oathtool_code(secret, now())});
    out.sudo = run_cases("sudo-flood", "root", conv,
                         {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS), pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)});
    out.sudo_errors = conv.all_errors();
    out.status_exit = daemon.ctl({"status"}).exit_code;

    close(release[1]);
    if (pid > 0) waitpid(pid, nullptr, 0);
    out.log = daemon.log();
    return out;
}

}  // namespace

TEST(PamFlood, OneUsersConnectionsCannotLockSudoOut) {
    FloodOutcome o = flood_then_sudo(kConfig);
    EXPECT_TRUE(o.sudo) << o.sudo_errors;
    EXPECT_EQ(o.status_exit, 0);
    EXPECT_EQ(o.held, 16) << "connections the flooding user holds (max_clients_per_user defaults to 16)";
    EXPECT_EQ(o.refused, kFlood - 16) << "connections refused at once";
    // Said once, not once per refused connection.
    EXPECT_EQ(count(o.log, "(max_clients_per_user); refusing more of its connections"), 1u) << o.log;
    EXPECT_NE(o.log.find("uid " + std::to_string(o.flooder) + " already holds 16"), std::string::npos) << o.log;
}

// With a per-user limit too high to bind, non-root peers together still
// leave a quarter of max_clients (16 of 64) to root.
TEST(PamFlood, NonRootPeersLeaveRoomForRoot) {
    FloodOutcome o = flood_then_sudo(std::string(kConfig) + "max_clients_per_user = 64\n");
    EXPECT_TRUE(o.sudo) << o.sudo_errors;
    EXPECT_EQ(o.status_exit, 0);
    EXPECT_EQ(o.held, 48) << "three quarters of max_clients";
    EXPECT_EQ(count(o.log, "kept for root (sshd, sudo); refusing more non-root connections"), 1u) << o.log;
}
