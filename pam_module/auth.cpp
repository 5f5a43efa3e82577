// The auth step: authorize; then, for what the daemon asks, a reason and a
// second factor (a code typed at the prompt, or a push to the user's phone);
// then activate or verify; and when the role needs approval, one bounded
// wait for the approvers. The contract is docs/PROTOCOL.md ("PAM
// operations", "Push", "Approval requests"); what the user sees is in
// docs/man/pam_elevate.8.
#include "pam_module/txn.h"

#include <security/pam_appl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

namespace elevate::pam {

namespace {

// Longer answers are refused here (no daemon round trip, no failure counted);
// elevated accepts codes of at most 16 bytes.
constexpr size_t kMaxCode = 16;
constexpr size_t kMaxReason = 1024;
// elevated sends 36 bytes; anything longer is a malformed reply.
constexpr size_t kMaxChallenge = 64;
// The longest the module waits for the user to answer a push, whatever the
// daemon says (it is added to the timeout option for that one call).
constexpr unsigned kMaxPushWaitSeconds = 600;
constexpr const char* kCodeOrPushPrompt = "Verification code (or press Enter for push): ";
constexpr const char* kPushUnavailable = "the push provider or the daemon is unavailable";

// The second factor of this attempt: a code typed at the prompt, or the
// challenge of a push the daemon has sent. Both are wiped when it goes.
struct Factor {
    Answer code;
    char challenge[kMaxChallenge + 1] = {0};
    unsigned wait_seconds = 0;  // how long the daemon may take to answer (the user answering the push)

    Factor() = default;
    ~Factor() { explicit_bzero(challenge, sizeof challenge); }
    Factor(const Factor&) = delete;
    Factor& operator=(const Factor&) = delete;

