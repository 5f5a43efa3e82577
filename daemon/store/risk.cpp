// Risk events and state (schema version 5, docs/STATE.md). A change that
// raises risk commits with synchronous=FULL before the risk service reports
// it, so a raised score survives kill -9 and power loss.
#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"

namespace elevate::store {
namespace {

constexpr const char kInsertEvent[] =
    "INSERT INTO risk_events (time, type, user, network, evidence, weight) VALUES (?, ?, ?, ?, ?, ?)";
// Keeps the newest ?2 events of user ?1.
constexpr const char kTrimEvents[] =
    "DELETE FROM risk_events WHERE user = ?1 AND id <= "
    "(SELECT id FROM risk_events WHERE user = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
constexpr const char kUpsertUser[] =
    "INSERT INTO risk_users (user, score, updated, confirmed) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (user) DO UPDATE SET score = excluded.score, updated = excluded.updated, "
    "confirmed = excluded.confirmed";
constexpr const char kUpsertSource[] =
    "INSERT INTO risk_sources (network, score, updated) VALUES (?, ?, ?) "
    "ON CONFLICT (network) DO UPDATE SET score = excluded.score, updated = excluded.updated";
constexpr const char kForgetSource[] = "DELETE FROM risk_sources WHERE network = ?";
constexpr const char kSeeNetwork[] =
    "INSERT INTO risk_networks (user, network, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3) "
    "ON CONFLICT (user, network) DO UPDATE SET last_seen = excluded.last_seen";
constexpr const char kCountHour[] =
    "INSERT INTO risk_hours (user, hour, count) VALUES (?, ?, 1) "
    "ON CONFLICT (user, hour) DO UPDATE SET count = count + 1";
constexpr const char kUsers[] = "SELECT user, score, updated, confirmed FROM risk_users";
constexpr const char kSources[] = "SELECT network, score, updated FROM risk_sources";
constexpr const char kEventsOf[] =
    "SELECT time, type, user, network, evidence, weight FROM risk_events WHERE user = ? ORDER BY id DESC LIMIT ?";
constexpr const char kNetworkSeen[] = "SELECT 1 FROM risk_networks WHERE user = ? AND network = ?";
constexpr const char kAnyNetwork[] = "SELECT 1 FROM risk_networks WHERE user = ? LIMIT 1";
constexpr const char kHours[] = "SELECT hour, count FROM risk_hours WHERE user = ?";
constexpr const char kPruneEvents[] = "DELETE FROM risk_events WHERE time < ?";
constexpr const char kPruneSources[] = "DELETE FROM risk_sources WHERE updated < ?";
constexpr const char kPruneUsers[] = "DELETE FROM risk_users WHERE updated < ? AND confirmed = 0";

// Whether cached statement `sql` (bound by bind()) returns a row.
template <typename Bind>
base::Result<bool> exists(Store::Impl& impl, const char* sql, std::string_view op, Bind bind) {
    auto st = impl.statement(sql, op);
    if (!st) return std::move(st).error();
    Query q(impl.db.get(), *st);
    bind(q);
    return q.step(op);
}

// Runs cached statement `sql` with the parameters bind() adds.
template <typename Bind>
base::Result<void> run(Store::Impl& impl, const char* sql, std::string_view op, Bind bind) {
    auto r = exists(impl, sql, op, bind);
    if (!r) return std::move(r).error();
    return {};
}

// Every row of cached statement `sql` (bound by bind()), read by read().
template <typename Row, typename Bind, typename Read>
base::Result<std::vector<Row>> rows(Store::Impl& impl, const char* sql, std::string_view op, Bind bind, Read read) {
    auto st = impl.statement(sql, op);
    if (!st) return std::move(st).error();
    Query q(impl.db.get(), *st);
    bind(q);
    std::vector<Row> out;
    for (;;) {
        auto row = q.step(op);
        if (!row) return std::move(row).error();
        if (!*row) return out;
        out.push_back(read(q));
    }
}

}  // namespace

base::Result<void> Store::record_risk(const RiskChange& c) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "recording risk";
    Impl::Transaction tx(*impl_);
    if (auto r = tx.begin(op); !r) return std::move(r).error();
    for (const RiskEventRow& e : c.events) {
        auto r = run(*impl_, kInsertEvent, op, [&](Query& q) {
            q.integer(e.time).text(e.type).text(e.user).text(e.network).text(e.evidence).integer(e.weight);
        });
        if (!r) return r;
        r = run(*impl_, kTrimEvents, op, [&](Query& q) { q.text(e.user).integer(c.max_events_per_user); });
        if (!r) return r;
    }
    if (c.user) {
        const RiskUserRow& u = *c.user;
        auto r = run(*impl_, kUpsertUser, op,
                     [&](Query& q) { q.text(u.user).real(u.score).integer(u.updated).integer(u.confirmed ? 1 : 0); });
        if (!r) return r;
    }
    if (c.source) {
        const RiskSourceRow& s = *c.source;
        auto r = run(*impl_, kUpsertSource, op, [&](Query& q) { q.text(s.network).real(s.score).integer(s.updated); });
        if (!r) return r;
    }
    for (const std::string& n : c.forget_sources) {
        if (auto r = run(*impl_, kForgetSource, op, [&](Query& q) { q.text(n); }); !r) return r;
    }
    if (!c.signed_in_user.empty()) {
        if (!c.signed_in_network.empty()) {
            auto r = run(*impl_, kSeeNetwork, op,
                         [&](Query& q) { q.text(c.signed_in_user).text(c.signed_in_network).integer(c.signed_in_at); });
            if (!r) return r;
        }
        if (c.signed_in_hour >= 0) {
            auto r = run(*impl_, kCountHour, op, [&](Query& q) { q.text(c.signed_in_user).integer(c.signed_in_hour); });
            if (!r) return r;
        }
    }
    return tx.commit(op);
}

