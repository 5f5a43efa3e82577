#include "pam_module/flow.h"

#include "common/wire/transport.h"
#include "pam_module/conversation.h"
#include "pam_module/daemon_client.h"
#include "pam_module/options.h"

#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

namespace elevate::pam {

namespace {

// pam_set_data key for the daemon's session id (open -> close).
constexpr const char* kSessionData = "elevate_session_id";
constexpr size_t kMaxSessionId = 128;
// Longer answers are refused here (no daemon round trip, no failure counted);
// elevated accepts codes of at most 16 bytes.
constexpr size_t kMaxCode = 16;
constexpr size_t kMaxReason = 1024;
constexpr size_t kWhy = 640;
constexpr const char* kBreakGlassReason = "break-glass user";
constexpr const char* kUnavailableText =
    "The elevate access service is unavailable, so access is denied. Contact an administrator.";

// Every outcome of a step, before it becomes a PAM code in pam_code().
enum class Verdict {
    Allow,        // the daemon said ok
    FailOpen,     // the daemon could not decide and failmode=open allows it (logged at LOG_ALERT)
    Ignore,       // not this module's business (no require_grant, break-glass user)
    Deny,         // the daemon, the second factor or a local check said no
    Unavailable,  // unreachable, timeout, malformed reply, daemon shutting down
    Untrusted,    // the socket is not served by root: never trusted, never fails open
    DaemonError,  // the daemon answered "internal"
    Rejected,     // the daemon refused the request as malformed or from another version
    ConvError,    // no conversation, conversation error or no answer
    UserUnknown,  // no usable PAM_USER
    BadConfig,    // invalid module options
};

// The one place where verdicts become PAM codes (documented in pam_elevate(8)).
int pam_code(Step step, Verdict v) {
    if (step == Step::CloseSession) return PAM_SUCCESS;  // a close never fails a logout; errors are logged
    switch (v) {
        case Verdict::Allow:
        case Verdict::FailOpen:
            return PAM_SUCCESS;
        case Verdict::Ignore:
            return PAM_IGNORE;
        case Verdict::BadConfig:
            return PAM_SERVICE_ERR;
        case Verdict::UserUnknown:
            return PAM_USER_UNKNOWN;
        case Verdict::ConvError:
            return PAM_CONV_ERR;
        default:
            break;
    }
    switch (step) {
        case Step::Authenticate:
            if (v == Verdict::Deny) return PAM_AUTH_ERR;
            if (v == Verdict::Rejected) return PAM_SERVICE_ERR;
            return PAM_AUTHINFO_UNAVAIL;  // Unavailable, Untrusted, DaemonError
        case Step::Account:
            if (v == Verdict::Rejected) return PAM_SERVICE_ERR;
            return PAM_PERM_DENIED;
        case Step::OpenSession:
            return PAM_SESSION_ERR;
        case Step::Setcred:
        case Step::Chauthtok:
        case Step::CloseSession:
            break;
    }
    return PAM_SERVICE_ERR;
}

const char* step_name(Step step) {
    switch (step) {
        case Step::Authenticate:
            return "auth";
        case Step::Setcred:
            return "setcred";
        case Step::Account:
            return "account";
        case Step::OpenSession:
            return "open_session";
        case Step::CloseSession:
            return "close_session";
        case Step::Chauthtok:
            return "chauthtok";
    }
    return "?";
}

// One PAM step in progress. Lives on the stack of the entry point: the
// module keeps no state between calls except the session id in pam_set_data.
struct Txn {
    pam_handle_t* pamh = nullptr;
    Step step = Step::Authenticate;
    Options opts;
    bool quiet = false;   // quiet option: no messages to the user at all
    bool silent = false;  // PAM_SILENT: no informational messages
    const char* user = nullptr;
    const char* service = nullptr;
    const char* rhost = nullptr;
    const char* tty = nullptr;
};

const char* or_dash(const char* s) {
    return s && *s ? s : "-";
}

__attribute__((format(printf, 3, 4))) void log(const Txn& t, int priority, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    pam_vsyslog(t.pamh, priority, fmt, args);
    va_end(args);
}

// Detail for debug: never a code, never a reason text.
__attribute__((format(printf, 2, 3))) void debug(const Txn& t, const char* fmt, ...) {
    if (!t.opts.debug) return;
    va_list args;
    va_start(args, fmt);
    pam_vsyslog(t.pamh, LOG_DEBUG, fmt, args);
    va_end(args);
}

// PAM_SILENT drops informational text but not the reason for a denial:
// sudo before 1.9.14 passes PAM_SILENT to every pam_authenticate call, and
// a user who was just prompted for a code must learn why it was refused.
// Only the quiet option silences those.
void tell_user(const Txn& t, int style, const char* text) {
    if (t.quiet || (t.silent && style != PAM_ERROR_MSG) || text == nullptr || text[0] == '\0') return;
    ConvResult r = tell(t.pamh, style, text);
    if (!r.ok()) debug(t, "could not show a message: %s", conv_status_text(r.status));
}

const char* string_item(pam_handle_t* pamh, int type) {
    const void* item = nullptr;
    if (pam_get_item(pamh, type, &item) != PAM_SUCCESS || item == nullptr) return nullptr;
    const char* s = static_cast<const char*>(item);
    return s[0] ? s : nullptr;
}

void put_context(const Txn& t, wire::FieldWriter& w) {
    if (t.service) w.put_str(wire::Tag::Service, t.service);
    if (t.rhost) w.put_str(wire::Tag::RemoteHost, t.rhost);
    if (t.tty) w.put_str(wire::Tag::Tty, t.tty);
}

// Talks to the daemon and classifies the answer. No logging here: callers
// decide what a failure means for their step.
Verdict exchange(const Txn& t, wire::Op op, const Request& request, Reply* reply, char* why, size_t why_size) {
    const int64_t deadline = wire::monotonic_ms() + int64_t(t.opts.timeout_seconds) * 1000;
    CallError error;
    if (!call(t.opts.socket, deadline, op, request, reply, &error)) {
        snprintf(why, why_size, "%s", error.text);
        return error.kind == CallFailure::NotRootServer ? Verdict::Untrusted : Verdict::Unavailable;
    }
    const char* name = wire::op_name(op);
    const char* message = reply->message()[0] ? reply->message() : "no message";
    switch (reply->status()) {
        case wire::Status::Ok:
            return Verdict::Allow;
        case wire::Status::Denied:
        case wire::Status::Locked:
        case wire::Status::NotEnrolled:
        case wire::Status::NotFound:
        case wire::Status::Forbidden:
        case wire::Status::Conflict:
            snprintf(why, why_size, "%s", reply->message()[0] ? reply->message() : wire::status_name(reply->status()));
            return Verdict::Deny;
        case wire::Status::Unavailable:
            snprintf(why, why_size, "%s at %s: the daemon is shutting down or overloaded (%s)", name, t.opts.socket,
                     message);
            return Verdict::Unavailable;
        case wire::Status::Internal:
            snprintf(why, why_size, "%s at %s: the daemon failed (%s); see its log", name, t.opts.socket, message);
            return Verdict::DaemonError;
        case wire::Status::BadRequest:
        case wire::Status::UnsupportedVersion:
        case wire::Status::TooLarge:
            break;
    }
    snprintf(why, why_size,
             "%s at %s: the daemon rejected the request (%s: %s); are elevated and pam_elevate the same version?", name,
             t.opts.socket, wire::status_name(reply->status()), message);
    return Verdict::Rejected;
}

// Logs and tells the user why a step did not succeed; applies failmode=open
// to an unreachable daemon in auth and account.
Verdict settle(const Txn& t, Verdict v, const char* why) {
    switch (v) {
        case Verdict::Deny:
            log(t, LOG_NOTICE, "denied %s: %s", t.user, why);
            tell_user(t, PAM_ERROR_MSG, why);
            return v;
        case Verdict::Unavailable:
            if (t.opts.failmode == FailMode::Open) {
                log(t, LOG_ALERT, "failmode=open: allowing %s without elevate because %s", t.user, why);
                return Verdict::FailOpen;
            }
            log(t, LOG_ERR, "denied %s (failmode=secure): elevate daemon unavailable: %s", t.user, why);
            tell_user(t, PAM_ERROR_MSG, kUnavailableText);
            return v;
        case Verdict::Untrusted:
            log(t, LOG_ALERT, "denied %s: %s", t.user, why);
            tell_user(t, PAM_ERROR_MSG, kUnavailableText);
            return v;
        case Verdict::DaemonError:
        case Verdict::Rejected:
            log(t, LOG_ERR, "denied %s: %s", t.user, why);
            tell_user(t, PAM_ERROR_MSG, kUnavailableText);
            return v;
        default:
            return v;
    }
}

Verdict conversation_failed(const Txn& t, const char* what, const ConvResult& c) {
    log(t, LOG_ERR, "denied %s: could not ask for %s: %s (%s)", t.user, what, conv_status_text(c.status),
        pam_strerror(t.pamh, c.pam_rc));
    return Verdict::ConvError;
}

// Local refusals (empty code, missing reason) that never reach the daemon.
Verdict deny_locally(const Txn& t, const char* why) {
    log(t, LOG_NOTICE, "denied %s: %s", t.user, why);
    tell_user(t, PAM_ERROR_MSG, why);
    return Verdict::Deny;
}

void format_utc(int64_t when, char* out, size_t size) {
    time_t at = time_t(when);
    struct tm tm;
    if (gmtime_r(&at, &tm) == nullptr) {
        snprintf(out, size, "@%lld", static_cast<long long>(when));
        return;
    }
    int64_t ahead = when - int64_t(time(nullptr));
    if (ahead >= 0 && ahead < 20 * 3600) {
        strftime(out, size, "%H:%M UTC", &tm);
    } else {
        strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
    }
}

struct GrantView {
    char role[64] = {0};
    uint64_t end = 0;
    bool has_end = false;
};

// The first grant record of a reply, if any.
bool first_grant(const wire::FieldList& fields, GrantView* out) {
    auto it = fields.iterate();
    wire::Field f;
    while (it.next(&f)) {
        if (f.tag != uint16_t(wire::Tag::Grant)) continue;
        wire::FieldList record;
        if (record.parse(f.data, f.length) != wire::CodecError::Ok) return false;
        copy_str(record, wire::Tag::Role, out->role, sizeof out->role);
        out->has_end = record.get_u64(wire::Tag::End, &out->end);
        return true;
    }
    return false;
}

// A grant the daemon confirmed in this PAM handle's auth step. sudo runs
// auth and account in one process a moment apart, so account need not ask
// again; sshd runs auth in a forked child, where this is never set, and its
// account step asks the daemon (pam_set_data does not cross the fork).
constexpr const char kConfirmedGrant[] = "elevate:confirmed-grant";
constexpr int64_t kConfirmationMs = 10000;

struct ConfirmedGrant {
    char role[64];
    int64_t end;
    int64_t confirmed_ms;  // monotonic
};

void free_confirmed(pam_handle_t*, void* data, int) {
    free(data);
}

void remember_grant(const Txn& t, const GrantView& g) {
    if (!g.has_end || g.role[0] == '\0') return;
    auto* c = static_cast<ConfirmedGrant*>(calloc(1, sizeof(ConfirmedGrant)));
    if (c == nullptr) return;  // account simply asks the daemon
    memcpy(c->role, g.role, sizeof c->role);
    c->end = int64_t(g.end);
    c->confirmed_ms = wire::monotonic_ms();
    if (pam_set_data(t.pamh, kConfirmedGrant, c, free_confirmed) != PAM_SUCCESS) free(c);
}

// The grant confirmed during authentication, if it is one of `roles`, has
// not reached its end time (invariant 3) and was confirmed moments ago.
bool confirmed_grant(const Txn& t, const char* roles, GrantView* out) {
    const void* data = nullptr;
    if (pam_get_data(t.pamh, kConfirmedGrant, &data) != PAM_SUCCESS || data == nullptr) return false;
    const auto* c = static_cast<const ConfirmedGrant*>(data);
    if (!list_contains(roles, c->role) || c->end <= int64_t(time(nullptr))) return false;
    if (wire::monotonic_ms() - c->confirmed_ms > kConfirmationMs) return false;
    memcpy(out->role, c->role, sizeof out->role);
    out->end = uint64_t(c->end);
    out->has_end = true;
    return true;
}

bool is_breakglass(const Txn& t) {
    return list_contains(t.opts.breakglass_users, t.user);
}

// Emergency access: fall through to the next module, and make sure somebody
// notices. The daemon's audit is best effort (it may be the thing that is down).
Verdict break_glass(const Txn& t) {
    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, t.user);
    put_context(t, w);
    w.put_str(wire::Tag::Reason, kBreakGlassReason);
    Reply reply;
    char why[kWhy];
    Verdict v = exchange(t, wire::Op::BreakGlass, request, &reply, why, sizeof why);
    log(t, LOG_ALERT,
        "emergency access: break-glass user %s bypasses elevate in %s (service %s, from %s, tty %s); %s%s", t.user,
        step_name(t.step), or_dash(t.service), or_dash(t.rhost), or_dash(t.tty),
        v == Verdict::Allow ? "audited by elevated" : "NOT audited by elevated: ", v == Verdict::Allow ? "" : why);
    return Verdict::Ignore;
}

// Prompts for what the daemon asked for and sends activate (just-in-time,
// a role is configured and not yet granted) or verify (a plain second factor,
// or re-authentication under an existing grant).
Verdict prove(const Txn& t, bool already_granted, bool need_reason) {
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

    Answer code;
    ConvResult c = ask(t.pamh, PAM_PROMPT_ECHO_OFF, t.opts.prompt, &code);
    if (!c.ok()) return conversation_failed(t, "the verification code", c);
    if (code.empty()) return deny_locally(t, "No verification code was entered.");
    if (code.size() > kMaxCode) return deny_locally(t, "The verification code is too long.");

    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, t.user);
    if (activate) {
        w.put_str(wire::Tag::Role, role);
        if (!reason.empty()) w.put_str(wire::Tag::Reason, reason.get());
    }
    w.put_str(wire::Tag::Code, code.get());
    code.reset();  // wiped now; the request buffer is wiped when it goes out of scope
    put_context(t, w);

