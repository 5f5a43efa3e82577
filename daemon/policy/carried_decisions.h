// Decisions carried from one step of a PAM transaction to the next
// (authorize -> push_start -> activate or verify), so that the rules and
// the user's eligibility are assessed, and the group database read, once
// per transaction instead of once per step (docs/POLICY.md).
//
// The key names the caller (uid, pid) and everything the assessment
// depends on (user, role, service, terminal, source); what differs makes
// another key, so a carried decision can never apply to another request.
// Entries live for a short while, are taken (not copied) by the step that
// continues, and are forgotten when the configuration is reloaded or the
// user's risk changes.
#pragma once

#include "daemon/policy/engine.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace elevate::policy {

class CarriedDecisions {
public:
    static constexpr int64_t kLifetimeMs = 120000;  // a person typing a reason and a code
    static constexpr size_t kCapacity = 4096;

    // Keeps the carriable part of `d` (carried_part) for the caller's next
    // step about `ctx`; a full store first drops what has expired, and then
    // keeps nothing new.
    void keep(uid_t peer_uid, pid_t peer_pid, const RequestContext& ctx, const Decision& d, int64_t now_ms);
    // What the caller's previous step about `ctx` kept, removed; nullopt if
    // nothing or expired.
    std::optional<Decision> take(uid_t peer_uid, pid_t peer_pid, const RequestContext& ctx, int64_t now_ms);
    void forget_user(const std::string& user);
    void clear() { entries_.clear(); }
    size_t size() const { return entries_.size(); }

private:
    static std::string key(uid_t peer_uid, pid_t peer_pid, const RequestContext& ctx);
    struct Entry {
        std::string user;
        Decision decision;
        int64_t expires_ms;
    };
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace elevate::policy