    bool is_push() const { return challenge[0] != '\0'; }
};

enum class RequestState { Pending, Approved, Denied, Cancelled, Expired, Unknown };

// An approval request record (docs/PROTOCOL.md, "Approval requests"), with
// every text that may reach the terminal made printable.
struct RequestView {
    uint64_t id = 0;
    RequestState state = RequestState::Unknown;
    char state_text[16] = {0};
    char role[64] = {0};
    char approvers[256] = {0};
    char decided_by[256] = {0};
};

RequestState parse_state(const char* s) {
    if (strcmp(s, "pending") == 0) return RequestState::Pending;
    if (strcmp(s, "approved") == 0) return RequestState::Approved;
    if (strcmp(s, "denied") == 0) return RequestState::Denied;
    if (strcmp(s, "cancelled") == 0) return RequestState::Cancelled;
    if (strcmp(s, "expired") == 0) return RequestState::Expired;
    return RequestState::Unknown;
}

// The first request record of a reply. False when there is none, or it does
// not say which request it is.
bool first_request(const wire::FieldList& fields, RequestView* out) {
    wire::FieldList record;
    if (!first_record(fields, wire::Tag::Request, &record)) return false;
    if (!record.get_u64(wire::Tag::RequestId, &out->id)) return false;
    copy_display(record, wire::Tag::State, out->state_text, sizeof out->state_text);
    out->state = parse_state(out->state_text);
    copy_display(record, wire::Tag::Role, out->role, sizeof out->role);
    copy_display(record, wire::Tag::Approvers, out->approvers, sizeof out->approvers);
    copy_display(record, wire::Tag::DecidedBy, out->decided_by, sizeof out->decided_by);
    return true;
}

const char* approvers_of(const RequestView& r) {
    return r.approvers[0] ? r.approvers : "the approvers";
}

unsigned long long id_of(const RequestView& r) {
    return static_cast<unsigned long long>(r.id);
}

// The decision on a request could not be learned (daemon unreachable,
// failing, or an answer that makes no sense). Never fails open: the daemon
// already decided that this access needs approvers, no grant exists, and
// opening would bypass them.
Verdict approval_unknown(const Txn& t, const RequestView& r, Verdict v, const char* why) {
    if (v == Verdict::Deny) return settle(t, v, why);  // not_found, forbidden...: the daemon's own words
    log(t, v == Verdict::Untrusted ? LOG_ALERT : LOG_ERR, "denied %s: could not learn the decision on request %llu: %s",
        t.user, id_of(r), why);
    char text[kWhy];
    snprintf(text, sizeof text,
             "Could not learn whether request %llu was approved: the elevate access service is unavailable. Try "
             "again once it is approved.",
             id_of(r));
    tell_user(t, PAM_ERROR_MSG, text);
    return v;
}

// What a request's state means for this authentication. `reply` is the one
// that carried the record (its grant, when approved; its message, when denied).
Verdict conclude(const Txn& t, const RequestView& r, const Reply& reply) {
    char why[kWhy];
    switch (r.state) {
        case RequestState::Approved: {
            GrantView grant;
            char text[kWhy];
            const char* by = r.decided_by[0] ? r.decided_by : approvers_of(r);
            if (first_grant(reply.fields(), &grant) && grant.has_end) {
                remember_grant(t, grant);
                char until[40];
                format_utc(int64_t(grant.end), until, sizeof until);
                snprintf(text, sizeof text, "Request %llu approved by %s: granted %s until %s", id_of(r), by,
                         grant.role[0]     ? grant.role
                         : t.opts.activate ? t.opts.activate
                                           : r.role,
                         until);
            } else {
                snprintf(text, sizeof text, "Request %llu approved by %s", id_of(r), by);
            }
            log(t, LOG_INFO, "allowed %s: %s", t.user, text);
            tell_user(t, PAM_TEXT_INFO, text);
            return Verdict::Allow;
        }
        case RequestState::Pending:
            snprintf(why, sizeof why,
                     "Request %llu is still waiting for approval by %s; try again once it is approved.", id_of(r),
                     approvers_of(r));
            return settle(t, Verdict::Deny, why);
        case RequestState::Denied:
        case RequestState::Cancelled:
            // Who decided, and the daemon's message (the reason they gave), when there are.
            snprintf(why, sizeof why, "Request %llu was %s%s%.255s%s%.300s.", id_of(r),
                     r.state == RequestState::Denied ? "denied" : "cancelled", r.decided_by[0] ? " by " : "",
                     r.decided_by, reply.message()[0] ? ": " : "", reply.message());
            return settle(t, Verdict::Deny, why);
        case RequestState::Expired:
            snprintf(why, sizeof why, "Request %llu expired before it was approved by %s.", id_of(r), approvers_of(r));
            return settle(t, Verdict::Deny, why);
        case RequestState::Unknown:
            break;
    }
    snprintf(why, sizeof why, "request %llu at %s is in an unknown state \"%s\"", id_of(r), t.opts.socket,
             r.state_text);
    return approval_unknown(t, r, Verdict::Unavailable, why);
}

// A request of this user awaits approvers: wait for their decision, once,
// for at most approval_wait seconds (0: do not wait).
Verdict await_approval(const Txn& t, const RequestView& pending, const Reply& carrier) {
    const unsigned wait = t.opts.approval_wait_seconds;
    if (pending.state != RequestState::Pending || wait == 0) return conclude(t, pending, carrier);

    char text[kWhy];
    snprintf(text, sizeof text, "Waiting for approval of request %llu by %s (up to %u s)...", id_of(pending),
             approvers_of(pending), wait);
    announce(t, text);
    log(t, LOG_INFO, "request %llu of %s needs approval by %s; waiting up to %u s", id_of(pending), t.user,
        approvers_of(pending), wait);

    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_u64(wire::Tag::RequestId, pending.id);
    w.put_u64(wire::Tag::Wait, wait);
    Reply reply;
    char why[kWhy];
    Verdict v = exchange(t, wire::Op::RequestWait, request, &reply, why, sizeof why, wait);
    if (v != Verdict::Allow) return approval_unknown(t, pending, v, why);
    RequestView now;
    if (!first_request(reply.fields(), &now) || now.id != pending.id) {
        snprintf(why, sizeof why, "request_wait at %s: the reply carries no record of request %llu", t.opts.socket,
                 id_of(pending));
        return approval_unknown(t, pending, Verdict::Unavailable, why);
    }
    return conclude(t, now, reply);
}

// Sends a push (the daemon hands it to the provider) and tells the user to
// look at their phone. `role` and `reason` go with it when activating;
// `role` and `under_grant` when asked again inside the role's grant.
// With `code_fallback`, an unavailable push is returned unsettled (the
// caller asks for a code instead, and failmode never gets a say).
Verdict start_push(const Txn& t, const char* role, bool under_grant, const Answer& reason, Factor* out,
                   bool code_fallback) {
    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, t.user);
    if (role) w.put_str(wire::Tag::Role, role);
    if (role && under_grant) w.put_bool(wire::Tag::Reauth, true);
    if (!reason.empty()) w.put_str(wire::Tag::Reason, reason.get());
    put_context(t, w);

