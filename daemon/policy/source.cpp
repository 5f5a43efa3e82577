#include "daemon/policy/source.h"

namespace elevate::policy {

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

Source resolve_source(const Peer& peer, const SourceClaim& claim, const SessionByPid& /*sessions*/) {
    Source s;
    // Only root peers (sshd, sudo) set PAM items the user cannot forge; a
    // remote host from anyone else is a claim, never evidence.
    if (peer.uid == 0 && !claim.rhost.empty()) {
        s.kind = Source::Kind::Remote;
        s.host = std::string(claim.rhost);
        s.ip = base::parse_ip(claim.rhost);
        s.how = "PAM_RHOST";
        return s;
    }
    s.how = "none";
    return s;
}

}  // namespace elevate::policy
