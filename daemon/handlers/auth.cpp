// verify, activate: the operations that check a second factor.
#include "common/base/parse.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"
#include "daemon/policy/decision.h"
#include "daemon/policy/identity.h"

namespace elevate::handlers {

namespace {

constexpr size_t kMaxCode = 16;

// Reads the code into a wiped buffer; codes never reach a log.
bool get_code(const Call& call, base::SecureBuffer* code) {
    std::string_view v;
    if (!call.fields.get_str(wire::Tag::Code, &v) || v.empty() || v.size() > kMaxCode) return false;
    *code = base::SecureBuffer(v);
    return true;
}

// Maps a verification outcome to the reply; Accepted maps to Ok.
Answer answer_for(const auth::VerifyResult& v) {
    switch (v.outcome) {
        case auth::VerifyOutcome::Accepted:
            return {};
        case auth::VerifyOutcome::Wrong:
            return {wire::Status::Denied, "wrong verification code"};
        case auth::VerifyOutcome::Replayed:
            return {wire::Status::Denied, "this code was already used; wait for the next one"};
        case auth::VerifyOutcome::Locked:
            return {wire::Status::Locked, "too many failed attempts; locked until " + format_time(v.locked_until)};
        case auth::VerifyOutcome::NotEnrolled:
            return {wire::Status::NotEnrolled,
                    "no second factor is enrolled; ask an administrator to run "
                    "'elevatectl enroll USER'"};
    }
    return {wire::Status::Internal, "unknown verification outcome"};
}

Answer check_code(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    base::SecureBuffer code;
    if (!get_code(call, &code)) return bad_request("a verification code is required");
    auto v = d.verifier().verify(call.user, code.view(), d.config().totp, d.config().lockout);
    if (!v) return internal_error("verify", v.error());
    if (v->outcome == auth::VerifyOutcome::Locked) reply.put_u64(wire::Tag::LockedUntil, uint64_t(v->locked_until));
    return answer_for(*v);
}

std::string role_names(const config::Config& c) {
    std::string names;
    for (const auto& r : c.roles) names += (names.empty() ? "" : ", ") + r.name;
    return names.empty() ? "none configured" : names;
}

}  // namespace

Answer verify(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer a = check_code(d, call, reply);
    audit_answer(d, call, "verify", "", "", a, "code accepted");
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
        Answer a{wire::Status::NotFound, "no such role '" + req.role + "' (roles: " + role_names(d.config()) + ")"};
        audit_answer(d, call, "activate", req.role, "", a);
        return a;
    }

    policy::RequestContext ctx = context_of(d, call);

    auto groups = policy::user_groups(call.user);
    if (!groups) return {wire::Status::NotFound, "no such user: " + call.user};
    policy::Decision decision = policy::decide_activation(*role, ctx, req, *groups);
    if (!decision.allowed) {
        Answer a{wire::Status::Denied, decision.reasons.back()};
        audit_answer(d, call, "activate", role->name, "", a);
        return a;
    }

    auto current = d.grants().active_for_role(call.user, role->name);
    if (!current) return internal_error("activate", current.error());
    if (*current) {
        Answer a{wire::Status::Conflict, role->name + " is already active until " + format_time((*current)->end) +
                                             " (grant " + (*current)->id.substr(0, 8) +
                                             "); drop it first to change it"};
        put_grant(reply, **current);
        return a;
    }

    if (role->factor == config::Factor::Push) {
        Answer a{wire::Status::Denied, "role " + role->name + " requires push approval, which is not configured"};
        audit_answer(d, call, "activate", role->name, "", a);
        return a;
    }
    Answer verified = check_code(d, call, reply);
    if (verified.status != wire::Status::Ok) {
        audit_answer(d, call, "activate", role->name, "", verified);
        return verified;
    }

    store::Grant g;
    g.user = call.user;
    g.role = role->name;
    g.start = d.clock().now();
    g.end = g.start + decision.duration;
    g.reason = req.reason;
    g.factor = "totp";
    g.source = source_of(call);
    auto created = d.grants().create(std::move(g));
    if (!created) return internal_error("activate", created.error());

    std::string detail = "granted for " + base::format_duration(decision.duration);
    if (!req.reason.empty()) detail += "; reason: " + req.reason;
    if (decision.reasons.size() > 1) detail += "; " + decision.reasons.back();
    audit_answer(d, call, "activate", role->name, created->id, {}, detail);
    put_grant(reply, *created);
    return {};
}

}  // namespace elevate::handlers
