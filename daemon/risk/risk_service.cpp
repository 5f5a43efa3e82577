#include "daemon/risk/risk_service.h"

#include "daemon/audit/audit_log.h"
#include "daemon/store/store.h"

#include <algorithm>
#include <cmath>
#include <list>
#include <unordered_map>

namespace elevate::risk {

const char* detection_name(Detection d) {
    switch (d) {
        case Detection::WrongCode:
            return "wrong-code";
        case Detection::ReplayedCode:
            return "replayed-code";
        case Detection::PushDenied:
            return "push-denied";
        case Detection::Fraud:
            return "fraud";
        case Detection::Spray:
            return "spray";
        case Detection::NewNetwork:
            return "new-network";
        case Detection::UnusualHour:
            return "unusual-hour";
        case Detection::Ineligible:
            return "ineligible";
        case Detection::BreakGlass:
            return "break-glass";
        case Detection::Confirmed:
            return "confirmed";
        case Detection::Dismissed:
            return "dismissed";
    }
    return "unknown";
}

namespace {

std::optional<Detection> parse_detection(std::string_view s) {
    for (int i = 0; i <= int(Detection::Dismissed); ++i)
        if (s == detection_name(Detection(i))) return Detection(i);
    return std::nullopt;
}

// Events shown with a user's risk (elevatectl risk show / risk).
constexpr int kShownEvents = 50;
constexpr int kListedEvents = 3;

struct UserState {
    double score = 0;  // as of `updated`
    int64_t updated = 0;
    bool confirmed = false;
};

// A tracked source network. Memory per entry is bounded: at most
// spray_users failing users are remembered.
struct SourceState {
    double score = 0;  // as of `updated`
    int64_t updated = 0;
    int64_t touched = 0;
    std::vector<std::pair<std::string, int64_t>> failing;  // distinct users, last failure
    int64_t window_start = 0;
    int attempts = 0;
    bool scored = false;  // in the scored list (persisted), else the idle one
    std::list<std::string>::iterator pos;
};

double decayed(double score, int64_t since, int64_t now, int64_t half_life) {
    if (now <= since || score <= 0) return score;
    return score * std::exp2(-double(now - since) / double(half_life));
}

int rounded(double score) {
    return int(std::lround(std::min(score, 1e9)));
}

}  // namespace

struct RiskService::State {
    State(store::Store& s, const base::Clock& c, daemon::AuditLog& a) : store(s), clock(c), audit(a) {}
    store::Store& store;
    const base::Clock& clock;
    daemon::AuditLog& audit;
    config::RiskConfig cfg;
    std::function<void(const std::string&, config::RiskLevel, config::RiskLevel, const std::string&)> on_change;
    std::unordered_map<std::string, UserState> users;
    std::unordered_map<std::string, SourceState> sources;
    // Least recently touched at the back. Sources without a score are
    // evicted first, so a flood of new addresses cannot push a spraying
    // network out of the table.
    std::list<std::string> idle, scored;
    std::vector<std::string> forgotten;  // scored sources evicted, to delete from the store

    config::RiskLevel level(int score, bool confirmed) const {
        if (confirmed || score >= cfg.high) return config::RiskLevel::High;
        if (score >= cfg.medium) return config::RiskLevel::Medium;
        if (score >= cfg.low) return config::RiskLevel::Low;
        return config::RiskLevel::None;
    }
    double user_score(const UserState& u, int64_t now) const { return decayed(u.score, u.updated, now, cfg.half_life); }
    double source_score(const SourceState& s, int64_t now) const {
        return decayed(s.score, s.updated, now, cfg.half_life);
    }
    config::RiskLevel user_level(const std::string& user, int64_t now) const {
        auto it = users.find(user);
        if (it == users.end()) return config::RiskLevel::None;
        return level(rounded(user_score(it->second, now)), it->second.confirmed);
    }

    std::string network(const Origin& from) const {
        if (!from.ip) return {};
        return base::format_cidr(base::network_of(*from.ip, cfg.v4_prefix, cfg.v6_prefix));
    }

