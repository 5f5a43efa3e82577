// verify, activate: the operations that check a second factor (factor.cpp)
// and, for activate, start a grant or an approval request.
#include "common/base/parse.h"
#include "daemon/approvals/approval_service.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::handlers {

namespace {

std::string role_names(const config::Config& c) {
    std::string names;
    for (const auto& r : c.roles) names += (names.empty() ? "" : ", ") + r.name;
    return names.empty() ? "none configured" : names;
}

// The role (or a rule) needs approval: instead of a grant, a pending request.
Answer request_approval(daemon::Daemon& d, const Call& call, const config::Role& role,
                        const policy::RequestContext& ctx, const policy::Decision& decision, const std::string& factor,
                        wire::FieldWriter& reply) {
    const config::Approval& rule = *decision.approval;
    store::Request r;
    r.user = call.user;
    r.role = role.name;
    r.reason = ctx.reason;
    r.duration = decision.duration;
    r.created = d.clock().now();
    r.expires = r.created + rule.timeout;
    r.needed = rule.count;
    r.approvers = approvals::approvers_text(rule);
    r.factor = factor;
    r.source = source_of(d, call);
    auto created = d.approvals().create(std::move(r));
    if (!created) return internal_error("activate", created.error());
    put_request(reply, *created, call.peer);
    audit_decision(d, call, "request", role.name, "", {}, decision,
                   "request " + std::to_string(created->id) + " for " + base::format_duration(decision.duration) +
                       " awaits " + std::to_string(rule.count) + " approval(s) by " + created->approvers +
                       (ctx.reason.empty() ? "" : "; reason: " + ctx.reason));
    d.notify("request.created", nullptr, &*created, call.peer.user, "");
    return {};
}

}  // namespace

Answer verify(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    // With a role: a code asked for inside that role's grant, judged by the
    // rules for the role (the ones that asked for it).
    Answer error;
    std::string role_name;
    if (!get_text(call.fields, wire::Tag::Role, 64, &role_name, &error)) return error;
    const config::Role* role = role_name.empty() ? nullptr : d.config().find_role(role_name);
    if (!role_name.empty() && !role) return no_such_role(role_name);
    policy::Decision decision =
        resume_or_decide(d, call, request_context(d, call, policy::Operation::Verify, role_name));
    const std::string grant_id = decision.grant ? decision.grant->id : "";
    if (decision.outcome == policy::Outcome::Deny) {
        Answer a = denial_of(decision, call, reply);
        audit_decision(d, call, "verify", role_name, grant_id, a, decision);
        return a;
    }
    std::string factor;
    Answer a = check_decided_factor(d, call, role, decision, reply, &factor);
    if (a.parked) return a;
    audit_decision(d, call, "verify", role_name, grant_id, a, decision,
                   factor == "push" ? "push approved" : "code accepted");
    return a;
}

Answer activate(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string role_name, reason;
    if (!get_text(call.fields, wire::Tag::Role, 64, &role_name, &error) ||
        !get_text(call.fields, wire::Tag::Reason, 1024, &reason, &error))
        return error;
    if (role_name.empty()) return bad_request("a role is required");
    uint64_t duration = 0;
    if (call.fields.get_u64(wire::Tag::Duration, &duration) && (duration == 0 || duration > 10ull * 366 * 86400))
        return bad_request("duration out of range");

    const config::Role* role = d.config().find_role(role_name);
    if (!role) {
        Answer a = no_such_role(role_name);
        a.message += " (roles: " + role_names(d.config()) + ")";
        audit_answer(d, call, "activate", role_name, "", a);
        return a;
    }

    policy::RequestContext ctx = request_context(d, call, policy::Operation::Activate, role->name);
    ctx.reason = reason;
    ctx.requested_duration = int64_t(duration);
    // A parked activation (a push on its way) continues with its decision.
    policy::Decision decision = resume_or_decide(d, call, ctx);
    if (decision.outcome == policy::Outcome::Deny) {
        Answer a = denial_of(decision, call, reply);
        // An activation of a role that is active already is not audited:
        // nothing was attempted.
        if (decision.status != wire::Status::Conflict) audit_decision(d, call, "activate", role->name, "", a, decision);
        return a;
    }

    std::string factor;
    Answer verified = check_decided_factor(d, call, role, decision, reply, &factor);
    if (verified.parked) return verified;
    if (verified.status != wire::Status::Ok) {
        audit_decision(d, call, "activate", role->name, "", verified, decision);
        return verified;
    }
    if (decision.approval) return request_approval(d, call, *role, ctx, decision, factor, reply);

    store::Grant g;
    g.user = call.user;
    g.role = role->name;
    g.start = d.clock().now();
    g.end = g.start + decision.duration;
    g.reason = reason;
    g.factor = factor;
    g.source = source_of(d, call);
    auto created = d.grants().create(std::move(g));
    if (!created) return internal_error("activate", created.error());

    std::string detail = "granted for " + base::format_duration(decision.duration) + " (" + factor + ")";
    if (!reason.empty()) detail += "; reason: " + reason;
    if (decision.reasons.size() > 1) detail += "; " + decision.reasons.back();
    audit_decision(d, call, "activate", role->name, created->id, {}, decision, detail);
    d.notify("grant.activated", &*created, nullptr, call.peer.user, "");
    put_grant(reply, *created);
    return {};
}

}  // namespace elevate::handlers
