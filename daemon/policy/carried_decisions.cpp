#include "daemon/policy/carried_decisions.h"

namespace elevate::policy {

std::string CarriedDecisions::key(uid_t peer_uid, pid_t peer_pid, const RequestContext& ctx) {
    // NUL separates the parts: none of them can hold one.
    std::string k = std::to_string(peer_uid) + '\0' + std::to_string(peer_pid);
    for (const std::string* part : {&ctx.user, &ctx.role, &ctx.service, &ctx.tty}) k += '\0' + *part;
    return k + '\0' + ctx.source.text();
}

void CarriedDecisions::keep(uid_t peer_uid, pid_t peer_pid, const RequestContext& ctx, const Decision& d,
                            int64_t now_ms) {
    const std::string key = CarriedDecisions::key(peer_uid, peer_pid, ctx);
    std::optional<Decision> part = carried_part(d);
    if (!part) {
        entries_.erase(key);
        return;
    }
    if (entries_.size() >= kCapacity && !entries_.count(key)) {
        std::erase_if(entries_, [now_ms](const auto& e) { return e.second.expires_ms <= now_ms; });
        // Still full: the next step decides from the start, as without a
        // store; nothing is lost but the saving.
        if (entries_.size() >= kCapacity) return;
    }
    entries_.insert_or_assign(key, Entry{ctx.user, std::move(*part), now_ms + kLifetimeMs});
}

std::optional<Decision> CarriedDecisions::take(uid_t peer_uid, pid_t peer_pid, const RequestContext& ctx,
                                               int64_t now_ms) {
    auto it = entries_.find(key(peer_uid, peer_pid, ctx));
    if (it == entries_.end()) return std::nullopt;
    Entry e = std::move(it->second);
    entries_.erase(it);
    if (e.expires_ms <= now_ms) return std::nullopt;
    return std::move(e.decision);
}

void CarriedDecisions::forget_user(const std::string& user) {
    std::erase_if(entries_, [&user](const auto& e) { return e.second.user == user; });
}

}  // namespace elevate::policy
