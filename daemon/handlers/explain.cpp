// explain: the policy decision for a described request (elevatectl explain),
// made by the same decide() every real request goes through, acting on
// nothing: no grant, no factor, no risk event, no audit record.
#include "common/base/parse.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::handlers {

namespace {

// --from: an address or host name, "local" or "unknown" (the default: a
// request whose source nothing vouches for).
policy::Source described_source(const std::string& from) {
    policy::Source s;
    s.how = "explain --from";
    if (from.empty() || from == "unknown") return s;
    if (from == "local") {
        s.kind = policy::Source::Kind::Local;
        return s;
    }
    s.kind = policy::Source::Kind::Remote;
    s.host = from;
    s.ip = base::parse_ip(from);
    return s;
}

void put_trace(wire::FieldWriter& reply, const policy::RuleTrace& t) {
    reply.begin_record(wire::Tag::RuleTrace);
    reply.put_str(wire::Tag::RuleName, t.rule);
    reply.put_str(wire::Tag::Mode, t.report_only ? "report-only" : "enforce");
    reply.put_bool(wire::Tag::Matched, t.matched);
    reply.put_str(wire::Tag::Why, t.why);
    reply.put_str(wire::Tag::Effect, t.effect);
    reply.end_record();
}

// What the user would be told or asked, in one line.
std::string outcome_text(const policy::Decision& d, const std::string& role) {
    switch (d.outcome) {
        case policy::Outcome::Deny:
            return d.message;
        case policy::Outcome::Pending:
            return "waits for request " + std::to_string(d.pending->id);
        case policy::Outcome::Allow:
            if (d.grant) return "allowed by the active grant " + d.grant->id.substr(0, 8) + " of " + d.grant->role;
            return "allowed";
        case policy::Outcome::NeedFactor:
            break;
    }
    std::string text = d.code_ok && d.push_ok ? "asked for a verification code or a push"
                       : d.code_ok            ? "asked for a verification code"
                                              : "asked to approve a push";
    if (d.grant) return text + " (inside the active grant of " + role + ")";
    if (d.need_reason) text += ", and a reason";
    if (!role.empty()) {
        text += "; then " + role + " for " + base::format_duration(d.duration);
        if (d.approval)
            text += " after " + std::to_string(d.approval->count) + " approval(s) by " +
                    base::join(d.approval->approvers, ",") + " (" + d.approval_by + ")";
    }
    return text;
}

}  // namespace

Answer explain(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string role_name, service, from;
    if (!get_text(call.fields, wire::Tag::Role, 64, &role_name, &error) ||
        !get_text(call.fields, wire::Tag::Service, 64, &service, &error) ||
        !get_text(call.fields, wire::Tag::RemoteHost, 256, &from, &error))
        return error;
    if (!role_name.empty() && !d.config().find_role(role_name)) return no_such_role(role_name);
    if (service.empty()) service = "sudo";
    // A role is activated through elevatectl and used through PAM; a plain
    // factor is verified.
    const policy::Operation op = service == "elevatectl"
                                     ? (role_name.empty() ? policy::Operation::Verify : policy::Operation::Activate)
                                     : policy::Operation::Authorize;
    policy::RequestContext ctx = subject_context(d, call, op, role_name);
    ctx.service = service;
    ctx.source = described_source(from);
    uint64_t at = 0;
    if (call.fields.get_u64(wire::Tag::At, &at)) ctx.time = int64_t(at);
    bool tty = false;
    call.fields.get_bool(wire::Tag::HasTty, &tty);
    if (tty) ctx.tty = "(explain)";
    ctx.trace = true;

    policy::Decision decision = explain_decision(d, call, ctx);
    if (decision.internal) return internal_error("explain", decision.error);
    reply.put_str(wire::Tag::User, call.user);
    if (!role_name.empty()) reply.put_str(wire::Tag::Role, role_name);
    reply.put_str(wire::Tag::Service, service);
    reply.put_str(wire::Tag::Source, ctx.source.text());
    reply.put_u64(wire::Tag::At, uint64_t(ctx.time));
    reply.put_str(wire::Tag::Outcome, policy::outcome_name(decision.outcome));
    reply.put_str(wire::Tag::RuleName, decision.rule);
    reply.put_str(wire::Tag::Effect, outcome_text(decision, role_name));
    reply.put_str(wire::Tag::Why, base::join(decision.reasons, "; "));
    reply.put_str(wire::Tag::RiskLevel, config::risk_level_name(d.risk().user_level(call.user)));
    if (decision.outcome == policy::Outcome::Deny) reply.put_str(wire::Tag::State, wire::status_name(decision.status));
    for (const auto& t : decision.trace) put_trace(reply, t);
    return {};
}

}  // namespace elevate::handlers
