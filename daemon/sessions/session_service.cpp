#include "daemon/sessions/session_service.h"

#include "common/base/unique_fd.h"

#include "daemon/core/log.h"
#include "daemon/sessions/process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace elevate::sessions {

namespace {

// The terminal to warn on: the session's PAM_TTY when it names a device,
// otherwise the first controlling terminal found in its process tree (sshd
// sets PAM_TTY to "ssh" and allocates the pty later).
std::optional<std::string> warning_tty(const store::Session& s, const std::vector<ProcessInfo>& tree) {
    if (s.tty.rfind("/dev/", 0) == 0) return s.tty;
    if (s.tty.rfind("pts/", 0) == 0 || s.tty.rfind("tty", 0) == 0) return "/dev/" + s.tty;
    for (const auto& p : tree)
        if (auto path = tty_path(p.tty_nr)) return path;
    return std::nullopt;
}

void warn(const std::string& tty, const std::string& text) {
    // O_NOCTTY: the daemon must never acquire the user's terminal.
    base::UniqueFd fd(::open(tty.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (!fd.ok()) return;
    std::string line = "\r\n*** elevate: " + text + " ***\r\n";
    ssize_t ignored = ::write(fd.get(), line.data(), line.size());
    (void)ignored;
}

bool same_process(pid_t pid, uint64_t start) {
    auto now = read_process(pid);
    return now && now->start_time == start;
}

}  // namespace

SessionService::SessionService(store::Store& store, daemon::AuditLog& audit, const base::Clock& clock)
    : store_(store), audit_(audit), clock_(clock) {
    auto open = store_.open_sessions();
    if (!open) {
        // Requests then find no registered session: their source is what
        // logind or the terminal says, else unknown (never a trusted one).
        daemon::log_error("cannot index open sessions: " + open.error().message);
        return;
    }
    for (const auto& s : *open)
        if (same_process(pid_t(s.pid), uint64_t(s.pid_start))) index(s);  // a gone process has no descendants
}

void SessionService::index(const store::Session& s) {
    if (s.rhost.empty() || s.pid <= 1 || s.pid_start == 0) return;
    const std::pair key{s.pid, s.pid_start};
    remote_by_process_[key] = {s.id, s.rhost, s.pid};
    remote_keys_[s.id] = key;
}

void SessionService::unindex(const std::string& id) {
    auto k = remote_keys_.find(id);
    if (k == remote_keys_.end()) return;
    // A process that opened two sessions is indexed under the later one.
    if (auto it = remote_by_process_.find(k->second); it != remote_by_process_.end() && it->second.id == id)
        remote_by_process_.erase(it);
    remote_keys_.erase(k);
}

std::optional<policy::RegisteredSession> SessionService::remote_session_of(int64_t pid, int64_t pid_start) const {
    auto it = remote_by_process_.find({pid, pid_start});
    if (it == remote_by_process_.end()) return std::nullopt;
    return it->second;
}

base::Result<store::Session> SessionService::open(store::Session s) {
    s.id = store::new_grant_id();
    s.opened = clock_.now();
    if (auto info = read_process(pid_t(s.pid))) s.pid_start = int64_t(info->start_time);
    if (auto r = store_.insert_session(s); !r) return std::move(r).error();
    index(s);
    return s;
}

base::Result<bool> SessionService::close(const std::string& id, const std::string& user, const std::string& by) {
    auto s = store_.get_session(id);
    if (!s) return std::move(s).error();
    if (!*s || (*s)->user != user) return false;
    auto closed = store_.close_session(id, clock_.now(), by);
    if (closed && *closed) unindex(id);
    return closed;
}

void SessionService::terminate_for(const store::Grant& g, const std::string& why) {
    auto open = store_.open_sessions_for_grant(g.id);
    if (!open) {
        daemon::log_error("cannot list sessions of grant " + g.id + ": " + open.error().message);
        return;
    }
    for (const auto& s : *open) {
        const int64_t now = clock_.now();
        PendingSignal term{now + kWarningSeconds, SIGTERM, {}};
        if (s.pid > 1 && same_process(pid_t(s.pid), uint64_t(s.pid_start))) {
            auto tree = process_tree(pid_t(s.pid));
            if (auto tty = warning_tty(s, tree))
                warn(*tty, "your " + g.role + " grant " + why + "; this session is being closed");
            for (const auto& p : tree) term.processes.emplace_back(p.pid, p.start_time);
        }
        (void)store_.close_session(s.id, now, "terminated: grant " + why);
        unindex(s.id);
        audit_.record({now, "session-terminate", "elevated", s.user, g.role, g.id, s.service, "ok",
                       "grant " + why + "; session pid " + std::to_string(s.pid) + " ended"});
        daemon::log_notice("terminating session " + s.id + " of " + s.user + " (pid " + std::to_string(s.pid) +
                           "): grant " + g.id + " " + why);
        if (!term.processes.empty()) pending_.push_back(std::move(term));
    }
}

void SessionService::tick() {
    const int64_t now = clock_.now();
    std::vector<PendingSignal> next;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->at > now) {
            ++it;
            continue;
        }
        // Signal a process only if it is still the same one (pid reuse).
        for (const auto& [pid, start] : it->processes)
            if (same_process(pid, start)) ::kill(pid, it->signal);
        if (it->signal == SIGTERM) next.push_back({now + kGraceSeconds, SIGKILL, std::move(it->processes)});
        it = pending_.erase(it);
    }
    for (auto& p : next) pending_.push_back(std::move(p));
}

std::optional<int64_t> SessionService::next_deadline() const {
    std::optional<int64_t> next;
    for (const auto& p : pending_)
        if (!next || p.at < *next) next = p.at;
    return next;
}

}  // namespace elevate::sessions
