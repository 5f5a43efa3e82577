// push_start, unlock: starting a push challenge, and clearing the lock a
// "this wasn't me" answer (or too many failures) put on a user.
#include "common/wire/transport.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

#include <unistd.h>

namespace elevate::handlers {

namespace {

constexpr int64_t kSendRetrySeconds = 5;

std::string this_host(const config::PushConfig& push) {
    if (!push.hostname.empty()) return push.hostname;
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "localhost";
    return name;
}

// The reply once the provider has answered push_start's challenge.
// A failed start: the challenge is forgotten (consume() frees `s`, so what
// the audit needs is copied first).
Answer push_refused(daemon::Daemon& d, const Call& call, const push::ChallengeState& s, Answer a) {
    const std::string id = s.challenge.id;
    const std::string role = s.challenge.role;
    d.push().consume(id);
    audit_answer(d, call, "push-start", role, "", a);
    return a;
}

Answer push_started(daemon::Daemon& d, const Call& call, const push::ChallengeState& s, wire::FieldWriter& reply) {
    const push::PushChallenge& c = s.challenge;
    switch (s.phase) {
        case push::ChallengeState::Phase::Sending:
            return push_refused(
                d, call, s,
                {wire::Status::Unavailable, std::string("the push provider (") + d.push().provider_name() +
                                                ") did not take the challenge in time"});
        case push::ChallengeState::Phase::Failed:
            return push_refused(d, call, s,
                                {s.unavailable ? wire::Status::Unavailable : wire::Status::Denied, s.error});
        case push::ChallengeState::Phase::Waiting:
        case push::ChallengeState::Phase::Answered:
            break;
    }
    reply.put_str(wire::Tag::Challenge, c.id);
    reply.put_str(wire::Tag::Label, s.device);
    reply.put_u64(wire::Tag::Timeout, uint64_t(std::max<int64_t>(c.expires - d.clock().now(), 1)));
    reply.put_u64(wire::Tag::Expires, uint64_t(c.expires));
    audit_answer(d, call, "push-start", c.role, "", {}, "push " + c.id.substr(0, 8) + " sent to " + s.device);
    return {};
}

}  // namespace

Answer push_start(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    if (call.ticket != 0) {
        const push::ChallengeState* s = d.push().started_by(call.ticket);
        if (!s) return {wire::Status::Unavailable, "the push was cancelled; try again"};
        if (s->phase == push::ChallengeState::Phase::Sending && !call.deadline_passed) return parked();
        return push_started(d, call, *s, reply);
    }

    Answer error;
    std::string role_name, reason;
    if (!get_text(call.fields, wire::Tag::Role, 64, &role_name, &error) ||
        !get_text(call.fields, wire::Tag::Reason, 1024, &reason, &error))
        return error;
    if (!d.push().enabled()) {
        Answer a{wire::Status::Denied, "push is not configured on this host; use a verification code"};
        audit_answer(d, call, "push-start", role_name, "", a);
        return a;
    }
    if (!role_name.empty() && !d.config().find_role(role_name)) return no_such_role(role_name);
    // Nobody's phone is rung for a role they could not get anyway, or
    // while they are locked.
    policy::RequestContext ctx = request_context(d, call, policy::Operation::PushStart, role_name);
    ctx.reason = reason;
    // Asked again inside the role's grant (a verify consumes the push).
    call.fields.get_bool(wire::Tag::Reauth, &ctx.reauth);
    policy::Decision decision = continue_or_decide(d, call, ctx);
    if (decision.outcome == policy::Outcome::Deny) {
        Answer a = denial_of(decision, call, reply);
        audit_decision(d, call, "push-start", role_name, "", a, decision);
        return a;
    }
    carry_to_next_step(d, call, ctx, decision);  // to the activate or verify that consumes the challenge
    if (!call.parking) return {wire::Status::Unavailable, "push needs a connection that can wait"};

    push::PushChallenge c;
    c.user = call.user;
    c.role = role_name;
    c.reason = reason;
    c.service = ctx.service.empty() ? "elevatectl" : ctx.service;
    c.remote_host = ctx.source.kind == policy::Source::Kind::Remote ? ctx.source.host : "";
    c.tty = ctx.tty;
    c.host = this_host(d.config().push);
    c.created = d.clock().now();
    c.expires = c.created + d.config().push.timeout;
    // A rate-limited provider is retried while sending for this long at
    // most: the caller is waiting (pam_elevate for its timeout, 10 s by
    // default), and a refusal must reach it as one, not as a timeout.
    c.send_by = c.created + kSendRetrySeconds;
    // Long enough for the provider's first answer (connect + request, twice
    // for Duo's preauth and auth) after those retries.
    const auto& endpoint = d.config().push.provider == config::PushProviderKind::Duo ? d.config().push.duo.endpoint
                                                                                     : d.config().push.webhook.endpoint;
    const int64_t wait_ms =
        2 * (endpoint.connect_timeout_ms + endpoint.request_timeout_ms) + 1000 + kSendRetrySeconds * 1000;
    const uint64_t ticket = call.parking->park(wire::monotonic_ms() + wait_ms);
    d.push().start(std::move(c), ticket);
    return parked();
}

Answer unlock(daemon::Daemon& d, const Call& call, wire::FieldWriter&) {
    auto lock = d.store().clear_lock(call.user);
    if (!lock) return internal_error("unlock", lock.error());
    auto failures = d.store().clear_failures(call.user);
    if (!failures) return internal_error("unlock", failures.error());
    audit_answer(d, call, "unlock", "", "", {},
                 *lock ? "fraud lock and failure count cleared" : "failure count cleared (no fraud lock was set)");
    return {};
}

}  // namespace elevate::handlers