    void evict_one() {
        std::list<std::string>& from = idle.empty() ? scored : idle;
        auto it = sources.find(from.back());
        if (it->second.scored) forgotten.push_back(it->first);
        sources.erase(it);
        from.pop_back();
    }
    void place(const std::string& net, SourceState& s, bool scored_now) {
        std::list<std::string>& was = s.scored ? scored : idle;
        std::list<std::string>& to = scored_now ? scored : idle;
        to.splice(to.begin(), was, s.pos);
        s.scored = scored_now;
        s.pos = to.begin();
        (void)net;
    }
    // The entry of `net`, created if needed (evicting the least recently
    // touched first when the table is full), marked as touched now.
    SourceState& touch(const std::string& net, int64_t now) {
        auto it = sources.find(net);
        if (it == sources.end()) {
            while (!sources.empty() && sources.size() >= size_t(std::max(cfg.max_sources, 1))) evict_one();
            it = sources.emplace(net, SourceState{}).first;
            idle.push_front(net);
            it->second.pos = idle.begin();
        } else {
            place(net, it->second, it->second.scored);
        }
        it->second.touched = now;
        return it->second;
    }

    // One event and what it does to the user's or the source's score.
    struct Raised {
        store::RiskEventRow row;
        int score = 0;
        config::RiskLevel level = config::RiskLevel::None;
        std::string actor;
    };

    void audit_event(const Raised& r, const std::string& source) {
        audit.record({r.row.time, "risk", r.actor.empty() ? r.row.user : r.actor, r.row.user, "", "",
                      source.empty() ? (r.row.network.empty() ? "unknown" : r.row.network) : source, "ok",
                      r.row.type + " +" + std::to_string(r.row.weight) + " (score " + std::to_string(r.score) +
                          ", level " + config::risk_level_name(r.level) + "): " + r.row.evidence});
    }

    // Adds `events` (weights in order) to `user`'s score, plus a spray on
    // the source when `spray` holds one, commits it all, then updates
    // memory, audits and reports a level change.
    base::Result<void> commit(const std::string& user, std::vector<Raised> events, store::RiskChange change,
                              std::optional<UserState> set_user = std::nullopt,
                              std::optional<std::pair<std::string, Raised>> spray = std::nullopt,
                              const std::string& source = {}) {
        const int64_t now = clock.now();
        UserState before = users.count(user) ? users[user] : UserState{};
        const config::RiskLevel from = level(rounded(user_score(before, now)), before.confirmed);
        UserState after = set_user ? *set_user : before;
        if (!set_user) after.score = user_score(before, now);
        after.updated = now;
        for (Raised& e : events) {
            if (!set_user) after.score += e.row.weight;
            e.score = rounded(after.score);
            e.level = level(e.score, after.confirmed);
            change.events.push_back(e.row);
        }
        if (!user.empty()) change.user = store::RiskUserRow{user, after.score, now, after.confirmed};
        double spray_score = 0;
        if (spray) {
            SourceState& s = sources.at(spray->first);
            spray_score = source_score(s, now) + spray->second.row.weight;
            spray->second.score = rounded(spray_score);
            spray->second.level = level(spray->second.score, false);
            change.events.push_back(spray->second.row);
            change.source = store::RiskSourceRow{spray->first, spray_score, now};
        }
        change.max_events_per_user = std::max(cfg.max_events_per_user, 1);
        change.forget_sources = std::move(forgotten);
        forgotten.clear();
        if (auto r = store.record_risk(change); !r) {
            forgotten = std::move(change.forget_sources);
            return r;
        }
        if (!user.empty()) users[user] = after;
        for (const Raised& e : events) audit_event(e, source);
        if (spray) {
            SourceState& s = sources.at(spray->first);
            s.score = spray_score;
            s.updated = now;
            s.failing.clear();
            place(spray->first, s, true);
            audit_event(spray->second, source);
        }
        const config::RiskLevel to = level(rounded(after.score), after.confirmed);
        if (!user.empty() && to != from && on_change && !events.empty())
            on_change(user, from, to, events.back().row.type + ": " + events.back().row.evidence);
        return {};
    }

