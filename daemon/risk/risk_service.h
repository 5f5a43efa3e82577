// Attack detection and risk (docs/RISK.md). Handlers report what happened
// (a wrong code, a replayed code, a denied push, a fraud report, a sign-in,
// an ineligible activation, break-glass); the service turns it into audited
// risk events with weights, keeps a decaying score per user and per source
// network, and answers the policy engine's "what is this user's / this
// source's risk level now" from memory. Events and scores persist in SQLite
// and survive restart. Memory and storage are bounded: sources aggregate by
// prefix (/24, /64 by default), the source table has a fixed cap, old events
// age out.
#pragma once

#include "common/base/cidr.h"
#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/config/config.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace elevate::store {
class Store;
}

namespace elevate::daemon {
class AuditLog;
}

namespace elevate::risk {

enum class Detection {
    WrongCode,     // a wrong verification code
    ReplayedCode,  // a correct but already used (or older) code
    PushDenied,    // the user pressed "deny" on a push
    Fraud,         // the user reported a push as fraud
    Spray,         // many users failing from one network (raised on the source)
    NewNetwork,    // first sign-in from a network never seen for the user
    UnusualHour,   // sign-in far outside the user's usual hours
    Ineligible,    // activation of a role the user is not eligible for
    BreakGlass,    // emergency access
    Confirmed,     // an administrator marked the user compromised
    Dismissed,     // an administrator reset the user's risk
};
const char* detection_name(Detection d);  // "wrong-code", "replayed-code", ...

struct Event {
    int64_t time = 0;
    Detection type = Detection::WrongCode;
    std::string user;      // empty for a source-only event (spray)
    std::string network;   // source network ("10.1.2.0/24"), empty when unknown/local
    std::string evidence;  // human text, never a code or a secret
    int weight = 0;
};

struct UserRisk {
    std::string user;
    config::RiskLevel level = config::RiskLevel::None;
    int score = 0;           // after decay, now
    bool confirmed = false;  // marked compromised: high until dismissed
    int64_t updated = 0;
    std::vector<Event> recent;  // newest first (bounded)
};

struct SourceRisk {
    std::string network;
    config::RiskLevel level = config::RiskLevel::None;
    int score = 0;
    int failing_users = 0;  // distinct users failing within the spray window
    int64_t updated = 0;
};

// The address part of a request's source (policy::Source), for detections.
struct Origin {
    std::optional<base::IpAddress> ip;  // nullopt: local or unknown
};

class RiskService {
public:
    RiskService(store::Store& store, const base::Clock& clock, daemon::AuditLog& audit);

    void configure(const config::RiskConfig& config);
    // Loads scores and recent history from the store (start-up).
    base::Result<void> load();

    // Called when a user's level changes (old, new): the daemon sends
    // risk.raised / risk.dismissed notifications from it.
    void on_level_change(std::function<void(const std::string& user, config::RiskLevel from, config::RiskLevel to,
                                            const std::string& why)>
                             fn);

    // Detections. Each records (durably) and audits the events it raises.
    // A failed code also feeds spray detection for its source.
    base::Result<void> wrong_code(const std::string& user, const Origin& from);
    base::Result<void> replayed_code(const std::string& user, const Origin& from);
    base::Result<void> push_denied(const std::string& user, const Origin& from);
    base::Result<void> fraud(const std::string& user, const Origin& from);
    base::Result<void> ineligible(const std::string& user, const std::string& role, const Origin& from);
    base::Result<void> break_glass(const std::string& user, const Origin& from);
    // A successful second factor: checks "new network" and "unusual hour"
    // against the user's history, then learns this sign-in.
    base::Result<void> signed_in(const std::string& user, const Origin& from);

    // What the policy engine asks, from memory (no I/O).
    config::RiskLevel user_level(const std::string& user) const;
    config::RiskLevel source_level(const Origin& from) const;
    // Per-source rate limit of attempts, independent of the per-user
    // lockout: counts one attempt from `from` and returns false when its
    // network has used up its budget (config source_attempts per
    // source_window). Local and unknown sources are not limited.
    bool admit_attempt(const Origin& from);
    // After a refused attempt: seconds until `from`'s network may try again.
    int64_t retry_after(const Origin& from) const;
    // The network `from` is aggregated into ("10.1.2.0/24"), "" for local
    // or unknown.
    std::string network_of(const Origin& from) const;
    // How many source networks are tracked now (at most max_sources).
    size_t tracked_sources() const;

    // Administration (elevatectl risk).
    base::Result<void> dismiss(const std::string& user, const std::string& by, const std::string& reason);
    base::Result<void> confirm(const std::string& user, const std::string& by, const std::string& reason);
    std::vector<UserRisk> users() const;  // level above none, highest first
    UserRisk user(const std::string& user) const;
    std::vector<SourceRisk> sources() const;  // level above none, highest first

    // Hourly housekeeping: ages out old events and forgotten sources.
    base::Result<void> prune();

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace elevate::risk
