#include "daemon/server/server.h"

#include "common/wire/client.h"
#include "common/wire/codec.h"
#include "common/wire/transport.h"
#include "daemon/core/log.h"
#include "daemon/daemon.h"
#include "daemon/server/dispatch.h"

#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <unordered_map>
#include <vector>

namespace elevate::server {

namespace {

enum class Phase { Header, Payload, Parked, Writing };

struct Connection {
    base::UniqueFd fd;
    int64_t deadline_ms = 0;
    Phase phase = Phase::Header;
    uint8_t header[wire::kHeaderSize] = {};
    size_t have = 0;  // bytes of the current phase received
    wire::FrameHeader frame;
    std::vector<uint8_t> payload;
    std::vector<uint8_t> out;
    size_t sent = 0;
    bool waiting_for_out = false;  // registered for EPOLLOUT after a short write
    uint64_t ticket = 0;           // set while (or once) parked
    uid_t uid = 0;                 // SO_PEERCRED at accept, for the per-user count
};

// A warning said at most once a minute, with the number of times it was
// not said in between: a flood must not become a flood of log lines.
struct QuietWarning {
    int64_t next_ms = 0;
    uint64_t held_back = 0;
    void say(const std::string& text) {
        const int64_t now = wire::monotonic_ms();
        if (now < next_ms) {
            ++held_back;
            return;
        }
        daemon::log_warning(
            held_back == 0 ? text : text + " (" + std::to_string(held_back) + " more refused since the last warning)");
        held_back = 0;
        next_ms = now + 60000;
    }
};

}  // namespace

struct Server::Impl : Parking {
    daemon::Daemon& daemon;
    base::UniqueFd listener;
    ServerHooks hooks;
    base::UniqueFd epoll;
    base::UniqueFd signals;
    base::UniqueFd clock_steps;  // readable when the wall clock is set
    std::unordered_map<int, Connection> connections;
    std::vector<int> replies_ready;  // answered in this round, not yet sent
    bool trim_heap = false;          // a large reply was freed this round
    bool stopping = false;
    std::unordered_map<uint64_t, int> parked;  // ticket -> fd
    std::vector<uint64_t> to_resume;           // asked by the daemon this round
    uint64_t last_ticket = 0;
    Connection* current = nullptr;  // the connection whose request is being dispatched
    int64_t park_deadline_ms = 0;
    int64_t next_heartbeat_ms = 0;  // monotonic; 0: the first round beats
    // Open connections per non-root uid, and of all non-root peers: one user
    // cannot take the slots the PAM callers (root: sshd, sudo) need.
    std::unordered_map<uid_t, int> per_user;
    int non_root = 0;
    QuietWarning full_warning, user_warning, room_warning;

    // Parking: called by a handler inside dispatch().
    uint64_t park(int64_t deadline_ms) override {
        if (!current) return 0;
        if (current->ticket == 0) current->ticket = ++last_ticket;
        park_deadline_ms = deadline_ms;
        return current->ticket;
    }

    Impl(daemon::Daemon& d, base::UniqueFd l, ServerHooks h) : daemon(d), listener(std::move(l)), hooks(std::move(h)) {}

    base::Result<void> watch(int fd, uint32_t events) {
        struct epoll_event ev = {};
        ev.events = events;
        ev.data.fd = fd;
        if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return base::errno_error("epoll_ctl");
        return {};
    }

    void close_connection(int fd) {
        auto it = connections.find(fd);
        if (it == connections.end()) return;
        const uint64_t ticket = it->second.ticket;
        const bool was_parked = it->second.phase == Phase::Parked;
        if (const uid_t uid = it->second.uid; uid != 0) {
            --non_root;
            if (auto u = per_user.find(uid); u != per_user.end() && --u->second == 0) per_user.erase(u);
        }
        connections.erase(it);  // UniqueFd closes; epoll forgets closed fds
        if (ticket != 0) parked.erase(ticket);
        if (was_parked && hooks.abandoned) hooks.abandoned(ticket);
    }

