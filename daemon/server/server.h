// The event loop: one thread, epoll, non-blocking sockets. Each connection
// carries one request and one reply, under a deadline; a slow or silent
// client only ever holds its own connection. Signals arrive through a
// signalfd so reload and shutdown happen between requests, never inside one.
#pragma once

#include "common/base/result.h"
#include "common/base/unique_fd.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace elevate::daemon {
class Daemon;
}

namespace elevate::server {

// A descriptor the loop watches for the daemon (e.g. the HTTPS client's
// completion eventfd); `on_readable` runs on the loop's thread.
struct WatchedFd {
    int fd = -1;
    std::function<void()> on_readable;
};

struct ServerHooks {
    std::function<void()> reload;                           // SIGHUP
    std::function<std::optional<int64_t>()> next_timer_ms;  // how long until timer() has work
    // When that time has come, and whenever the wall clock is set (a step
    // that epoll's monotonic timeout cannot see).
    std::function<void()> timer;
    std::function<void()> after_replies;  // each round, once its replies are sent
    std::vector<WatchedFd> watched;
    // A parked request's client went away before its answer (ticket).
    std::function<void(uint64_t)> abandoned;
    // The systemd watchdog: `heartbeat` runs on the loop's thread at the
    // start of run() and then every `heartbeat_ms` (0: never), the loop's
    // wait never longer than the time to the next one. Only a loop that
    // still turns sends it, so systemd restarts a wedged daemon.
    int64_t heartbeat_ms = 0;
    std::function<void()> heartbeat;
};

class Server {
public:
    Server(daemon::Daemon& d, base::UniqueFd listener, ServerHooks hooks);
    ~Server();

    // Blocks SIGHUP/SIGTERM/SIGINT (delivered via signalfd) and sets up epoll.
    base::Result<void> init();
    // Runs until SIGTERM/SIGINT. Returns an error only if the loop breaks.
    base::Result<void> run();

    // Dispatches a parked request again (see Parking in dispatch.h), after
    // the current round of events; unknown or closed tickets are ignored.
    void resume(uint64_t ticket);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace elevate::server
