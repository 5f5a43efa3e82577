#include "daemon/grants/grant_service.h"

#include "daemon/core/log.h"

namespace elevate::grants {

bool is_active(const store::Grant& g, int64_t now) {
    return g.state == store::GrantState::Active && now < g.end;
}

base::Result<size_t> GrantService::load() {
    auto active = store_.active_expiries();
    if (!active) return std::move(active).error();
    const size_t n = active->size();
    expiries_ = decltype(expiries_)(std::greater<Entry>(), std::move(*active));
    return n;
}

base::Result<store::Grant> GrantService::create(store::Grant g) {
    if (g.id.empty()) g.id = store::new_grant_id();
    g.state = store::GrantState::Active;
    if (auto r = store_.insert_grant(g); !r) return std::move(r).error();
    expiries_.emplace(g.end, g.id);
    changed();
    return g;
}

base::Result<std::optional<store::Grant>> GrantService::end(const std::string& id, store::GrantState state,
                                                            const std::string& by) {
    auto existing = store_.get_grant(id);
    if (!existing) return std::move(existing).error();
    if (!*existing || (*existing)->state != store::GrantState::Active) return std::optional<store::Grant>();
    // An expired-but-not-yet-swept grant is recorded as expired at its end
    // time, not as revoked: it had already lost its power.
    const int64_t now = clock_.now();
    store::Grant g = **existing;
    if (g.end <= now && state != store::GrantState::Expired) {
        state = store::GrantState::Expired;
    }
    const int64_t at = state == store::GrantState::Expired ? std::min(g.end, now) : now;
    const std::string ended_by = state == store::GrantState::Expired ? "expiry" : by;
    auto changed_row = store_.end_grant(id, state, at, ended_by);
    if (!changed_row) return std::move(changed_row).error();
    if (!*changed_row) return std::optional<store::Grant>();
    g.state = state;
    g.ended_at = at;
    g.ended_by = ended_by;
    if (on_end_) on_end_(g);
    changed();
    return std::optional<store::Grant>(std::move(g));
}

base::Result<std::optional<store::Grant>> GrantService::find(const std::string& id) {
    return store_.get_grant(id);
}

base::Result<std::vector<store::Grant>> GrantService::active_for_user(const std::string& user) {
    auto all = store_.active_grants_for_user(user);
    if (!all) return std::move(all).error();
    const int64_t now = clock_.now();
    std::vector<store::Grant> out;
    for (auto& g : *all)
        if (is_active(g, now)) out.push_back(std::move(g));
    return out;
}

base::Result<std::optional<store::Grant>> GrantService::active_for_role(const std::string& user,
                                                                        const std::string& role) {
    auto active = active_for_user(user);
    if (!active) return std::move(active).error();
    for (auto& g : *active)
        if (g.role == role) return std::optional<store::Grant>(std::move(g));
    return std::optional<store::Grant>();
}

std::optional<int64_t> GrantService::next_expiry() const {
    if (expiries_.empty()) return std::nullopt;
    return expiries_.top().first;
}

size_t GrantService::expire_due() {
    const int64_t now = clock_.now();
    size_t expired = 0;
    while (!expiries_.empty() && expiries_.top().first <= now) {
        std::string id = expiries_.top().second;
        expiries_.pop();
        auto ended = end(id, store::GrantState::Expired, "expiry");
        if (!ended) {
            // Keep it queued; the next sweep retries. Access is already gone
            // because every reader checks the end time.
            daemon::log_error("cannot expire grant " + id + ": " + ended.error().message);
            expiries_.emplace(now + 5, id);
            break;
        }
        if (!*ended) continue;  // revoked or dropped earlier
        const auto& g = **ended;
        audit_.record({now, "expire", "elevated", g.user, g.role, g.id, g.source, "ok", "grant reached its end time"});
        ++expired;
    }
    return expired;
}

}  // namespace elevate::grants