    Raised event(Detection d, const std::string& user, const std::string& net, std::string evidence, int weight,
                 const std::string& actor = {}) const {
        return {{clock.now(), detection_name(d), user, net, std::move(evidence), weight}, 0, {}, actor};
    }

    // A failed code of `user` from `net`: feeds spray detection.
    std::optional<std::pair<std::string, Raised>> count_failure(const std::string& user, const std::string& net) {
        if (net.empty()) return std::nullopt;
        const int64_t now = clock.now();
        SourceState& s = touch(net, now);
        std::erase_if(s.failing, [&](const auto& f) { return f.second < now - cfg.spray_window; });
        auto it = std::find_if(s.failing.begin(), s.failing.end(), [&](const auto& f) { return f.first == user; });
        if (it != s.failing.end())
            it->second = now;
        else
            s.failing.emplace_back(user, now);
        if (int(s.failing.size()) < std::max(cfg.spray_users, 1)) return std::nullopt;
        return std::make_pair(net, event(Detection::Spray, "", net,
                                         std::to_string(s.failing.size()) + " users failed from " + net + " within " +
                                             std::to_string(cfg.spray_window) + " s",
                                         cfg.weights.spray));
    }

    base::Result<void> detect(Detection d, const std::string& user, const Origin& from, int weight,
                              std::string evidence, bool failure) {
        const std::string net = network(from);
        if (!net.empty()) evidence += " from " + net;
        auto spray = failure ? count_failure(user, net) : std::nullopt;
        return commit(user, {event(d, user, net, std::move(evidence), weight)}, {}, std::nullopt, std::move(spray));
    }