    // Whether a new connection of `uid` may be served (docs/CONFIG.md,
    // max_clients_per_user): a non-root user may hold a few, and all
    // non-root users together leave a quarter of max_clients to root.
    bool admit(uid_t uid, const config::DaemonConfig& cfg) {
        if (int(connections.size()) >= cfg.max_clients) {
            full_warning.say("too many clients (max_clients = " + std::to_string(cfg.max_clients) +
                             "); refusing connections");
            return false;
        }
        if (uid == 0) return true;
        if (auto u = per_user.find(uid); u != per_user.end() && u->second >= cfg.max_clients_per_user) {
            user_warning.say("uid " + std::to_string(uid) + " already holds " + std::to_string(u->second) +
                             " connections (max_clients_per_user); refusing more of its connections");
            return false;
        }
        if (non_root >= cfg.max_clients - cfg.max_clients / 4) {
            room_warning.say("non-root clients hold " + std::to_string(non_root) +
                             " connections, all but the quarter of max_clients kept for root (sshd, sudo); "
                             "refusing more non-root connections");
            return false;
        }
        return true;
    }

    void accept_all() {
        for (;;) {
            int raw = accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (raw < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    daemon::log_warning(std::string("accept: ") + strerror(errno));
                return;
            }
            base::UniqueFd fd(raw);
            const auto& cfg = daemon.config().daemon;
            struct ucred cred = {};
            socklen_t len = sizeof cred;
            if (getsockopt(raw, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                daemon::log_warning(std::string("cannot identify a client: SO_PEERCRED: ") + strerror(errno));
                continue;
            }
            if (!admit(cred.uid, cfg)) continue;  // closed at once: the client is told by EOF
            Connection c;
            c.fd = std::move(fd);
            c.uid = cred.uid;
            c.deadline_ms = wire::monotonic_ms() + cfg.client_timeout_ms;
            struct epoll_event ev = {};
            ev.events = EPOLLIN | EPOLLRDHUP;
            ev.data.fd = raw;
            if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, raw, &ev) < 0) {
                daemon::log_warning(std::string("epoll_ctl: ") + strerror(errno));
                continue;
            }
            if (c.uid != 0) {
                ++non_root;
                ++per_user[c.uid];
            }
            auto placed = connections.emplace(raw, std::move(c));
            // The request is usually there already: skip a round trip
            // through epoll_wait.
            on_readable(placed.first->second);
        }
    }

    // Queues a reply frame. It is sent by send_replies(), after the audit
    // records of this round are written.
    void respond(Connection& c, uint8_t op, std::vector<uint8_t> payload) {
        c.out.resize(wire::kHeaderSize);
        wire::encode_header(wire::FrameHeader{wire::kVersion, uint8_t(op | wire::kReplyBit), uint32_t(payload.size())},
                            c.out.data());
        c.out.insert(c.out.end(), payload.begin(), payload.end());
        c.sent = 0;
        c.phase = Phase::Writing;
        replies_ready.push_back(c.fd.get());
    }

    void send_replies() {
        daemon.before_replies();
        std::vector<int> ready;
        ready.swap(replies_ready);
        for (int fd : ready)
            if (auto it = connections.find(fd); it != connections.end()) on_writable(it->second);
    }

    void respond_error(Connection& c, uint8_t op, wire::Status status, const std::string& message) {
        wire::BufferWriter w;
        error_reply(w, status, message);
        respond(c, op, w.take());
    }

