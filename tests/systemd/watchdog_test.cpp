// The systemd handshake of the built elevated, with this test in systemd's
// place: NOTIFY_SOCKET names a datagram socket the test owns, WATCHDOG_USEC
// and WATCHDOG_PID are set as systemd sets them for a unit with
// WatchdogSec= (WATCHDOG_PID is the daemon's own pid, which
// sd_watchdog_enabled checks). The daemon must say READY=1 and then
// WATCHDOG=1 from its event loop, about every half interval, also while it
// serves requests; with the watchdog meant for another process, or none,
// it must not send any.
#include "../integration/harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

using namespace elevate;
using namespace elevate::test;

namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// The test's end of NOTIFY_SOCKET: one datagram per sd_notify() call.
class NotifySocket {
public:
    explicit NotifySocket(const std::string& path) : path_(path) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket(AF_UNIX, SOCK_DGRAM)");
        struct sockaddr_un addr = {};
        addr.sun_family = AF_UNIX;
        if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("notify socket path too long: " + path);
        path.copy(addr.sun_path, path.size());
        if (bind(fd_, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
            throw std::runtime_error("bind " + path);
    }
    ~NotifySocket() {
        close(fd_);
        unlink(path_.c_str());
    }
    const std::string& path() const { return path_; }

    // The next message, or "" when none came within `timeout_ms`.
    std::string next(int timeout_ms) {
        struct pollfd p = {fd_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return {};
        char buf[4096];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, size_t(n)) : std::string();
    }

private:
    std::string path_;
    int fd_ = -1;
};

bool has_line(const std::string& message, const std::string& line) {
    size_t start = 0;
    while (start <= message.size()) {
        size_t end = message.find('\n', start);
        if (end == std::string::npos) end = message.size();
        if (message.compare(start, end - start, line) == 0) return true;
        start = end + 1;
    }
    return false;
}

enum class WatchdogPid { Own, Other, Unset };

// The built elevated, started as systemd starts a Type=notify unit with
// WatchdogSec=: the environment is set in the child, after fork, so
// WATCHDOG_PID can be the daemon's own pid.
class NotifiedDaemon {
public:
    NotifiedDaemon(Daemon& config, const std::string& notify_socket, int64_t watchdog_usec, WatchdogPid pid_mode)
        : config_(config), log_path_(config.dir() + "/notified.log") {
        const std::string other_pid = std::to_string(getpid());  // the test: not the daemon
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork");
        if (pid_ == 0) {
            int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            dup2(fd, 1);
            dup2(fd, 2);
            setenv("NOTIFY_SOCKET", notify_socket.c_str(), 1);
            if (watchdog_usec > 0) setenv("WATCHDOG_USEC", std::to_string(watchdog_usec).c_str(), 1);
            if (pid_mode == WatchdogPid::Own) setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
            if (pid_mode == WatchdogPid::Other) setenv("WATCHDOG_PID", other_pid.c_str(), 1);
            execl(elevated_bin().c_str(), "elevated", "--debug", "--config", config.config_path().c_str(),
                  static_cast<char*>(nullptr));
            _exit(127);
        }
    }
    ~NotifiedDaemon() {
        kill(pid_, SIGKILL);
        int status;
        waitpid(pid_, &status, 0);
    }
    pid_t pid() const { return pid_; }
    std::string log() { return read_file(log_path_); }
    bool ping() {
        auto r = config_.call(wire::Op::Ping, {});
        return r && r->status == wire::Status::Ok;
    }

private:
    Daemon& config_;
    std::string log_path_;
    pid_t pid_ = -1;
};

// Messages until one has READY=1 (within 20 s: a loaded machine); false if
// a WATCHDOG=1 came first or READY=1 never did.
::testing::AssertionResult wait_ready(NotifySocket& notify) {
    const auto start = Clock::now();
    while (ms_since(start) < 20000) {
        const std::string m = notify.next(500);
        if (has_line(m, "WATCHDOG=1")) return ::testing::AssertionFailure() << "WATCHDOG=1 before READY=1: " << m;
        if (has_line(m, "READY=1")) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "no READY=1 within 20 s";
}

// Counts WATCHDOG=1 messages for `window_ms`; `gaps` gets the time between
// consecutive ones.
int count_heartbeats(NotifySocket& notify, int64_t window_ms, std::vector<int64_t>* gaps = nullptr) {
    const auto start = Clock::now();
    int count = 0;
    std::optional<Clock::time_point> last;
    while (ms_since(start) < window_ms) {
        const std::string m = notify.next(int(std::max<int64_t>(1, window_ms - ms_since(start))));
        if (!has_line(m, "WATCHDOG=1")) continue;
        ++count;
        const auto now = Clock::now();
        if (last && gaps) gaps->push_back(std::chrono::duration_cast<std::chrono::milliseconds>(now - *last).count());
        last = now;
    }
    return count;
}

}  // namespace

TEST(Watchdog, ReadyThenHeartbeatsAtHalfTheInterval) {
    Daemon config;
    NotifySocket notify(config.dir() + "/notify.sock");
    const int64_t interval_ms = 600;  // WatchdogSec=600ms: a heartbeat every 300 ms
    NotifiedDaemon daemon(config, notify.path(), interval_ms * 1000, WatchdogPid::Own);
    ASSERT_TRUE(wait_ready(notify)) << daemon.log();
    EXPECT_TRUE(daemon.ping()) << daemon.log();

    std::vector<int64_t> gaps;
    const int beats = count_heartbeats(notify, 3000, &gaps);
    // 10 expected in 3 s; at least two, however loaded the machine is.
    EXPECT_GE(beats, 2) << daemon.log();
    // Never faster than half the interval (a loop that beats every round
    // would), whatever the load: load only makes a heartbeat late. 20 ms of
    // slack for the two clocks' rounding.
    for (int64_t gap : gaps) EXPECT_GE(gap, interval_ms / 2 - 20) << "heartbeats " << gap << " ms apart";
    EXPECT_NE(daemon.log().find("systemd watchdog: WATCHDOG=1 every 300 ms"), std::string::npos) << daemon.log();
}

TEST(Watchdog, HeartbeatsContinueWhileServing) {
    Daemon config;
    NotifySocket notify(config.dir() + "/notify.sock");
    NotifiedDaemon daemon(config, notify.path(), 400 * 1000, WatchdogPid::Own);
    ASSERT_TRUE(wait_ready(notify)) << daemon.log();
    // Requests keep the loop busy (a timeout never expires); the heartbeat
    // must still come from it.
    std::atomic<bool> done{false};
    std::atomic<int> served{0};
    std::thread client([&] {
        while (!done)
            if (daemon.ping()) ++served;
    });
    const int beats = count_heartbeats(notify, 2000);
    done = true;
    client.join();
    EXPECT_GT(served.load(), 10) << daemon.log();
    EXPECT_GE(beats, 2) << served.load() << " requests served; " << daemon.log();
}

TEST(Watchdog, NoHeartbeatForAnotherProcessOrWithoutWatchdog) {
    for (WatchdogPid mode : {WatchdogPid::Other, WatchdogPid::Unset}) {
        Daemon config;
        NotifySocket notify(config.dir() + "/notify.sock");
        // WATCHDOG_PID of another process: the watchdog is not this one's.
        // No WATCHDOG_USEC at all: no watchdog.
        NotifiedDaemon daemon(config, notify.path(), mode == WatchdogPid::Other ? 200 * 1000 : 0, mode);
        ASSERT_TRUE(wait_ready(notify)) << daemon.log();
        EXPECT_TRUE(daemon.ping()) << daemon.log();
        // Five intervals of 200 ms with a request in between: no heartbeat.
        EXPECT_EQ(count_heartbeats(notify, 500), 0) << daemon.log();
        EXPECT_TRUE(daemon.ping()) << daemon.log();
        EXPECT_EQ(count_heartbeats(notify, 500), 0) << daemon.log();
        EXPECT_EQ(daemon.log().find("systemd watchdog"), std::string::npos) << daemon.log();
    }
}

TEST(Watchdog, UnsetWatchdogPidMeansThisProcess) {
    Daemon config;
    NotifySocket notify(config.dir() + "/notify.sock");
    // sd_watchdog_enabled: without WATCHDOG_PID the watchdog is the
    // receiver's (how a service started by hand under a wrapper sees it).
    NotifiedDaemon daemon(config, notify.path(), 400 * 1000, WatchdogPid::Unset);
    ASSERT_TRUE(wait_ready(notify)) << daemon.log();
    EXPECT_GE(count_heartbeats(notify, 2000), 2) << daemon.log();
}