    Reply reply;
    char why[kWhy];
    Verdict v = exchange(t, wire::Op::PushStart, request, &reply, why, sizeof why, 0, kPushUnavailable);
    if (v == Verdict::Unavailable && code_fallback) {
        log(t, LOG_WARNING, "push for %s unavailable, asking for a code instead: %s", t.user, why);
        char text[kWhy + 64];
        snprintf(text, sizeof text, "Push is unavailable (%s); use a verification code.", why);
        tell_user(t, PAM_ERROR_MSG, text);
        return v;
    }
    if (v != Verdict::Allow) return settle(t, v, why);
    uint64_t timeout = 0;
    if (!copy_str(reply.fields(), wire::Tag::Challenge, out->challenge, sizeof out->challenge) ||
        out->challenge[0] == '\0' || !reply.fields().get_u64(wire::Tag::Timeout, &timeout) || timeout == 0) {
        explicit_bzero(out->challenge, sizeof out->challenge);
        snprintf(why, sizeof why, "push_start at %s: the reply has no usable challenge or timeout", t.opts.socket);
        return settle(t, Verdict::Unavailable, why);
    }
    out->wait_seconds = timeout > kMaxPushWaitSeconds ? kMaxPushWaitSeconds : unsigned(timeout);

    char label[128];
    if (!copy_display(reply.fields(), wire::Tag::Label, label, sizeof label) || label[0] == '\0')
        snprintf(label, sizeof label, "your device");
    char text[256];
    snprintf(text, sizeof text, "Push sent to %s, waiting up to %u s...", label, out->wait_seconds);
    announce(t, text);
    debug(t, "push for %s sent to %s; %u s to answer", t.user, label, out->wait_seconds);
    return Verdict::Allow;
}

// No answer came back while the user was to answer a push (timed out,
// connection lost, garbled). Never fails open: the daemon was up a moment ago
// and took the push, and whether the user approved is unknown; otherwise
// anyone with the password could get in by ignoring the push. (A push
// provider the daemon reports unavailable is another matter: failmode
// decides, as for an unreachable daemon.)
Verdict push_lost(const Txn& t, const char* why) {
    log(t, LOG_ERR, "denied %s: no answer about the push (failmode does not apply once a push was sent): %s", t.user,
        why);
    tell_user(t, PAM_ERROR_MSG,
              "The elevate access service did not say whether the push was approved, so access is denied. Try "
              "again.");
    return Verdict::Unavailable;
}

// Gets the second factor: a code when only a code is accepted; a push when
// only a push is, or with autopush; otherwise the user chooses at one
// prompt, where an empty answer means push.
Verdict obtain_factor(const Txn& t, bool offer_code, bool offer_push, const char* role, bool under_grant,
                      const Answer& reason, Factor* out) {
    bool push = offer_push && (!offer_code || t.opts.autopush);
    if (!push) {
        const char* prompt = offer_push ? kCodeOrPushPrompt : t.opts.prompt;
        ConvResult c = ask(t.pamh, PAM_PROMPT_ECHO_OFF, prompt, &out->code);
        if (!c.ok()) return conversation_failed(t, "the verification code", c);
        if (out->code.empty()) {
            if (!offer_push) return deny_locally(t, "No verification code was entered.");
            push = true;
        } else if (out->code.size() > kMaxCode) {
            return deny_locally(t, "The verification code is too long.");
        }
    }
    if (!push) return Verdict::Allow;
    // A code would have done: an unavailable push provider falls back to
    // the code prompt rather than to failmode, so failmode=open never lets
    // someone in who pressed Enter while a code was possible.
    Verdict v = start_push(t, role, under_grant, reason, out, /*code_fallback=*/offer_code);
    if (v != Verdict::Unavailable || !offer_code) return v;
    ConvResult c = ask(t.pamh, PAM_PROMPT_ECHO_OFF, t.opts.prompt, &out->code);
    if (!c.ok()) return conversation_failed(t, "the verification code", c);
    if (out->code.empty()) return deny_locally(t, "No verification code was entered.");
    if (out->code.size() > kMaxCode) return deny_locally(t, "The verification code is too long.");
    return Verdict::Allow;
}

// Prompts for what the daemon asked for and sends activate (just-in-time,
// a role is configured and not yet granted) or verify (a plain second factor,
// or re-authentication under an existing grant).
Verdict prove(const Txn& t, bool already_granted, bool need_reason, bool offer_code, bool offer_push) {
    const char* role = t.opts.activate;
    const bool activate = role != nullptr && !already_granted;

    Answer reason;
    if (activate && need_reason) {
        char prompt[64];
        snprintf(prompt, sizeof prompt, "Reason for %s: ", role);
        ConvResult c = ask(t.pamh, PAM_PROMPT_ECHO_ON, prompt, &reason);
        if (!c.ok()) return conversation_failed(t, "a reason", c);
        if (reason.empty()) {
            char why[128];
            snprintf(why, sizeof why, "A reason is required to activate %s.", role);
            return deny_locally(t, why);
        }
        if (reason.size() > kMaxReason) return deny_locally(t, "The reason is too long (at most 1024 bytes).");
    }

    // The push names the role exactly when the call that consumes its
    // challenge does (activate, or verify inside the role's grant), so the
    // two always agree.
    Factor factor;
    Verdict v = obtain_factor(t, offer_code, offer_push, role, /*under_grant=*/!activate, reason, &factor);
    if (v != Verdict::Allow) return v;
    const bool push = factor.is_push();
    const char* how = push ? "push" : "verification code";

    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, t.user);
    if (activate) {
        w.put_str(wire::Tag::Role, role);
        if (!reason.empty()) w.put_str(wire::Tag::Reason, reason.get());
    } else if (role) {
        // Asked inside the role's grant: the daemon judges the code by the
        // rules for that role, the ones that asked for it.
        w.put_str(wire::Tag::Role, role);
    }
    if (push) {
        w.put_str(wire::Tag::Challenge, factor.challenge);
        explicit_bzero(factor.challenge, sizeof factor.challenge);
    } else {
        w.put_str(wire::Tag::Code, factor.code.get());
        factor.code.reset();  // wiped now; the request buffer is wiped when it goes out of scope
    }
    put_context(t, w);

