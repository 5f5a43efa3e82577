// One PAM step in progress and what every step uses to do its work: the
// verdicts a step can reach, messages for the user and the log, one
// exchange with the daemon, and the grant an auth step confirmed for the
// account step of the same handle. Internal to the module (hidden
// visibility); the steps themselves are in auth.cpp and flow.cpp.
#pragma once

#include "common/base/names.h"
#include "pam_module/conversation.h"
#include "pam_module/daemon_client.h"
#include "pam_module/flow.h"
#include "pam_module/options.h"

#include <security/pam_modules.h>
#include <stddef.h>
#include <stdint.h>

namespace elevate::pam {

// Room for a reason a step did not succeed, for the log and the user.
constexpr size_t kWhy = 640;
// Room for a user name that passes elevate_account_name_ok (at most 255 bytes).
constexpr size_t kUserRoom = ELEVATE_MAX_ACCOUNT_NAME + 1;

// Every outcome of a step, before it becomes a PAM code in pam_code().
enum class Verdict {
    Allow,        // the daemon said ok
    FailOpen,     // the daemon could not decide and failmode=open allows it (logged at LOG_ALERT)
    Ignore,       // not this module's business (no require_grant, break-glass user)
    Deny,         // the daemon, the second factor or a local check said no
    Unavailable,  // unreachable, timeout, malformed reply, daemon or push provider unavailable
    Untrusted,    // the socket is not served by root: never trusted, never fails open
    DaemonError,  // the daemon answered "internal"
    Rejected,     // the daemon refused the request as malformed or from another version
    ConvError,    // no conversation, conversation error or no answer
    UserUnknown,  // no usable PAM_USER
    BadConfig,    // invalid module options
};

// One PAM step in progress. Lives on the stack of the entry point: the
// module keeps no state between calls except what it keeps with pam_set_data.
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

const char* step_name(Step step);
const char* or_dash(const char* s);

__attribute__((format(printf, 3, 4))) void log(const Txn& t, int priority, const char* fmt, ...);
// Detail for the debug option: never a code, a challenge or a reason text.
__attribute__((format(printf, 2, 3))) void debug(const Txn& t, const char* fmt, ...);

// A message for the user (PAM_TEXT_INFO or PAM_ERROR_MSG). PAM_SILENT drops
// informational text but not errors; the quiet option drops everything.
void tell_user(const Txn& t, int style, const char* text);
// Informational text the user must see to get in at all ("look at your
// phone", "waiting for approval"): shown even under PAM_SILENT, which sudo
// passes to every authentication; only the quiet option drops it.
void announce(const Txn& t, const char* text);

// PAM_SERVICE, PAM_RHOST and PAM_TTY, for any request that makes a decision.
void put_context(const Txn& t, wire::FieldWriter& w);

// Sends `request` and classifies the answer; on anything but Allow, `why`
// says what happened. The call's deadline is the timeout option plus
// `wait_seconds` (the time the daemon may legitimately take to answer: a
// push or an approval). `unavailable` describes an "unavailable" reply for
// the log. No logging here: callers decide what a failure means.
Verdict exchange(const Txn& t, wire::Op op, const Request& request, Reply* reply, char* why, size_t why_size,
                 unsigned wait_seconds = 0, const char* unavailable = "the daemon is shutting down or overloaded");

// Logs and tells the user why a step did not succeed; applies failmode=open
// to an unreachable daemon (or push provider).
Verdict settle(const Txn& t, Verdict v, const char* why);
Verdict conversation_failed(const Txn& t, const char* what, const ConvResult& c);
// Local refusals (empty code, missing reason) that never reach the daemon.
Verdict deny_locally(const Txn& t, const char* why);

// "14:05 UTC" within the next 20 hours, "2026-11-03 14:05 UTC" otherwise.
void format_utc(int64_t when, char* out, size_t size);

struct GrantView {
    char id[64] = {0};
    char role[64] = {0};
    uint64_t end = 0;
    bool has_end = false;
};

// The fields of the first record tagged `tag` (grant, request) of a reply;
// false when there is none or it is not a valid field list.
bool first_record(const wire::FieldList& fields, wire::Tag tag, wire::FieldList* record);

// The first grant record of a reply, if any.
bool first_grant(const wire::FieldList& fields, GrantView* out);

// A grant the daemon confirmed for t.user in this PAM handle's auth or
// account step: for the account step of the same handle (see flow.cpp,
// account), and for its session.
void remember_grant(const Txn& t, const GrantView& g);
bool confirmed_grant(const Txn& t, const char* roles, GrantView* out);
// The user whose grant this handle confirmed, and the grant's id (pointers
// into the handle's data), however long ago: sudo changes PAM_USER to the
// run-as user before it opens the session. The daemon checks that the
// grant is still active.
bool admitted_by(const Txn& t, const char** user, const char** grant_id);

bool is_breakglass(const Txn& t);
// Emergency access: falls through to the next module, loudly (LOG_ALERT).
Verdict break_glass(const Txn& t);

// The auth step (auth.cpp).
Verdict authenticate(const Txn& t);

}  // namespace elevate::pam