    Reply reply;
    char why[kWhy];
    const wire::Op op = activate ? wire::Op::Activate : wire::Op::Verify;
    Verdict v = exchange(t, op, request, &reply, why, sizeof why);
    if (v != Verdict::Allow) return settle(t, v, why);

    if (!activate) {
        log(t, LOG_INFO, "allowed %s: verification code accepted%s%s", t.user,
            role ? " under the active grant for " : "", role ? role : "");
        return Verdict::Allow;
    }
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
    log(t, LOG_INFO, "allowed %s: %s (activated at the prompt)", t.user, text);
    tell_user(t, PAM_TEXT_INFO, text);
    return Verdict::Allow;
}

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
    const bool need_code = reply.flag(wire::Tag::NeedCode);
    const bool need_reason = reply.flag(wire::Tag::NeedReason);
    debug(t, "authorize %s: granted=%d need_code=%d need_reason=%d", t.user, granted, need_code, need_reason);

    GrantView covering;
    const bool have_grant = granted && first_grant(reply.fields(), &covering);
    if (granted && !need_code) {
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
    } else if (!need_code) {
        snprintf(why, sizeof why, "authorize at %s: the reply neither grants access nor asks for a code",
                 t.opts.socket);
        return settle(t, Verdict::Unavailable, why);
    }
    v = prove(t, granted, need_reason);
    if (v == Verdict::Allow && have_grant) remember_grant(t, covering);  // re-authenticated under it
    return v;
}

