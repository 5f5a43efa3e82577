// Where a request comes from (docs/POLICY.md, "Where a request comes from").
// For sshd it is PAM_RHOST; for sudo, su and elevatectl it is the remote host
// of the login session the caller runs in: from systemd-logind (sd-login)
// where it runs, else from elevate's own session registry (pam_elevate's
// session step in sshd registers the session with its rhost; the caller's
// process ancestry is matched against it). A remote host claimed by a
// non-root peer is never trusted.
#pragma once

#include "common/base/cidr.h"
#include "daemon/policy/identity.h"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace elevate::policy {

struct Source {
    enum class Kind {
        Remote,   // an address or host name from PAM_RHOST or a login session
        Local,    // a local terminal, no remote host
        Unknown,  // nothing trustworthy is known
    };
    Kind kind = Kind::Unknown;
    std::string host;                   // as given (address or name); empty unless Remote
    std::optional<base::IpAddress> ip;  // when host is an IP address
    std::string how;  // "PAM_RHOST", "logind session 4", "ssh session 1a2b3c4d (pid 812)", "tty", "none"
    // The login session it was found through ("ssh session 1a2b3c4d",
    // "logind session 4"); empty for PAM_RHOST, a terminal or nothing.
    std::string session;
    // The caller's terminal without "/dev/" ("pts/1", "tty2"): a root peer's
    // PAM_TTY when it names a device, else the peer's controlling terminal
    // from /proc; empty if none. Never a non-root peer's claim.
    std::string tty;

    // "10.1.2.3", "local", "unknown": what the audit and explain show.
    std::string text() const;
};

// An open session of elevate's registry that some process runs in.
struct RegisteredSession {
    std::string id;
    std::string rhost;
    int64_t pid = 0;
};

// Finds an open registered session opened by process `pid` (whose start time
// must be `pid_start`, against pid reuse); the daemon's session service
// answers it.
using SessionByPid = std::function<std::optional<RegisteredSession>(int64_t pid, int64_t pid_start)>;

struct SourceClaim {
    std::string_view rhost;  // PAM_RHOST as sent (Tag::RemoteHost), may be empty
    std::string_view tty;    // PAM_TTY as sent
};

// A login session that systemd-logind knows a process to run in.
struct LoginSession {
    std::string id;
    std::string remote_host;  // empty for a local session
    bool on_seat_or_vt = false;
};
using LoginByPid = std::function<std::optional<LoginSession>(int64_t pid)>;

// sd-login's answer for `pid`: nullopt where logind does not run (not booted
// with systemd, as in containers) or the process is in no session.
std::optional<LoginSession> logind_session(int64_t pid);

// Resolves the source of a request from `peer` (kernel identity): a root
// peer's non-empty rhost is used as is; otherwise logind, then the registry
// via the peer's process ancestry, then "local" for a caller on a local
// terminal (a virtual console or serial line; a pseudo-terminal with no known
// session is unknown), else unknown.
// With an empty `sessions` the registry is not asked.
Source resolve_source(const Peer& peer, const SourceClaim& claim, const SessionByPid& sessions);
// The same with the logind lookup given (tests; logind_session otherwise).
Source resolve_source(const Peer& peer, const SourceClaim& claim, const SessionByPid& sessions,
                      const LoginByPid& logind);

}  // namespace elevate::policy
