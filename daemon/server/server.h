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

namespace elevate::daemon {
class Daemon;
}

namespace elevate::server {

struct ServerHooks {
    std::function<void()> reload;                             // SIGHUP
    std::function<std::optional<int64_t>()> next_wall_timer;  // epoch seconds
    std::function<void()> timer;                              // when that time is reached
};

class Server {
public:
    Server(daemon::Daemon& d, base::UniqueFd listener, ServerHooks hooks);
    ~Server();

    // Blocks SIGHUP/SIGTERM/SIGINT (delivered via signalfd) and sets up epoll.
    base::Result<void> init();
    // Runs until SIGTERM/SIGINT. Returns an error only if the loop breaks.
    base::Result<void> run();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace elevate::server