Verdict account(const Txn& t) {
    if (t.opts.require_grant == nullptr) return Verdict::Ignore;
    if (is_breakglass(t)) return break_glass(t);

    GrantView confirmed;
    if (confirmed_grant(t, t.opts.require_grant, &confirmed)) {
        char until[40];
        format_utc(int64_t(confirmed.end), until, sizeof until);
        // The auth step already logged this decision at LOG_INFO.
        debug(t, "allowed %s: active grant for %s until %s (confirmed by elevated during authentication)", t.user,
              confirmed.role, until);
        return Verdict::Allow;
    }

    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, t.user);
    w.put_str(wire::Tag::Roles, t.opts.require_grant);
    put_context(t, w);

    Reply reply;
    char why[kWhy];
    Verdict v = exchange(t, wire::Op::Account, request, &reply, why, sizeof why);
    if (v != Verdict::Allow) return settle(t, v, why);

    // Expiry is enforced by every reader from the grant's end time, not from
    // the daemon having cleaned up (DESIGN.md, invariant 3).
    GrantView grant;
    if (first_grant(reply.fields(), &grant) && grant.has_end) {
        char until[40];
        format_utc(int64_t(grant.end), until, sizeof until);
        if (int64_t(grant.end) <= int64_t(time(nullptr))) {
            snprintf(why, sizeof why, "The grant for %s ended at %s. Run: elevatectl activate %s --reason ...",
                     grant.role[0] ? grant.role : "the role", until, grant.role[0] ? grant.role : "ROLE");
            return settle(t, Verdict::Deny, why);
        }
        log(t, LOG_INFO, "allowed %s: active grant for %s until %s", t.user, grant.role[0] ? grant.role : "?", until);
    } else {
        log(t, LOG_INFO, "allowed %s: active grant for one of %s", t.user, t.opts.require_grant);
    }
    return Verdict::Allow;
}

