#include "daemon/policy/source.h"

#include "daemon/sessions/process.h"

#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>

#include <cstdlib>
#include <memory>

namespace elevate::policy {

namespace {

// How far up the caller's ancestry the registry is asked: login shells sit a
// few levels below sshd; the bound keeps a request's cost fixed.
constexpr int kMaxAncestors = 64;

std::string_view without_dev(std::string_view tty) {
    if (tty.rfind("/dev/", 0) == 0) tty.remove_prefix(5);
    return tty;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// "/dev/tty2", "tty2", "ttyS0": a virtual console or serial line (PAM_TTY).
bool names_local_terminal(std::string_view tty) {
    tty = without_dev(tty);
    if (tty.rfind("tty", 0) != 0) return false;
    tty.remove_prefix(3);
    if (!tty.empty() && tty.front() == 'S') tty.remove_prefix(1);
    return all_digits(tty);
}

// PAM_TTY names a device (sshd sets it to "ssh" before it has a pty).
bool names_device(std::string_view tty) {
    tty = without_dev(tty);
    return tty.rfind("pts/", 0) == 0 || tty.rfind("tty", 0) == 0;
}

// The caller's own /proc entry, read when a step first needs it: a root
// caller's PAM_RHOST and PAM_TTY (sshd, or sudo's every request inside a
// grant) need none.
class Caller {
public:
    explicit Caller(pid_t pid) : pid_(pid) {}
    const std::optional<sessions::ProcessInfo>& process() {
        if (!read_) {
            info_ = sessions::read_process(pid_);
            read_ = true;
        }
        return info_;
    }

private:
    pid_t pid_;
    bool read_ = false;
    std::optional<sessions::ProcessInfo> info_;
};

std::string terminal_of(const Peer& peer, const SourceClaim& claim, Caller& caller) {
    if (peer.uid == 0 && names_device(claim.tty)) return std::string(without_dev(claim.tty));
    if (const auto& self = caller.process())
        if (auto path = sessions::tty_path(self->tty_nr)) return std::string(without_dev(*path));
    return {};
}

Source remote(std::string_view host, std::string how, std::string session) {
    Source s;
    s.kind = Source::Kind::Remote;
    s.host = std::string(host);
    s.ip = base::parse_ip(host);
    s.how = std::move(how);
    s.session = std::move(session);
    return s;
}

// The first ancestor of the caller (itself included) that opened a
// registered session with a remote host.
std::optional<Source> from_registry(std::optional<sessions::ProcessInfo> p, const SessionByPid& registry) {
    for (int level = 0; p && level < kMaxAncestors; ++level) {
        if (auto r = registry(p->pid, int64_t(p->start_time)); r && !r->rhost.empty()) {
            std::string session = "ssh session " + r->id.substr(0, 8);
            return remote(r->rhost, session + " (pid " + std::to_string(r->pid) + ")", session);
        }
        if (p->pid <= 1 || p->ppid <= 0) break;
        p = sessions::read_process(p->ppid);
    }
    return std::nullopt;
}

Source resolve(const Peer& peer, const SourceClaim& claim, Caller& caller, const SessionByPid& registry,
               const LoginByPid& logind) {
    // Only root peers (sshd, sudo) set PAM items the user cannot forge; a
    // remote host from anyone else is a claim, never evidence.
    if (peer.uid == 0 && !claim.rhost.empty()) return remote(claim.rhost, "PAM_RHOST", "");
    if (logind) {
        if (auto ls = logind(peer.pid)) {
            const std::string session = "logind session " + ls->id;
            if (!ls->remote_host.empty()) return remote(ls->remote_host, session, session);
            if (ls->on_seat_or_vt) {
                Source s;
                s.kind = Source::Kind::Local;
                s.how = s.session = session;
                return s;
            }
        }
    }
    if (registry)
        if (auto s = from_registry(caller.process(), registry)) return *s;
    Source s;
    // A pseudo-terminal alone proves nothing: it may be an ssh session whose
    // sshd does not run pam_elevate's session step.
    if ((peer.uid == 0 && names_local_terminal(claim.tty)) ||
        (caller.process() && sessions::is_local_terminal(caller.process()->tty_nr))) {
        s.kind = Source::Kind::Local;
        s.how = "tty";
        return s;
    }
    s.how = "none";
    return s;
}

}  // namespace

std::string Source::text() const {
    switch (kind) {
        case Kind::Remote:
            return host;
        case Kind::Local:
            return "local";
        case Kind::Unknown:
            break;
    }
    return "unknown";
}

std::optional<LoginSession> logind_session(int64_t pid) {
    if (pid <= 0 || sd_booted() <= 0) return std::nullopt;
    char* raw = nullptr;
    if (sd_pid_get_session(pid_t(pid), &raw) < 0 || raw == nullptr) return std::nullopt;
    std::unique_ptr<char, decltype(&free)> id(raw, free);
    LoginSession ls;
    ls.id = id.get();
    char* host = nullptr;
    if (sd_session_get_remote_host(id.get(), &host) >= 0 && host != nullptr) {
        ls.remote_host = host;
        free(host);
    }
    char* seat = nullptr;
    if (sd_session_get_seat(id.get(), &seat) >= 0 && seat != nullptr) {
        ls.on_seat_or_vt = true;
        free(seat);
    }
    unsigned vt = 0;
    if (sd_session_get_vt(id.get(), &vt) >= 0) ls.on_seat_or_vt = true;
    return ls;
}

Source resolve_source(const Peer& peer, const SourceClaim& claim, const SessionByPid& registry,
                      const LoginByPid& logind) {
    Caller caller(peer.pid);
    Source s = resolve(peer, claim, caller, registry, logind);
    s.tty = terminal_of(peer, claim, caller);
    return s;
}

Source resolve_source(const Peer& peer, const SourceClaim& claim, const SessionByPid& registry) {
    return resolve_source(peer, claim, registry, logind_session);
}

}  // namespace elevate::policy