    void handle_request(Connection& c, bool deadline_passed = false) {
        const uint8_t op = c.frame.op;
        wire::FieldList fields;
        wire::CodecError e = fields.parse(c.payload.data(), c.payload.size());
        if (e != wire::CodecError::Ok) {
            respond_error(c, op, wire::Status::BadRequest,
                          std::string("malformed request: ") + wire::codec_error_text(e));
            return;
        }
        auto peer = policy::peer_from_socket(c.fd.get(), daemon.config().daemon.admin_group, daemon.identity());
        if (!peer) {
            daemon::log_warning("cannot identify a client: " + peer.error().message);
            respond_error(c, op, wire::Status::Forbidden, "cannot identify the calling user");
            return;
        }
        wire::BufferWriter reply;
        current = &c;
        park_deadline_ms = 0;
        const uint64_t ticket_before = c.ticket;
        bool answered = false;
        try {
            answered = dispatch(daemon, *peer, op, fields, reply, Delivery{this, ticket_before, deadline_passed});
        } catch (const std::exception& thrown) {
            fail_request(c, op, *peer, thrown.what());
            return;
        } catch (...) {
            fail_request(c, op, *peer, "unknown exception");
            return;
        }
        current = nullptr;
        if (answered) {
            if (c.ticket != 0) parked.erase(c.ticket);
            respond(c, op, reply.take());
            return;
        }
        if (c.ticket == 0 || deadline_passed) {
            // A handler must answer once its deadline has passed.
            respond_error(c, op, wire::Status::Unavailable, "no answer in time; try again");
            return;
        }
        c.phase = Phase::Parked;
        c.deadline_ms = park_deadline_ms;
        parked[c.ticket] = c.fd.get();
    }

    // The exception boundary of a request: a handler that throws (out of
    // memory, a container's at()) fails that request alone, with an
    // internal-error reply and an audit record; the connection closes after
    // the reply as always, and every other client goes on.
    void fail_request(Connection& c, uint8_t op, const policy::Peer& peer, const char* what) {
        current = nullptr;
        if (c.ticket != 0) parked.erase(c.ticket);
        const std::string name = wire::op_known(op) ? wire::op_name(wire::Op(op)) : std::to_string(op);
        daemon::log_error("internal error in " + name + " from " + peer.user + " (uid " + std::to_string(peer.uid) +
                          "): " + what + "; the request was not carried out");
        daemon.audit().record(
            {daemon.clock().now(), "internal-error", peer.user, "", "", "", "socket", "error", name + ": " + what});
        respond_error(c, op, wire::Status::Internal,
                      "internal error; the request was not carried out (see the daemon's log)");
    }

    void resume_parked() {
        std::vector<uint64_t> tickets;
        tickets.swap(to_resume);
        for (uint64_t t : tickets) {
            auto p = parked.find(t);
            if (p == parked.end()) continue;
            auto it = connections.find(p->second);
            if (it == connections.end() || it->second.phase != Phase::Parked) continue;
            handle_request(it->second);
        }
    }

