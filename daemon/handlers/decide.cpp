// The handlers' side of the decision seam: the request's context, the facts
// the engine may ask for (read from the daemon's state, each at most once),
// and turning a decision into an answer and one audit record.
#include "common/wire/transport.h"
#include "daemon/core/log.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::handlers {

namespace {

// Facts about one request's subject, read on first use.
class DaemonFacts final : public policy::Facts {
public:
    DaemonFacts(daemon::Daemon& d, const Call& call, const policy::Source& source)
        : d_(d), call_(call), source_(source) {}

    const std::optional<std::vector<gid_t>>& user_groups() override {
        if (!groups_read_) {
            groups_ = d_.identity().user_groups(call_.user);
            groups_read_ = true;
        }
        return groups_;
    }
    // Asked for the same few names by many rules: kept for the decision.
    std::optional<gid_t> group_gid(const std::string& name) override {
        for (const auto& [known, gid] : gids_)
            if (known == name) return gid;
        auto gid = d_.identity().group_gid(name);
        gids_.emplace_back(name, gid);
        return gid;
    }
    base::Result<std::optional<store::Grant>> active_grant(const std::string& role) override {
        return d_.grants().active_for_role(call_.user, role);
    }
    base::Result<std::vector<store::Grant>> active_grants() override { return d_.grants().active_for_user(call_.user); }
    base::Result<std::optional<store::Request>> pending_request(const std::string& role) override {
        return d_.approvals().pending_for(call_.user, role);
    }
    base::Result<policy::LockState> lock() override { return read_lock(d_, call_.user); }
    base::Result<bool> has_code_factor() override {
        auto factors = d_.store().factors_for_user(call_.user);
        if (!factors) return factors.error();
        return !factors->empty();
    }
    bool push_enabled() override { return d_.push().enabled(); }
    // Asked by every rule with a risk condition: looked up once.
    config::RiskLevel user_risk() override {
        if (!user_risk_) user_risk_ = d_.risk().user_level(call_.user);
        return *user_risk_;
    }
    config::RiskLevel source_risk() override {
        if (!source_risk_) source_risk_ = d_.risk().source_level(origin_of(source_));
        return *source_risk_;
    }

private:
    daemon::Daemon& d_;
    const Call& call_;
    const policy::Source& source_;
    bool groups_read_ = false;
    std::optional<std::vector<gid_t>> groups_;
    std::optional<config::RiskLevel> user_risk_, source_risk_;
    std::vector<std::pair<std::string, std::optional<gid_t>>> gids_;
};

}  // namespace

policy::RequestContext subject_context(daemon::Daemon& d, const Call& call, policy::Operation op,
                                       const std::string& role) {
    policy::RequestContext ctx;
    ctx.op = op;
    ctx.user = call.user;
    ctx.actor = call.peer.user;
    ctx.actor_is_admin = call.peer.admin;
    ctx.role = role;
    ctx.time = d.clock().now();
    return ctx;
}

policy::RequestContext request_context(daemon::Daemon& d, const Call& call, policy::Operation op,
                                       const std::string& role) {
    policy::RequestContext ctx = subject_context(d, call, op, role);
    Answer ignored;
    get_text(call.fields, wire::Tag::Service, 64, &ctx.service, &ignored);
    if (ctx.service.empty()) ctx.service = "elevatectl";
    get_text(call.fields, wire::Tag::Tty, 64, &ctx.tty, &ignored);
    ctx.source = request_source(d, call);
    return ctx;
}

policy::Decision explain_decision(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx) {
    DaemonFacts facts(d, call, ctx.source);
    return policy::decide(d.config(), d.policy(), ctx, facts);
}

policy::Decision decide(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx) {
    policy::Decision decision = explain_decision(d, call, ctx);
    // Trying to activate a role one is not eligible for is a risk signal.
    if (decision.ineligible) {
        if (auto r = d.risk().ineligible(ctx.user, ctx.role, origin_of(ctx.source)); !r)
            daemon::log_warning("risk: " + r.error().message);
    }
    return decision;
}

policy::Decision continue_or_decide(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx) {
    std::optional<policy::Decision> carried = d.carried().take(call.peer.uid, call.peer.pid, ctx, wire::monotonic_ms());
    if (!carried) return decide(d, call, ctx);
    DaemonFacts facts(d, call, ctx.source);
    return policy::decide(d.config(), d.policy(), ctx, facts, &*carried);
}

void carry_to_next_step(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx,
                        const policy::Decision& decision) {
    d.carried().keep(call.peer.uid, call.peer.pid, ctx, decision, wire::monotonic_ms());
}

policy::Decision resume_or_decide(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx) {
    if (call.ticket != 0) {
        if (auto parked = d.take_decision(call.ticket)) return std::move(*parked);
    }
    return continue_or_decide(d, call, ctx);
}

Answer denial_of(const policy::Decision& decision, const Call& call, wire::FieldWriter& reply) {
    if (decision.internal) return internal_error("decision", decision.error);
    if (decision.locked_until) reply.put_u64(wire::Tag::LockedUntil, uint64_t(decision.locked_until));
    if (decision.status == wire::Status::Conflict) {
        if (decision.grant) put_grant(reply, *decision.grant);
        if (decision.pending) put_request(reply, *decision.pending, call.peer);
    }
    return {decision.status, decision.message};
}

void audit_decision(daemon::Daemon& d, const Call& call, const char* event, const std::string& role,
                    const std::string& grant_id, const Answer& a, const policy::Decision& decision,
                    const std::string& detail) {
    const std::string suffix = decision.audit_suffix();
    Answer told = a;
    told.message += suffix;
    audit_answer(d, call, event, role, grant_id, told, detail + suffix);
}

}  // namespace elevate::handlers
