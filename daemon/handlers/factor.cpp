// The second factor of a request: a TOTP code, or the answer to a push
// challenge the same user started (push_start). Shared by verify, activate
// and approve, so every path checks locks, replay and push answers alike.
#include "common/base/parse.h"
#include "common/wire/transport.h"
#include "daemon/core/log.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::handlers {

namespace {

constexpr size_t kMaxCode = 16;
// A parked request answers "no answer" this soon after the challenge's
// expiry even if the provider has not said so yet: clients wait only the
// push timeout plus their own (short) deadline.
constexpr int64_t kPushGraceMs = 500;

// Maps a verification outcome to the reply; Accepted maps to Ok.
Answer answer_for(const auth::VerifyResult& v) {
    switch (v.outcome) {
        case auth::VerifyOutcome::Accepted:
            return {};
        case auth::VerifyOutcome::Wrong:
            return {wire::Status::Denied, "wrong verification code"};
        case auth::VerifyOutcome::Replayed:
            return {wire::Status::Denied, "this code was already used; wait for the next one"};
        case auth::VerifyOutcome::Older:
            return {wire::Status::Denied, "this code is older than one already used"};
        case auth::VerifyOutcome::Locked:
            return {wire::Status::Locked, "too many failed attempts; locked until " + base::format_utc(v.locked_until)};
        case auth::VerifyOutcome::NotEnrolled:
            return {wire::Status::NotEnrolled,
                    "no second factor is enrolled; ask an administrator to run "
                    "'elevatectl enroll USER'"};
    }
    return {wire::Status::Internal, "unknown verification outcome"};
}

// Tells the risk service what a verification showed (docs/RISK.md). A
// failure to record is logged; the answer stays what the factor said.
void report_risk(daemon::Daemon& d, const Call& call, const std::string& user, auth::VerifyOutcome outcome) {
    const risk::Origin from = origin_of(request_source(d, call));
    base::Result<void> r;
    switch (outcome) {
        case auth::VerifyOutcome::Accepted:
            r = d.risk().signed_in(user, from);
            break;
        case auth::VerifyOutcome::Wrong:
            r = d.risk().wrong_code(user, from);
            break;
        case auth::VerifyOutcome::Replayed:
        case auth::VerifyOutcome::Older:
            r = d.risk().replayed_code(user, from);
            break;
        case auth::VerifyOutcome::Locked:
        case auth::VerifyOutcome::NotEnrolled:
            return;
    }
    if (!r) daemon::log_error("cannot record risk for " + user + ": " + r.error().message);
}

Answer check_code(daemon::Daemon& d, const Call& call, const std::string& user, std::string_view code,
                  wire::FieldWriter& reply) {
    if (code.empty() || code.size() > kMaxCode) return bad_request("a verification code is 1 to 16 characters");
    // Per source network, independent of the user's lockout: a spray over
    // many users from one network runs out of attempts.
    const risk::Origin from = origin_of(request_source(d, call));
    if (!d.risk().admit_attempt(from)) {
        Answer a{wire::Status::Denied, "too many attempts from " + d.risk().network_of(from) + "; try again in " +
                                           std::to_string(d.risk().retry_after(from)) + " s"};
        audit_answer(d, call, "throttle", "", "", a);
        return a;
    }
    base::SecureBuffer secret_code(code);  // wiped on return; codes never reach a log
    auto v = d.verifier().verify(user, secret_code.view(), d.config().totp, d.config().lockout);
    if (!v) return internal_error("verify", v.error());
    if (v->outcome == auth::VerifyOutcome::Locked) reply.put_u64(wire::Tag::LockedUntil, uint64_t(v->locked_until));
    report_risk(d, call, user, v->outcome);
    return answer_for(*v);
}

std::string push_timeout_text(const push::ChallengeState& s) {
    return "no answer to the push on " + s.device + " within " +
           base::format_duration(s.challenge.expires - s.challenge.created);
}

Answer answer_for(const push::ChallengeState& s) {
    const push::PushAnswer& a = s.answer;
    switch (a.outcome) {
        case push::PushOutcome::Approved:
            return {};
        case push::PushOutcome::Denied:
            return {wire::Status::Denied, "push denied on " + s.device};
        case push::PushOutcome::Fraud:
            return {wire::Status::Locked, "push reported as fraud (\"this wasn't me\") on " + s.device +
                                              "; elevation is locked for " + s.challenge.user +
                                              " until an administrator runs: elevatectl unlock " + s.challenge.user};
        case push::PushOutcome::Timeout:
            return {wire::Status::Denied, push_timeout_text(s)};
        case push::PushOutcome::Failed:
            break;
    }
    return {a.unavailable ? wire::Status::Unavailable : wire::Status::Denied,
            a.detail.empty() ? std::string("push failed") : a.detail};
}

Answer check_push(daemon::Daemon& d, const Call& call, const std::string& user, const std::string& role,
                  std::string_view id) {
    const push::ChallengeState* s = d.push().find(std::string(id));
    if (!s || s->challenge.user != user)
        return {wire::Status::Denied, "unknown or expired push challenge; start a new push"};
    if (s->challenge.role != role) return {wire::Status::Denied, "this push was started for another role"};
    const std::string cid = s->challenge.id;
    switch (s->phase) {
        case push::ChallengeState::Phase::Sending:
        case push::ChallengeState::Phase::Waiting: {
            if (call.deadline_passed || !call.parking) {
                Answer a{wire::Status::Denied, push_timeout_text(*s)};
                d.push().consume(cid);
                return a;
            }
            const int64_t left_ms = (s->challenge.expires - d.clock().now()) * 1000;
            uint64_t ticket = call.parking->park(wire::monotonic_ms() + std::max<int64_t>(left_ms, 0) + kPushGraceMs);
            d.push().wait(cid, ticket);
            return parked(ticket);
        }
        case push::ChallengeState::Phase::Failed: {
            Answer a{s->unavailable ? wire::Status::Unavailable : wire::Status::Denied, s->error};
            d.push().consume(cid);
            return a;
        }
        case push::ChallengeState::Phase::Answered: {
            Answer a = answer_for(*s);
            if (s->answer.outcome == push::PushOutcome::Approved)
                report_risk(d, call, user, auth::VerifyOutcome::Accepted);
            d.push().consume(cid);
            return a;
        }
    }
    return {wire::Status::Internal, "unknown push state"};
}

}  // namespace

