// verify, activate: the operations that check a second factor (factor.cpp)
// and, for activate, start a grant or an approval request.
#include "common/base/parse.h"
#include "daemon/approvals/approval_service.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"
#include "daemon/policy/decision.h"
#include "daemon/policy/identity.h"

namespace elevate::handlers {

namespace {

std::string role_names(const config::Config& c) {
    std::string names;
    for (const auto& r : c.roles) names += (names.empty() ? "" : ", ") + r.name;
    return names.empty() ? "none configured" : names;
}

// The role needs approval: instead of a grant, a pending request.
Answer request_approval(daemon::Daemon& d, const Call& call, const config::Role& role,
                        const policy::ActivationRequest& req, const policy::Decision& decision,
                        const std::string& factor, wire::FieldWriter& reply) {
    const config::Approval& rule = *role.approval;
    store::Request r;
    r.user = call.user;
    r.role = role.name;
    r.reason = req.reason;
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
    audit_answer(d, call, "request", role.name, "", {},
                 "request " + std::to_string(created->id) + " for " + base::format_duration(decision.duration) +
                     " awaits " + std::to_string(rule.count) + " approval(s) by " + created->approvers +
                     (req.reason.empty() ? "" : "; reason: " + req.reason));
    d.notify("request.created", nullptr, &*created, call.peer.user, "");
    return {};
}

}  // namespace

Answer verify(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    std::string factor;
    Answer a = check_factor(d, call, factor_check_for(call.user, nullptr), reply, &factor);
    if (a.parked) return a;
    audit_answer(d, call, "verify", "", "", a, factor == "push" ? "push approved" : "code accepted");
    return a;
}

Answer activate(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    policy::ActivationRequest req;
    if (!get_text(call.fields, wire::Tag::Role, 64, &req.role, &error) ||
        !get_text(call.fields, wire::Tag::Reason, 1024, &req.reason, &error))
        return error;
    if (req.role.empty()) return bad_request("a role is required");
    uint64_t duration = 0;
    if (call.fields.get_u64(wire::Tag::Duration, &duration) && (duration == 0 || duration > 10ull * 366 * 86400))
        return bad_request("duration out of range");
    req.duration = int64_t(duration);

    const config::Role* role = d.config().find_role(req.role);
    if (!role) {
        Answer a = no_such_role(req.role);
        a.message += " (roles: " + role_names(d.config()) + ")";
        audit_answer(d, call, "activate", req.role, "", a);
        return a;
    }

    policy::RequestContext ctx = context_of(d, call);

    auto groups = policy::user_groups(call.user);
    if (!groups) return no_such_user(call.user);
    policy::Decision decision = policy::decide_activation(*role, ctx, req, *groups);
    if (!decision.allowed) {
        Answer a{wire::Status::Denied, decision.reasons.back()};
        audit_answer(d, call, "activate", role->name, "", a);
        return a;
    }

    auto current = d.grants().active_for_role(call.user, role->name);
    if (!current) return internal_error("activate", current.error());
    if (*current) {
        Answer a = already_active(*role, **current);
        put_grant(reply, **current);
        return a;
    }
    if (role->approval) {
        auto pending = d.approvals().pending_for(call.user, role->name);
        if (!pending) return internal_error("activate", pending.error());
        if (*pending) {
            put_request(reply, **pending, call.peer);
            return {wire::Status::Conflict, "request " + std::to_string((*pending)->id) + " for " + role->name +
                                                " is already waiting for approval by " + (*pending)->approvers};
        }
    }

    std::string factor;
    Answer verified = check_factor(d, call, factor_check_for(call.user, role), reply, &factor);
    if (verified.parked) return verified;
    if (verified.status != wire::Status::Ok) {
        audit_answer(d, call, "activate", role->name, "", verified);
        return verified;
    }
    if (role->approval) return request_approval(d, call, *role, req, decision, factor, reply);

    store::Grant g;
    g.user = call.user;
    g.role = role->name;
    g.start = d.clock().now();
    g.end = g.start + decision.duration;
    g.reason = req.reason;
    g.factor = factor;
    g.source = source_of(d, call);
    auto created = d.grants().create(std::move(g));
    if (!created) return internal_error("activate", created.error());

    std::string detail = "granted for " + base::format_duration(decision.duration) + " (" + factor + ")";
    if (!req.reason.empty()) detail += "; reason: " + req.reason;
    if (decision.reasons.size() > 1) detail += "; " + decision.reasons.back();
    audit_answer(d, call, "activate", role->name, created->id, {}, detail);
    d.notify("grant.activated", &*created, nullptr, call.peer.user, "");
    put_grant(reply, *created);
    return {};
}

}  // namespace elevate::handlers
