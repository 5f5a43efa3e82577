#include "daemon/grants/grant_service.h"

#include "daemon/core/log.h"

#include <algorithm>
#include <unordered_map>

namespace elevate::grants {

bool is_active(const store::Grant& g, int64_t now) {
    return g.state == store::GrantState::Active && now < g.end;
}

namespace {
// now() is truncated to whole seconds, so wall minus boot jitters by up to
// a second between two readings; a larger change is a clock step.
constexpr int64_t kStepThresholdMs = 2000;
// A grant found due on the boot clock whose wall end is at most this far
// ahead is late only by rounding: it is looked at again shortly.
constexpr int64_t kRoundingMs = 1500;
constexpr int64_t kRecheckMs = 250;
}  // namespace

void GrantService::schedule(int64_t end, const std::string& id) {
    const int64_t boot = clock_.boot_ms();
    wall_minus_boot_ms_ = clock_.now() * 1000 - boot;
    const int64_t left_ms = std::max<int64_t>(end - clock_.now(), 0) * 1000;
    expiries_.emplace(boot + left_ms, id);
}

base::Result<size_t> GrantService::load() {
    auto active = store_.active_expiries();
    if (!active) return std::move(active).error();
    const size_t n = active->size();
    // The boot clock starts again at every boot, so what a grant had left
    // is taken from the wall clock once, here.
    const int64_t boot = clock_.boot_ms();
    const int64_t now = clock_.now();
    wall_minus_boot_ms_ = now * 1000 - boot;
    for (auto& [end, id] : *active) end = boot + std::max<int64_t>(end - now, 0) * 1000;
    expiries_ = decltype(expiries_)(std::greater<Entry>(), std::move(*active));
    return n;
}

void GrantService::follow_wall_clock() {
    const int64_t offset = clock_.now() * 1000 - clock_.boot_ms();
    const int64_t step = offset - wall_minus_boot_ms_;
    wall_minus_boot_ms_ = offset;
    // Set back: nothing moves; the boot clock keeps each grant to the time
    // it had. Set forward: wall ends come sooner on the boot clock.
    if (step <= kStepThresholdMs || expiries_.empty()) return;
    auto ends = store_.active_expiries();
    if (!ends) {
        daemon::log_error("the wall clock was set forward, but grant end times cannot be read: " +
                          ends.error().message);
        return;
    }
    std::unordered_map<std::string, int64_t> due;
    due.reserve(expiries_.size());
    while (!expiries_.empty()) {
        due.emplace(expiries_.top().second, expiries_.top().first);
        expiries_.pop();
    }
    const int64_t boot = clock_.boot_ms();
    const int64_t now = clock_.now();
    for (auto& [end, id] : *ends) {
        const int64_t by_wall = boot + std::max<int64_t>(end - now, 0) * 1000;
        auto it = due.find(id);
        end = it == due.end() ? by_wall : std::min(it->second, by_wall);
    }
    expiries_ = decltype(expiries_)(std::greater<Entry>(), std::move(*ends));
    daemon::log_info("the wall clock was set forward by " + std::to_string(step / 1000) +
                     " s; grant end times follow it");
}

base::Result<store::Grant> GrantService::create(store::Grant g) {
    if (g.id.empty()) g.id = store::new_grant_id();
    g.state = store::GrantState::Active;
    if (auto r = store_.insert_grant(g); !r) return std::move(r).error();
    schedule(g.end, g.id);
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

std::optional<int64_t> GrantService::next_due_ms() const {
    if (expiries_.empty()) return std::nullopt;
    return std::max<int64_t>(expiries_.top().first - clock_.boot_ms(), 0);
}

size_t GrantService::expire_due() {
    follow_wall_clock();
    const int64_t now = clock_.now();
    const int64_t boot = clock_.boot_ms();
    size_t expired = 0;
    while (!expiries_.empty() && expiries_.top().first <= boot) {
        std::string id = expiries_.top().second;
        expiries_.pop();
        auto found = store_.get_grant(id);
        if (found && (!*found || (*found)->state != store::GrantState::Active)) continue;  // ended earlier
        std::string why = "grant reached its end time";
        if (found) {
            const int64_t wall_left_ms = ((*found)->end - now) * 1000;
            if (wall_left_ms > 0 && wall_left_ms <= kRoundingMs) {
                expiries_.emplace(boot + kRecheckMs, id);
                continue;
            }
            if (wall_left_ms > 0)
                why = "grant used up its time on the daemon's monotonic clock; the wall clock is about " +
                      std::to_string(wall_left_ms / 1000) + " s behind (it was set back)";
        }
        auto ended = found ? end(id, store::GrantState::Expired, "expiry")
                           : base::Result<std::optional<store::Grant>>(std::move(found).error());
        if (!ended) {
            // Keep it queued; the next sweep retries. Access is already gone
            // because every reader checks the end time.
            daemon::log_error("cannot expire grant " + id + ": " + ended.error().message);
            expiries_.emplace(boot + 5000, id);
            break;
        }
        if (!*ended) continue;  // revoked or dropped earlier
        const auto& g = **ended;
        audit_.record({now, "expire", "elevated", g.user, g.role, g.id, g.source, "ok", why});
        ++expired;
    }
    return expired;
}

}  // namespace elevate::grants