void free_session_id(pam_handle_t*, void* data, int) {
    free(data);
}

Verdict open_session(const Txn& t) {
    const bool breakglass = is_breakglass(t);
    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, t.user);
    w.put_u64(wire::Tag::Pid, uint64_t(getpid()));
    if (t.opts.activate) w.put_str(wire::Tag::Role, t.opts.activate);
    put_context(t, w);

    Reply reply;
    char why[kWhy];
    Verdict v = exchange(t, wire::Op::SessionOpen, request, &reply, why, sizeof why);
    char id[kMaxSessionId] = {0};
    if (v == Verdict::Allow && (!copy_str(reply.fields(), wire::Tag::SessionId, id, sizeof id) || id[0] == '\0')) {
        snprintf(why, sizeof why, "session_open at %s: the reply has no usable session_id", t.opts.socket);
        v = Verdict::Unavailable;
    }
    if (v == Verdict::Allow) {
        char* copy = strdup(id);
        if (copy == nullptr || pam_set_data(t.pamh, kSessionData, copy, free_session_id) != PAM_SUCCESS) {
            free(copy);
            snprintf(why, sizeof why, "could not keep session id %s for close_session", id);
            v = Verdict::DaemonError;
        } else {
            log(t, LOG_INFO, "session %s of %s registered with elevate", id, t.user);
            return Verdict::Allow;
        }
    }
    if (breakglass) {
        log(t, LOG_ALERT, "emergency access: session of break-glass user %s not registered with elevate: %s", t.user,
            why);
        return Verdict::FailOpen;
    }
    if (t.opts.failmode == FailMode::Open) {
        log(t, LOG_ALERT, "failmode=open: opening the session of %s without elevate because %s", t.user, why);
        return Verdict::FailOpen;
    }
    log(t, LOG_ERR, "session of %s refused (failmode=secure): %s", t.user, why);
    if (v == Verdict::Deny) tell_user(t, PAM_ERROR_MSG, why);
    return v == Verdict::Allow ? Verdict::DaemonError : v;
}

