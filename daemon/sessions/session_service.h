// PAM sessions opened under grants, and ending them when their grant ends
// (role on_expiry = "terminate"): a warning on the session's terminal, a
// second later SIGTERM to the session's process tree (so the warning reaches
// the user before sshd closes the connection), then SIGKILL to whatever is
// left after a grace period. Expiry must really remove access.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "daemon/audit/audit_log.h"
#include "daemon/store/store.h"

#include <optional>
#include <string>
#include <vector>

namespace elevate::sessions {

class SessionService {
public:
    static constexpr int64_t kWarningSeconds = 1;  // warning -> SIGTERM
    static constexpr int64_t kGraceSeconds = 3;    // SIGTERM -> SIGKILL

    SessionService(store::Store& store, daemon::AuditLog& audit, const base::Clock& clock)
        : store_(store), audit_(audit), clock_(clock) {}

    base::Result<store::Session> open(store::Session s);
    base::Result<bool> close(const std::string& id, const std::string& user, const std::string& by);

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
};

}  // namespace elevate::sessions