    // A parked connection only ever reads EOF (the client gave up) or
    // stray bytes (a protocol error): either way it is closed.
    void on_parked_readable(Connection& c) {
        uint8_t byte;
        ssize_t n = recv(c.fd.get(), &byte, 1, MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        close_connection(c.fd.get());
    }

    // A bad header gets an error reply (in version 1) and the connection is
    // closed after it is written; the payload is never read.
    void handle_header(Connection& c) {
        wire::CodecError e = wire::decode_header(c.header, wire::kHeaderSize, wire::kMaxRequestFrame, &c.frame);
        const uint8_t op = wire::op_known(c.frame.op) ? c.frame.op : 0;
        switch (e) {
            case wire::CodecError::Ok:
                if (c.frame.op & wire::kReplyBit) {
                    respond_error(c, 0, wire::Status::BadRequest, "malformed request: a reply frame was sent");
                    return;
                }
                c.phase = Phase::Payload;
                c.have = 0;
                c.payload.resize(c.frame.length);
                if (c.frame.length == 0) handle_request(c);
                return;
            case wire::CodecError::TooLarge:
                respond_error(c, op, wire::Status::TooLarge,
                              "request of " + std::to_string(c.frame.length) + " bytes exceeds the limit of " +
                                  std::to_string(wire::kMaxRequestFrame - wire::kHeaderSize));
                return;
            case wire::CodecError::BadVersion:
                respond_error(c, op, wire::Status::UnsupportedVersion,
                              "protocol version " + std::to_string(c.frame.version) +
                                  " is not supported (elevated speaks " + std::to_string(wire::kVersion) + ")");
                return;
            default:
                respond_error(c, op, wire::Status::BadRequest,
                              std::string("malformed request: ") + wire::codec_error_text(e));
                return;
        }
    }

    void on_readable(Connection& c) {
        for (;;) {
            uint8_t* dst;
            size_t want;
            if (c.phase == Phase::Header) {
                dst = c.header + c.have;
                want = wire::kHeaderSize - c.have;
            } else if (c.phase == Phase::Payload) {
                dst = c.payload.data() + c.have;
                want = c.payload.size() - c.have;
            } else {
                return;
            }
            ssize_t n = recv(c.fd.get(), dst, want, 0);
            if (n == 0) {
                close_connection(c.fd.get());
                return;
            }
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) close_connection(c.fd.get());
                return;
            }
            c.have += size_t(n);
            if (c.phase == Phase::Header && c.have == wire::kHeaderSize) {
                handle_header(c);
            } else if (c.phase == Phase::Payload && c.have == c.payload.size()) {
                handle_request(c);
            }
            if (c.phase == Phase::Writing) return;
        }
    }

    void on_writable(Connection& c) {
        while (c.sent < c.out.size()) {
            ssize_t n = send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    if (!c.waiting_for_out) {
                        struct epoll_event ev = {};
                        ev.events = EPOLLOUT;
                        ev.data.fd = c.fd.get();
                        epoll_ctl(epoll.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
                        c.waiting_for_out = true;
                    }
                    return;
                }
                break;
            }
            c.sent += size_t(n);
        }
        // One request per connection: done (or the peer went away). After
        // a large reply (an admin list) the heap is handed back below, so
        // the daemon's resident size returns to its steady state.
        if (c.out.size() > (1u << 20)) trim_heap = true;
        close_connection(c.fd.get());
    }

    void expire_connections() {
        const int64_t now = wire::monotonic_ms();
        std::vector<int> late;
        for (const auto& [fd, c] : connections) {
            const bool reply_queued = c.phase == Phase::Writing && !c.waiting_for_out;
            if (c.deadline_ms <= now && !reply_queued) late.push_back(fd);
        }
        for (int fd : late) {
            auto it = connections.find(fd);
            if (it == connections.end()) continue;
            if (it->second.phase == Phase::Parked) {
                handle_request(it->second, /*deadline_passed=*/true);
                continue;
            }
            daemon::log_debug("closing a client that did not finish its request in time");
            close_connection(fd);
        }
    }

    int next_timeout_ms() {
        int64_t timeout = 60000;
        const int64_t now = wire::monotonic_ms();
        for (const auto& [fd, c] : connections) timeout = std::min(timeout, c.deadline_ms - now);
        if (hooks.next_timer_ms) {
            if (auto in_ms = hooks.next_timer_ms()) timeout = std::min(timeout, *in_ms);
        }
        if (heartbeat_on()) timeout = std::min(timeout, next_heartbeat_ms - now);
        return int(std::max<int64_t>(timeout, 0));
    }

    bool heartbeat_on() const { return hooks.heartbeat_ms > 0 && hooks.heartbeat; }
    // Checked every round: a busy loop beats as often as an idle one.
    void beat_if_due() {
        if (!heartbeat_on()) return;
        const int64_t now = wire::monotonic_ms();
        if (now < next_heartbeat_ms) return;
        hooks.heartbeat();
        next_heartbeat_ms = now + hooks.heartbeat_ms;
    }

    // A CLOCK_REALTIME timer armed for the far future with CANCEL_ON_SET:
    // it never expires, but its read fails with ECANCELED as soon as the
    // wall clock is set, which wakes the loop so the timer hook runs.
    base::Result<void> watch_clock_steps() {
        clock_steps.reset(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC));
        if (!clock_steps.ok()) return base::errno_error("timerfd_create");
        if (auto r = arm_clock_steps(); !r) return r;
        return watch(clock_steps.get(), EPOLLIN);
    }
    base::Result<void> arm_clock_steps() {
        // Fifty years ahead rather than the largest time_t: the kernel caps
        // timers near 2262, and libfaketime (tests) shifts the value.
        struct itimerspec far = {};
        clock_gettime(CLOCK_REALTIME, &far.it_value);
        far.it_value.tv_sec += time_t(50) * 365 * 24 * 3600;
        if (timerfd_settime(clock_steps.get(), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &far, nullptr) < 0)
            return base::errno_error("timerfd_settime");
        return {};
    }
    void on_clock_step() {
        uint64_t expirations;
        if (read(clock_steps.get(), &expirations, sizeof expirations) < 0 && errno == ECANCELED) {
            daemon::log_info("the wall clock was set");
            if (auto r = arm_clock_steps(); !r) daemon::log_warning(r.error().message);
        }
    }

    const WatchedFd* watched_fd(int fd) const {
        for (const auto& w : hooks.watched)
            if (w.fd == fd) return &w;
        return nullptr;
    }

    void on_signal() {
        struct signalfd_siginfo si;
        while (read(signals.get(), &si, sizeof si) == ssize_t(sizeof si)) {
            if (si.ssi_signo == SIGHUP) {
                if (hooks.reload) hooks.reload();
            } else {
                daemon::log_info(std::string("received ") + strsignal(int(si.ssi_signo)) + ", shutting down");
                stopping = true;
            }
        }
    }
};