base::Result<std::vector<RiskUserRow>> Store::risk_users() {
    return rows<RiskUserRow>(
        *impl_, kUsers, "reading risk of users", [](Query&) {},
        [](const Query& q) {
            return RiskUserRow{q.column_text(0), q.column_real(1), q.column_int(2), q.column_int(3) != 0};
        });
}

base::Result<std::vector<RiskSourceRow>> Store::risk_sources() {
    return rows<RiskSourceRow>(
        *impl_, kSources, "reading risk of source networks", [](Query&) {},
        [](const Query& q) {
            return RiskSourceRow{q.column_text(0), q.column_real(1), q.column_int(2)};
        });
}

base::Result<std::vector<RiskEventRow>> Store::risk_events_of(const std::string& user, int limit) {
    return rows<RiskEventRow>(
        *impl_, kEventsOf, "reading risk events", [&](Query& q) { q.text(user).integer(limit); },
        [](const Query& q) {
            return RiskEventRow{q.column_int(0),  q.column_text(1), q.column_text(2),
                                q.column_text(3), q.column_text(4), int(q.column_int(5))};
        });
}

base::Result<bool> Store::risk_network_seen(const std::string& user, const std::string& network) {
    return exists(*impl_, kNetworkSeen, "reading seen networks", [&](Query& q) { q.text(user).text(network); });
}

base::Result<bool> Store::risk_any_network(const std::string& user) {
    return exists(*impl_, kAnyNetwork, "reading seen networks", [&](Query& q) { q.text(user); });
}

base::Result<std::vector<int64_t>> Store::risk_hours(const std::string& user) {
    auto counts = rows<std::pair<int64_t, int64_t>>(
        *impl_, kHours, "reading sign-in hours", [&](Query& q) { q.text(user); },
        [](const Query& q) { return std::make_pair(q.column_int(0), q.column_int(1)); });
    if (!counts) return std::move(counts).error();
    std::vector<int64_t> out(24, 0);
    for (const auto& [hour, count] : *counts)
        if (hour >= 0 && hour < 24) out[size_t(hour)] = count;
    return out;
}

base::Result<void> Store::prune_risk(int64_t before) {
    // NORMAL: forgetting old risk lowers nothing anyone relies on.
    if (auto synced = impl_->sync(Impl::Sync::Normal); !synced) return std::move(synced).error();
    constexpr std::string_view op = "pruning risk";
    Impl::Transaction tx(*impl_);
    if (auto r = tx.begin(op); !r) return std::move(r).error();
    for (const char* sql : {kPruneEvents, kPruneSources, kPruneUsers}) {
        if (auto r = run(*impl_, sql, op, [&](Query& q) { q.integer(before); }); !r) return r;
    }
    return tx.commit(op);
}

}  // namespace elevate::store