Verdict close_session(const Txn& t) {
    const void* data = nullptr;
    if (pam_get_data(t.pamh, kSessionData, &data) != PAM_SUCCESS || data == nullptr) {
        debug(t, "close_session: no elevate session was opened in this handle");
        return Verdict::Allow;
    }
    const char* id = static_cast<const char*>(data);
    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, t.user);
    w.put_str(wire::Tag::SessionId, id);

    Reply reply;
    char why[kWhy];
    Verdict v = exchange(t, wire::Op::SessionClose, request, &reply, why, sizeof why);
    if (v == Verdict::Allow) {
        log(t, LOG_INFO, "session %s of %s closed", id, t.user);
    } else {
        log(t, LOG_WARNING, "could not close session %s of %s with elevate: %s", id, t.user, why);
    }
    // Replacing the data runs free_session_id on the old copy.
    pam_set_data(t.pamh, kSessionData, nullptr, nullptr);
    return v;
}

Verdict load_items(Txn* t) {
    const char* user = nullptr;
    int rc = pam_get_user(t->pamh, &user, nullptr);
    if (rc != PAM_SUCCESS || user == nullptr) {
        pam_syslog(t->pamh, LOG_ERR, "%s: cannot determine the user: %s", step_name(t->step),
                   pam_strerror(t->pamh, rc));
        return rc == PAM_CONV_ERR || rc == PAM_CONV_AGAIN ? Verdict::ConvError : Verdict::UserUnknown;
    }
    if (!valid_account_name(user, strlen(user))) {
        pam_syslog(t->pamh, LOG_ERR, "%s: refusing an invalid user name", step_name(t->step));
        return Verdict::UserUnknown;
    }
    t->user = user;
    t->service = string_item(t->pamh, PAM_SERVICE);
    t->rhost = string_item(t->pamh, PAM_RHOST);
    t->tty = string_item(t->pamh, PAM_TTY);
    return Verdict::Allow;
}

}  // namespace