Server::Server(daemon::Daemon& d, base::UniqueFd listener, ServerHooks hooks)
    : impl_(std::make_unique<Impl>(d, std::move(listener), std::move(hooks))) {}

Server::~Server() = default;

base::Result<void> Server::init() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return base::errno_error("sigprocmask");
    impl_->signals.reset(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!impl_->signals.ok()) return base::errno_error("signalfd");
    signal(SIGPIPE, SIG_IGN);

    impl_->epoll.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!impl_->epoll.ok()) return base::errno_error("epoll_create1");
    if (auto r = impl_->watch(impl_->listener.get(), EPOLLIN); !r) return r;
    for (const auto& w : impl_->hooks.watched)
        if (auto r = impl_->watch(w.fd, EPOLLIN); !r) return r;
    // Without it a clock set forward is still seen within a minute.
    if (auto r = impl_->watch_clock_steps(); !r)
        daemon::log_warning("cannot watch for wall clock changes: " + r.error().message);
    return impl_->watch(impl_->signals.get(), EPOLLIN);
}

void Server::resume(uint64_t ticket) {
    impl_->to_resume.push_back(ticket);
}

base::Result<void> Server::run() {
    auto& s = *impl_;
    std::vector<struct epoll_event> events(256);
    while (!s.stopping) {
        s.beat_if_due();
        int n = epoll_wait(s.epoll.get(), events.data(), int(events.size()), s.next_timeout_ms());
        if (n < 0) {
            if (errno == EINTR) continue;
            return base::errno_error("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            int fd = events[size_t(i)].data.fd;
            if (fd == s.listener.get()) {
                s.accept_all();
            } else if (fd == s.signals.get()) {
                s.on_signal();
            } else if (fd == s.clock_steps.get()) {
                s.on_clock_step();
            } else if (auto w = s.watched_fd(fd)) {
                w->on_readable();
            } else if (auto it = s.connections.find(fd); it != s.connections.end()) {
                Connection& c = it->second;
                if (c.phase == Phase::Writing) {
                    if (c.waiting_for_out) s.on_writable(c);
                } else if (c.phase == Phase::Parked) {
                    s.on_parked_readable(c);
                } else if (events[size_t(i)].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                    s.on_readable(c);
                }
            }
        }
        if (s.hooks.timer) s.hooks.timer();
        s.resume_parked();
        s.expire_connections();
        s.send_replies();
        if (s.hooks.after_replies) s.hooks.after_replies();
        if (s.trim_heap) {
            malloc_trim(0);
            s.trim_heap = false;
        }
    }
    s.send_replies();
    return {};
}

}  // namespace elevate::server
