// risk-list, risk-show, risk-dismiss, risk-confirm: what administrators (and
// users, for themselves) see and do about risk (docs/RISK.md).
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::handlers {

namespace {

// A reply stays well inside what clients read.
constexpr size_t kMaxListed = 10000;

void put_level(wire::FieldWriter& w, config::RiskLevel level, int score, int64_t time) {
    w.put_str(wire::Tag::RiskLevel, config::risk_level_name(level));
    w.put_u64(wire::Tag::RiskScore, uint64_t(std::max(score, 0)));
    w.put_u64(wire::Tag::Time, uint64_t(std::max<int64_t>(time, 0)));
}

void put_event(wire::FieldWriter& w, const risk::Event& e) {
    w.begin_record(wire::Tag::RiskEvent);
    w.put_str(wire::Tag::EventType, risk::detection_name(e.type));
    w.put_u64(wire::Tag::Time, uint64_t(std::max<int64_t>(e.time, 0)));
    w.put_u64(wire::Tag::Weight, uint64_t(std::max(e.weight, 0)));
    if (!e.network.empty()) w.put_str(wire::Tag::Network, e.network);
    w.put_str(wire::Tag::Evidence, e.evidence);
    w.end_record();
}

// Dismiss and confirm name their user explicitly and say why.
bool admin_action(const Call& call, std::string* reason, Answer* error) {
    std::string_view named;
    if (!call.fields.get_str(wire::Tag::User, &named)) {
        *error = bad_request("a user is required");
        return false;
    }
    if (!get_text(call.fields, wire::Tag::Reason, 1024, reason, error)) return false;
    if (reason->empty()) {
        *error = bad_request("a reason is required (--reason ...)");
        return false;
    }
    return true;
}

}  // namespace

risk::Origin origin_of(const policy::Source& s) {
    return {s.ip};
}

Answer risk_list(daemon::Daemon& d, const Call&, wire::FieldWriter& reply) {
    size_t listed = 0;
    for (const risk::UserRisk& u : d.risk().users()) {
        if (listed++ == kMaxListed) break;
        reply.begin_record(wire::Tag::RiskEntry);
        reply.put_str(wire::Tag::User, u.user);
        put_level(reply, u.level, u.score, u.updated);
        if (!u.recent.empty()) {
            reply.put_str(wire::Tag::EventType, risk::detection_name(u.recent.front().type));
            reply.put_str(wire::Tag::Evidence, u.recent.front().evidence);
        }
        reply.end_record();
    }
    for (const risk::SourceRisk& s : d.risk().sources()) {
        if (listed++ == kMaxListed) break;
        reply.begin_record(wire::Tag::RiskEntry);
        reply.put_str(wire::Tag::Network, s.network);
        put_level(reply, s.level, s.score, s.updated);
        reply.end_record();
    }
    return {};
}

Answer risk_show(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    const risk::UserRisk u = d.risk().user(call.user);
    reply.put_str(wire::Tag::User, u.user);
    put_level(reply, u.level, u.score, u.updated);
    for (const risk::Event& e : u.recent) put_event(reply, e);
    return {};
}

Answer risk_dismiss(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string reason;
    if (!admin_action(call, &reason, &error)) return error;
    if (auto r = d.risk().dismiss(call.user, call.peer.user, reason); !r)
        return internal_error("risk dismiss", r.error());
    reply.put_str(wire::Tag::User, call.user);
    reply.put_str(wire::Tag::RiskLevel, config::risk_level_name(d.risk().user_level(call.user)));
    return {};
}

Answer risk_confirm(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string reason;
    if (!admin_action(call, &reason, &error)) return error;
    if (auto r = d.risk().confirm(call.user, call.peer.user, reason); !r)
        return internal_error("risk confirm", r.error());
    // A compromised account keeps nothing: its grants end like a revoke
    // (and their sessions, where the role says so).
    auto active = d.grants().active_for_user(call.user);
    if (!active) return internal_error("risk confirm", active.error());
    for (const store::Grant& g : *active) {
        Answer a = end_grant(d, call, reply, g, store::GrantState::Revoked, "revoke",
                             "risk confirmed by " + call.peer.user + ": " + reason);
        if (a.status != wire::Status::Ok && a.status != wire::Status::NotFound) return a;
    }
    reply.put_str(wire::Tag::User, call.user);
    reply.put_str(wire::Tag::RiskLevel, config::risk_level_name(d.risk().user_level(call.user)));
    return {};
}

}  // namespace elevate::handlers