    UserRisk view(const std::string& name, const UserState& u, int64_t now, int events) const {
        UserRisk r;
        r.user = name;
        r.score = rounded(user_score(u, now));
        r.confirmed = u.confirmed;
        r.level = level(r.score, u.confirmed);
        r.updated = u.updated;
        auto rows = store.risk_events_of(name, events);
        if (!rows) return r;  // the level and score come from memory; the history is extra
        for (const auto& row : *rows) {
            auto type = parse_detection(row.type);
            if (!type) continue;
            r.recent.push_back({row.time, *type, row.user, row.network, row.evidence, row.weight});
        }
        return r;
    }
};

RiskService::RiskService(store::Store& store, const base::Clock& clock, daemon::AuditLog& audit)
    : state_(std::make_shared<State>(store, clock, audit)) {}

void RiskService::configure(const config::RiskConfig& config) {
    state_->cfg = config;
    state_->cfg.half_life = std::max<int64_t>(config.half_life, 1);
}

base::Result<void> RiskService::load() {
    auto users = state_->store.risk_users();
    if (!users) return std::move(users).error();
    auto sources = state_->store.risk_sources();
    if (!sources) return std::move(sources).error();
    State& s = *state_;
    s.users.clear();
    s.sources.clear();
    s.idle.clear();
    s.scored.clear();
    for (const auto& u : *users) s.users[u.user] = {u.score, u.updated, u.confirmed};
    // Newest first, so that the bound keeps the most recent ones.
    std::sort(sources->begin(), sources->end(), [](const auto& a, const auto& b) { return a.updated > b.updated; });
    for (const auto& row : *sources) {
        if (s.sources.size() >= size_t(std::max(s.cfg.max_sources, 1))) break;
        SourceState& src = s.sources[row.network];
        src.score = row.score;
        src.updated = row.updated;
        src.touched = row.updated;
        src.scored = true;
        s.scored.push_back(row.network);
        src.pos = std::prev(s.scored.end());
    }
    return {};
}

void RiskService::on_level_change(
    std::function<void(const std::string&, config::RiskLevel, config::RiskLevel, const std::string&)> fn) {
    state_->on_change = std::move(fn);
}

base::Result<void> RiskService::wrong_code(const std::string& user, const Origin& from) {
    return state_->detect(Detection::WrongCode, user, from, state_->cfg.weights.wrong_code, "wrong verification code",
                          true);
}

base::Result<void> RiskService::replayed_code(const std::string& user, const Origin& from) {
    return state_->detect(Detection::ReplayedCode, user, from, state_->cfg.weights.replayed_code,
                          "a code that was already used (or an older one) was presented again", true);
}

base::Result<void> RiskService::push_denied(const std::string& user, const Origin& from) {
    return state_->detect(Detection::PushDenied, user, from, state_->cfg.weights.push_denied, "push denied", false);
}

base::Result<void> RiskService::fraud(const std::string& user, const Origin& from) {
    return state_->detect(Detection::Fraud, user, from, state_->cfg.weights.fraud, "push reported as fraud", false);
}

base::Result<void> RiskService::ineligible(const std::string& user, const std::string& role, const Origin& from) {
    return state_->detect(Detection::Ineligible, user, from, state_->cfg.weights.ineligible,
                          "activation of role " + role + ", for which the user is not eligible", false);
}

base::Result<void> RiskService::break_glass(const std::string& user, const Origin& from) {
    return state_->detect(Detection::BreakGlass, user, from, state_->cfg.weights.break_glass, "break-glass access",
                          false);
}

base::Result<void> RiskService::signed_in(const std::string& user, const Origin& from) {
    State& s = *state_;
    const int64_t now = s.clock.now();
    const std::string net = s.network(from);
    const int hour = int((now % 86400 + 86400) % 86400 / 3600);
    std::vector<State::Raised> events;
    if (!net.empty()) {
        auto seen = s.store.risk_network_seen(user, net);
        if (!seen) return std::move(seen).error();
        auto any = s.store.risk_any_network(user);
        if (!any) return std::move(any).error();
        // The very first sign-in ever is not "new": there is nothing to compare with.
        if (*any && !*seen)
            events.push_back(
                s.event(Detection::NewNetwork, user, net, "first sign-in from " + net, s.cfg.weights.new_network));
    }
    auto hours = s.store.risk_hours(user);
    if (!hours) return std::move(hours).error();
    int64_t total = 0;
    int nearest = 24;
    for (int h = 0; h < 24; ++h) {
        if ((*hours)[size_t(h)] == 0) continue;
        total += (*hours)[size_t(h)];
        const int d = std::abs(h - hour);
        nearest = std::min(nearest, std::min(d, 24 - d));  // circular: 23:00 is an hour from 00:00
    }
    if (total >= s.cfg.hour_history && nearest > s.cfg.hour_margin) {
        events.push_back(s.event(Detection::UnusualHour, user, net,
                                 "sign-in at " + std::to_string(hour) + ":00 UTC, " + std::to_string(nearest) +
                                     " h from any of " + std::to_string(total) + " earlier sign-ins",
                                 s.cfg.weights.unusual_hour));
    }
    store::RiskChange change;
    change.signed_in_user = user;
    change.signed_in_network = net;
    change.signed_in_hour = hour;
    change.signed_in_at = now;
    if (events.empty()) {
        // Only learning: no score changes, nothing to audit.
        change.max_events_per_user = std::max(s.cfg.max_events_per_user, 1);
        return s.store.record_risk(change);
    }
    return s.commit(user, std::move(events), std::move(change));
}

config::RiskLevel RiskService::user_level(const std::string& user) const {
    return state_->user_level(user, state_->clock.now());
}

config::RiskLevel RiskService::source_level(const Origin& from) const {
    const State& s = *state_;
    auto it = s.sources.find(s.network(from));
    if (it == s.sources.end()) return config::RiskLevel::None;
    return s.level(rounded(s.source_score(it->second, s.clock.now())), false);
}

bool RiskService::admit_attempt(const Origin& from) {
    State& s = *state_;
    const std::string net = s.network(from);
    if (net.empty()) return true;
    const int64_t now = s.clock.now();
    SourceState& src = s.touch(net, now);
    if (now >= src.window_start + s.cfg.source_window) {
        src.window_start = now;
        src.attempts = 0;
    }
    if (src.attempts < s.cfg.source_attempts) {
        ++src.attempts;
        return true;
    }
    return false;
}

int64_t RiskService::retry_after(const Origin& from) const {
    const State& s = *state_;
    auto it = s.sources.find(s.network(from));
    if (it == s.sources.end()) return 0;
    return std::max<int64_t>(it->second.window_start + s.cfg.source_window - s.clock.now(), 1);
}

std::string RiskService::network_of(const Origin& from) const {
    return state_->network(from);
}

size_t RiskService::tracked_sources() const {
    return state_->sources.size();
}

base::Result<void> RiskService::dismiss(const std::string& user, const std::string& by, const std::string& reason) {
    State& s = *state_;
    return s.commit(user, {s.event(Detection::Dismissed, user, "", "dismissed by " + by + ": " + reason, 0, by)}, {},
                    UserState{0, s.clock.now(), false}, std::nullopt, "admin");
}

base::Result<void> RiskService::confirm(const std::string& user, const std::string& by, const std::string& reason) {
    State& s = *state_;
    UserState u = s.users.count(user) ? s.users[user] : UserState{};
    u.score = s.user_score(u, s.clock.now());
    u.confirmed = true;
    return s.commit(user,
                    {s.event(Detection::Confirmed, user, "", "confirmed compromised by " + by + ": " + reason, 0, by)},
                    {}, u, std::nullopt, "admin");
}

std::vector<UserRisk> RiskService::users() const {
    const State& s = *state_;
    const int64_t now = s.clock.now();
    std::vector<UserRisk> out;
    for (const auto& [name, u] : s.users) {
        if (s.level(rounded(s.user_score(u, now)), u.confirmed) == config::RiskLevel::None) continue;
        out.push_back(s.view(name, u, now, kListedEvents));
    }
    std::sort(out.begin(), out.end(), [](const UserRisk& a, const UserRisk& b) {
        if (a.level != b.level) return a.level > b.level;
        if (a.score != b.score) return a.score > b.score;
        return a.user < b.user;
    });
    return out;
}

UserRisk RiskService::user(const std::string& user) const {
    const State& s = *state_;
    auto it = s.users.find(user);
    return s.view(user, it == s.users.end() ? UserState{} : it->second, s.clock.now(), kShownEvents);
}

std::vector<SourceRisk> RiskService::sources() const {
    const State& s = *state_;
    const int64_t now = s.clock.now();
    std::vector<SourceRisk> out;
    for (const std::string& net : s.scored) {
        const SourceState& src = s.sources.at(net);
        SourceRisk r{net, {}, rounded(s.source_score(src, now)), 0, src.updated};
        r.level = s.level(r.score, false);
        if (r.level == config::RiskLevel::None) continue;
        for (const auto& f : src.failing)
            if (f.second >= now - s.cfg.spray_window) ++r.failing_users;
        out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const SourceRisk& a, const SourceRisk& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.network < b.network;
    });
    return out;
}

base::Result<void> RiskService::prune() {
    State& s = *state_;
    const int64_t now = s.clock.now();
    const int64_t idle_after = std::max(s.cfg.spray_window, s.cfg.source_window);
    for (auto it = s.sources.begin(); it != s.sources.end();) {
        const SourceState& src = it->second;
        if (src.touched < now - idle_after && rounded(s.source_score(src, now)) == 0) {
            (src.scored ? s.scored : s.idle).erase(src.pos);
            it = s.sources.erase(it);
        } else {
            ++it;
        }
    }
    std::erase_if(s.users, [&](const auto& u) {
        return !u.second.confirmed && u.second.updated < now - s.cfg.retention &&
               rounded(s.user_score(u.second, now)) == 0;
    });
    return s.store.prune_risk(now - s.cfg.retention);
}

}  // namespace elevate::risk
