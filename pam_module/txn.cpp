#include "pam_module/txn.h"

#include "common/wire/transport.h"

#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

namespace elevate::pam {

namespace {

constexpr const char* kBreakGlassReason = "break-glass user";
constexpr const char* kUnavailableText =
    "The elevate access service is unavailable, so access is denied. Contact an administrator.";

// A grant the daemon confirmed in this PAM handle's auth (or account)
// step. sudo runs auth and account in one process a moment apart, so
// account need not ask again; sshd runs auth in a forked child, where this
// is never set, and its account step asks the daemon (pam_set_data does not
// cross the fork). The session step files the session under it.
constexpr const char kConfirmedGrant[] = "elevate:confirmed-grant";
constexpr int64_t kConfirmationMs = 10000;

struct ConfirmedGrant {
    char user[kUserRoom];
    char id[64];
    char role[64];
    int64_t end;
    int64_t confirmed_ms;  // monotonic
};

void free_confirmed(pam_handle_t*, void* data, int) {
    free(data);
}

void show(const Txn& t, int style, const char* text) {
    ConvResult r = tell(t.pamh, style, text);
    if (!r.ok()) debug(t, "could not show a message: %s", conv_status_text(r.status));
}

}  // namespace

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

const char* or_dash(const char* s) {
    return s && *s ? s : "-";
}

void log(const Txn& t, int priority, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    pam_vsyslog(t.pamh, priority, fmt, args);
    va_end(args);
}

void debug(const Txn& t, const char* fmt, ...) {
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
    show(t, style, text);
}

void announce(const Txn& t, const char* text) {
    if (t.quiet || text == nullptr || text[0] == '\0') return;
    show(t, PAM_TEXT_INFO, text);
}

void put_context(const Txn& t, wire::FieldWriter& w) {
    if (t.service) w.put_str(wire::Tag::Service, t.service);
    if (t.rhost) w.put_str(wire::Tag::RemoteHost, t.rhost);
    if (t.tty) w.put_str(wire::Tag::Tty, t.tty);
}

Verdict exchange(const Txn& t, wire::Op op, const Request& request, Reply* reply, char* why, size_t why_size,
                 unsigned wait_seconds, const char* unavailable) {
    const int64_t deadline = wire::monotonic_ms() + (int64_t(t.opts.timeout_seconds) + int64_t(wait_seconds)) * 1000;
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
            snprintf(why, why_size, "%s at %s: %s (%s)", name, t.opts.socket, unavailable, message);
            return Verdict::Unavailable;
        case wire::Status::Internal:
            // The daemon's line is what the user and the admin can act on
            // ("elevate cannot record this activation: the state disk is
            // full"); settle() shows it and logs it with the operation.
            snprintf(why, why_size, "%s", reply->message()[0] ? reply->message() : "the elevate daemon failed");
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
            log(t, LOG_ERR, "denied %s: the daemon failed (%s); see its log", t.user, why);
            tell_user(t, PAM_ERROR_MSG, why);
            return v;
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

bool first_record(const wire::FieldList& fields, wire::Tag tag, wire::FieldList* record) {
    wire::Field f;
    return fields.find(tag, &f) && record->parse(f.data, f.length) == wire::CodecError::Ok;
}

bool first_grant(const wire::FieldList& fields, GrantView* out) {
    wire::FieldList record;
    if (!first_record(fields, wire::Tag::Grant, &record)) return false;
    copy_str(record, wire::Tag::GrantId, out->id, sizeof out->id);
    copy_str(record, wire::Tag::Role, out->role, sizeof out->role);
    out->has_end = record.get_u64(wire::Tag::End, &out->end);
    return true;
}

void remember_grant(const Txn& t, const GrantView& g) {
    if (!g.has_end || g.role[0] == '\0') return;
    auto* c = static_cast<ConfirmedGrant*>(calloc(1, sizeof(ConfirmedGrant)));
    if (c == nullptr) return;  // account simply asks the daemon
    snprintf(c->user, sizeof c->user, "%s", t.user);
    memcpy(c->id, g.id, sizeof c->id);
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

bool admitted_by(const Txn& t, const char** user, const char** grant_id) {
    const void* data = nullptr;
    if (pam_get_data(t.pamh, kConfirmedGrant, &data) != PAM_SUCCESS || data == nullptr) return false;
    const auto* c = static_cast<const ConfirmedGrant*>(data);
    if (c->user[0] == '\0') return false;
    *user = c->user;
    *grant_id = c->id[0] ? c->id : nullptr;
    return true;
}

bool is_breakglass(const Txn& t) {
    return list_contains(t.opts.breakglass_users, t.user);
}

// The daemon's audit is best effort (it may be the thing that is down).
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

}  // namespace elevate::pam