    Reply reply;
    char why[kWhy];
    const wire::Op op = activate ? wire::Op::Activate : wire::Op::Verify;
    v = exchange(t, op, request, &reply, why, sizeof why, factor.wait_seconds,
                 push ? kPushUnavailable : "the daemon is shutting down or overloaded");
    RequestView pending;
    if (activate && reply.status() == wire::Status::Conflict && first_request(reply.fields(), &pending)) {
        // A request for this role was already pending (made elsewhere since authorize): wait for it.
        debug(t, "activate %s: request %llu was already pending", role, id_of(pending));
        return await_approval(t, pending, reply);
    }
    if (push && v == Verdict::Unavailable && !reply.valid()) return push_lost(t, why);
    if (v != Verdict::Allow) return settle(t, v, why);

    if (!activate) {
        log(t, LOG_INFO, "allowed %s: %s accepted%s%s", t.user, how, role ? " under the active grant for " : "",
            role ? role : "");
        return Verdict::Allow;
    }
    if (first_request(reply.fields(), &pending)) return await_approval(t, pending, reply);

    GrantView grant;
    char text[160];
    if (first_grant(reply.fields(), &grant) && grant.has_end) {
        remember_grant(t, grant);
        char until[40];
        format_utc(int64_t(grant.end), until, sizeof until);
        snprintf(text, sizeof text, "Granted %s until %s", grant.role[0] ? grant.role : role, until);
    } else {
        snprintf(text, sizeof text, "Granted %s", role);
    }
    log(t, LOG_INFO, "allowed %s: %s (activated at the prompt, %s)", t.user, text, how);
    tell_user(t, PAM_TEXT_INFO, text);
    return Verdict::Allow;
}

}  // namespace

