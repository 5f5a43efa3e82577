// PAM sessions opened under grants, and ending them when their grant ends
// (role on_expiry = "terminate"): a warning on the session's terminal, a
// second later SIGTERM to the session's process tree (so the warning reaches
// the user before sshd closes the connection), then SIGKILL to whatever is
// left after a grace period. Expiry must really remove access.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "daemon/audit/audit_log.h"
#include "daemon/policy/source.h"
#include "daemon/store/store.h"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace elevate::sessions {

class SessionService {
public:
    static constexpr int64_t kWarningSeconds = 1;  // warning -> SIGTERM
    static constexpr int64_t kGraceSeconds = 3;    // SIGTERM -> SIGKILL

    // Indexes the open sessions of the store (see remote_session_of).
    SessionService(store::Store& store, daemon::AuditLog& audit, const base::Clock& clock);

    base::Result<store::Session> open(store::Session s);
    base::Result<bool> close(const std::string& id, const std::string& user, const std::string& by);

    // The open session with a remote host that process (pid, pid_start)
    // opened, from memory: what a request's source resolution asks for each
    // ancestor of the caller. Only session_open from a root peer (sshd)
    // stores a remote host, so only those sessions are found.
    std::optional<policy::RegisteredSession> remote_session_of(int64_t pid, int64_t pid_start) const;
    // Whether any such session is open (if none, nobody's ancestry needs a walk).
    bool any_remote_session() const { return !remote_by_process_.empty(); }

    // Ends every open session admitted by grant `g`.
    void terminate_for(const store::Grant& g, const std::string& why);

    // Sends the signals that are due.
    void tick();
    std::optional<int64_t> next_deadline() const;

private:
    struct PendingSignal {
        int64_t at;
        int signal;                                         // SIGTERM, then SIGKILL
        std::vector<std::pair<pid_t, uint64_t>> processes;  // (pid, start time)
    };
    store::Store& store_;
    daemon::AuditLog& audit_;
    const base::Clock& clock_;
    std::vector<PendingSignal> pending_;
    // Open sessions with a remote host by opening process (pid, start time),
    // and the key of each by session id, kept in step with the store.
    std::map<std::pair<int64_t, int64_t>, policy::RegisteredSession> remote_by_process_;
    std::unordered_map<std::string, std::pair<int64_t, int64_t>> remote_keys_;
    void index(const store::Session& s);
    void unindex(const std::string& id);
};

}  // namespace elevate::sessions