base::Result<policy::LockState> read_lock(daemon::Daemon& d, const std::string& user) {
    policy::LockState s;
    auto lock = d.store().get_lock(user);
    if (!lock) return lock.error();
    if (*lock) {
        s.fraud = true;
        s.since = (*lock)->since;
        s.reason = (*lock)->reason;
        return s;
    }
    auto locked = d.verifier().locked_until(user);
    if (!locked) return locked.error();
    s.locked_until = *locked;
    return s;
}

Answer check_unlocked(daemon::Daemon& d, const std::string& user, wire::FieldWriter& reply) {
    auto lock = read_lock(d, user);
    if (!lock) return internal_error("lock check", lock.error());
    const std::string message = policy::lock_message(user, *lock);
    if (message.empty()) return {};
    if (!lock->fraud) reply.put_u64(wire::Tag::LockedUntil, uint64_t(lock->locked_until));
    return {wire::Status::Locked, message};
}

Answer check_factor(daemon::Daemon& d, const Call& call, const FactorCheck& check, wire::FieldWriter& reply,
                    std::string* factor) {
    std::string_view code, challenge;
    const bool has_code = call.fields.get_str(wire::Tag::Code, &code);
    const bool has_challenge = call.fields.get_str(wire::Tag::Challenge, &challenge);
    if (has_code == has_challenge)
        return bad_request(has_code ? "send a verification code or a push challenge, not both"
                                    : "a verification code is required");
    if (has_challenge) {
        // The user's own "this wasn't me" on this very push: say that, not
        // the lock it caused a moment ago.
        const push::ChallengeState* s = d.push().find(std::string(challenge));
        if (s && s->challenge.user == check.user && s->phase == push::ChallengeState::Phase::Answered &&
            s->answer.outcome == push::PushOutcome::Fraud) {
            Answer a = answer_for(*s);
            d.push().consume(s->challenge.id);
            return a;
        }
    }
    if (Answer a = check_unlocked(d, check.user, reply); a.status != wire::Status::Ok) return a;
    if (has_code) {
        if (!check.code_allowed) return {wire::Status::Denied, check.what + " requires push approval, not a code"};
        *factor = "totp";
        return check_code(d, call, check.user, code, reply);
    }
    if (!check.push_allowed) return {wire::Status::Denied, check.what + " requires a verification code, not a push"};
    *factor = "push";
    return check_push(d, call, check.user, check.role, challenge);
}

Answer check_decided_factor(daemon::Daemon& d, const Call& call, const config::Role* role, policy::Decision& decision,
                            wire::FieldWriter& reply, std::string* factor) {
    FactorCheck check;
    check.user = call.user;
    if (role) {
        check.role = role->name;
        check.what = "role " + role->name;
    }
    check.code_allowed = decision.code_ok;
    check.push_allowed = decision.push_ok;
    Answer a = check_factor(d, call, check, reply, factor);
    if (a.parked) d.park_decision(a.ticket, std::move(decision));
    return a;
}

}  // namespace elevate::handlers