Verdict authenticate(const Txn& t) {
    if (is_breakglass(t)) return break_glass(t);

    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, t.user);
    if (t.opts.activate) w.put_str(wire::Tag::Role, t.opts.activate);
    if (t.opts.reauth) w.put_bool(wire::Tag::Reauth, true);
    put_context(t, w);

    Reply reply;
    char why[kWhy];
    Verdict v = exchange(t, wire::Op::Authorize, request, &reply, why, sizeof why);
    if (v != Verdict::Allow) return settle(t, v, why);

    const bool granted = reply.flag(wire::Tag::Granted);
    bool need_code = reply.flag(wire::Tag::NeedCode);
    const bool push_ok = reply.flag(wire::Tag::PushOk);
    const bool need_reason = reply.flag(wire::Tag::NeedReason);
    RequestView pending;
    const bool has_request = first_request(reply.fields(), &pending);
    debug(t, "authorize %s: granted=%d need_code=%d push_ok=%d need_reason=%d request=%llu", t.user, granted, need_code,
          push_ok, need_reason, has_request ? id_of(pending) : 0ull);

    GrantView covering;
    const bool have_grant = granted && first_grant(reply.fields(), &covering);
    if (granted && !need_code && !push_ok) {
        if (!t.opts.reauth) {
            // The routine case (every sudo under a grant) is in the daemon's
            // audit trail; the module's log keeps denials and activations.
            debug(t, "allowed %s: an active grant covers this request%s%s", t.user, t.opts.activate ? " for " : "",
                  t.opts.activate ? t.opts.activate : "");
            if (have_grant) remember_grant(t, covering);
            return Verdict::Allow;
        }
        // reauth=always is this module's promise to prompt: keep it even if
        // the daemon would not have asked.
        debug(t, "reauth=always: asking %s for a code despite the active grant", t.user);
        need_code = true;
    } else if (!granted && !need_code && !push_ok) {
        // A request of this user for the role already awaits approvers: no
        // prompt, wait for their decision.
        if (has_request) return await_approval(t, pending, reply);
        snprintf(why, sizeof why, "authorize at %s: the reply neither grants access nor asks for a code or a push",
                 t.opts.socket);
        return settle(t, Verdict::Unavailable, why);
    }
    v = prove(t, granted, need_reason, need_code, push_ok);
    if (v == Verdict::Allow && have_grant) remember_grant(t, covering);  // re-authenticated under it
    return v;
}

}  // namespace elevate::pam
