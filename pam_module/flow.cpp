#include "pam_module/flow.h"

#include "common/base/names.h"
#include "common/wire/transport.h"
#include "pam_module/txn.h"

#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

namespace elevate::pam {

namespace {

// pam_set_data key for the daemon's session id and the user it is filed
// under (open -> close).
constexpr const char* kSessionData = "elevate_session_id";
constexpr size_t kMaxSessionId = 128;

struct OpenSession {
    char id[kMaxSessionId];
    char user[kUserRoom];
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

const char* string_item(pam_handle_t* pamh, int type) {
    const void* item = nullptr;
    if (pam_get_item(pamh, type, &item) != PAM_SUCCESS || item == nullptr) return nullptr;
    const char* s = static_cast<const char*>(item);
    return s[0] ? s : nullptr;
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
        remember_grant(t, grant);  // the session of this handle runs under it
    } else {
        log(t, LOG_INFO, "allowed %s: active grant for one of %s", t.user, t.opts.require_grant);
    }
    return Verdict::Allow;
}

void free_session_id(pam_handle_t*, void* data, int) {
    free(data);
}

// Whom the session belongs to: the user who was admitted, not the one it
// runs as (sudo and su set PAM_USER to the run-as user, root, before
// pam_open_session). That is the user whose grant this handle's auth or
// account step confirmed, with that grant; else PAM_RUSER, the invoking
// user sudo and su set. PAM_RUSER is the application's word: only a root
// application may speak for another user (the daemon refuses the rest by
// SO_PEERCRED), so a non-root one files its sessions as before.
const char* session_owner(const Txn& t, const char** grant_id) {
    *grant_id = nullptr;
    const char* user = nullptr;
    if (admitted_by(t, &user, grant_id)) return user;
    const char* ruser = string_item(t.pamh, PAM_RUSER);
    if (ruser && geteuid() == 0 && strcmp(ruser, t.user) != 0 && elevate_account_name_ok(ruser, strlen(ruser)))
        return ruser;
    return t.user;
}

Verdict open_session(const Txn& t) {
    const bool breakglass = is_breakglass(t);
    const char* grant_id = nullptr;
    const char* owner = session_owner(t, &grant_id);
    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, owner);
    w.put_u64(wire::Tag::Pid, uint64_t(getpid()));
    if (grant_id) w.put_str(wire::Tag::GrantId, grant_id);
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
        auto* kept = static_cast<OpenSession*>(calloc(1, sizeof(OpenSession)));
        if (kept) {
            memcpy(kept->id, id, sizeof kept->id);
            snprintf(kept->user, sizeof kept->user, "%s", owner);
        }
        if (kept == nullptr || pam_set_data(t.pamh, kSessionData, kept, free_session_id) != PAM_SUCCESS) {
            free(kept);
            snprintf(why, sizeof why, "could not keep session id %s for close_session", id);
            v = Verdict::DaemonError;
        } else {
            if (owner == t.user)
                log(t, LOG_INFO, "session %s of %s registered with elevate", id, owner);
            else
                log(t, LOG_INFO, "session %s of %s (running as %s) registered with elevate", id, owner, t.user);
            return Verdict::Allow;
        }
    }
    if (breakglass) {
        log(t, LOG_ALERT, "emergency access: session of break-glass user %s not registered with elevate: %s", t.user,
            why);
        return Verdict::FailOpen;
    }
    if (t.opts.failmode == FailMode::Open) {
        log(t, LOG_ALERT, "failmode=open: opening the session of %s without elevate because %s", owner, why);
        return Verdict::FailOpen;
    }
    log(t, LOG_ERR, "session of %s refused (failmode=secure): %s", owner, why);
    if (v == Verdict::Deny) tell_user(t, PAM_ERROR_MSG, why);
    return v == Verdict::Allow ? Verdict::DaemonError : v;
}

Verdict close_session(const Txn& t) {
    const void* data = nullptr;
    if (pam_get_data(t.pamh, kSessionData, &data) != PAM_SUCCESS || data == nullptr) {
        debug(t, "close_session: no elevate session was opened in this handle");
        return Verdict::Allow;
    }
    const auto* open = static_cast<const OpenSession*>(data);
    const char* id = open->id;
    Request request;
    wire::FieldWriter& w = request.fields();
    w.put_str(wire::Tag::User, open->user);  // whom open_session filed it under
    w.put_str(wire::Tag::SessionId, id);

    Reply reply;
    char why[kWhy];
    Verdict v = exchange(t, wire::Op::SessionClose, request, &reply, why, sizeof why);
    if (v == Verdict::Allow) {
        log(t, LOG_INFO, "session %s of %s closed", id, open->user);
    } else {
        log(t, LOG_WARNING, "could not close session %s of %s with elevate: %s", id, open->user, why);
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
    if (!elevate_account_name_ok(user, strlen(user))) {
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