int run_step(pam_handle_t* pamh, Step step, int flags, int argc, const char** argv) {
    Txn t;
    t.pamh = pamh;
    t.step = step;
    char error[256];
    if (!parse_options(argc, argv, &t.opts, error, sizeof error)) {
        pam_syslog(pamh, LOG_ERR, "invalid configuration, failing closed: %s", error);
        if (step == Step::CloseSession) return PAM_SUCCESS;
        return pam_code(step, Verdict::BadConfig);
    }
    t.quiet = t.opts.quiet;
    t.silent = (flags & PAM_SILENT) != 0;
    if (step == Step::Setcred) return pam_code(step, Verdict::Allow);     // no credentials to set
    if (step == Step::Chauthtok) return pam_code(step, Verdict::Ignore);  // no tokens to change

    Verdict v = load_items(&t);
    if (v != Verdict::Allow) return pam_code(step, v);
    debug(t, "%s for %s (service %s, from %s, tty %s) via %s, timeout %us, failmode=%s", step_name(step), t.user,
          or_dash(t.service), or_dash(t.rhost), or_dash(t.tty), t.opts.socket, t.opts.timeout_seconds,
          t.opts.failmode == FailMode::Open ? "open" : "secure");

    switch (step) {
        case Step::Authenticate:
            v = authenticate(t);
            break;
        case Step::Account:
            v = account(t);
            break;
        case Step::OpenSession:
            v = open_session(t);
            break;
        case Step::CloseSession:
            v = close_session(t);
            break;
        case Step::Setcred:
        case Step::Chauthtok:
            break;
    }
    int rc = pam_code(step, v);
    debug(t, "%s for %s: %s", step_name(step), t.user, pam_strerror(pamh, rc));
    return rc;
}

}  // namespace elevate::pam
