// Request handlers, one per protocol operation (docs/PROTOCOL.md). They run
// after dispatch has checked who may call them and resolved call.user.
#pragma once

#include "common/base/text.h"
#include "common/config/config.h"
#include "daemon/policy/engine.h"
#include "daemon/risk/risk_service.h"
#include "daemon/server/dispatch.h"
#include "daemon/store/store.h"

#include <string>
#include <string_view>

namespace elevate::handlers {

using server::Answer;
using server::Call;
using server::parked;

Answer ping(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer status(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer list(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer enroll(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer unenroll(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer verify(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer activate(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer revoke(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer drop(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer authorize(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer account(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer session_open(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer session_close(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer break_glass(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer push_start(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer request_list(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer request_decide(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer request_cancel(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer request_wait(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer unlock(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer explain(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
// Risk (risk.cpp; docs/RISK.md).
Answer risk_list(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer risk_show(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer risk_dismiss(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);
Answer risk_confirm(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);

// Which factors a request may use, and for whom (factor.cpp).
struct FactorCheck {
    std::string user;                   // whose factor: the requester, or an approver
    std::string role;                   // a push challenge must have been started for it
    std::string what = "this request";  // for messages: "role db-admin"
    bool code_allowed = true;
    bool push_allowed = true;
};
// Checks the request's `code` or `challenge` (exactly one) for check.user:
// ok (and *factor = "totp" / "push"), a denial, or parked() while a push is
// unanswered. Refuses a locked user first.
Answer check_factor(daemon::Daemon& d, const Call& call, const FactorCheck& check, wire::FieldWriter& reply,
                    std::string* factor);
// check_factor for a decided request (about `role`, or a plain factor): the
// factors the decision accepts. A request parked while its push is on the
// way keeps `decision` (moved into the daemon) for when it resumes.
Answer check_decided_factor(daemon::Daemon& d, const Call& call, const config::Role* role, policy::Decision& decision,
                            wire::FieldWriter& reply, std::string* factor);
// The user's fraud lock or failure lockout, as the store has it now.
base::Result<policy::LockState> read_lock(daemon::Daemon& d, const std::string& user);
// Locked (fraud lock or failure lockout) -> Locked answer; else ok.
Answer check_unlocked(daemon::Daemon& d, const std::string& user, wire::FieldWriter& reply);
void put_request(wire::FieldWriter& w, const store::Request& r, const policy::Peer& viewer);

// Shared by the handlers.
void put_grant(wire::FieldWriter& w, const store::Grant& g);
// The Conflict answer to activating `role` while grant `g` of it is active.
Answer already_active(const config::Role& role, const store::Grant& g);
// Reads an optional text field no longer than `max`; false (and *error set)
// if it is too long. Absent fields leave *out empty.
bool get_text(const wire::FieldList& f, wire::Tag tag, size_t max, std::string* out, Answer* error);
Answer bad_request(std::string message);
// Not-found answers that repeat a name from the request, escaped
// (base::escaped): the name may be anything a client sent.
Answer no_such_user(std::string_view user);
Answer no_such_role(std::string_view role);
// A failure inside the daemon: logged with its detail; a failure of the
// state's storage (disk full, read-only, locked, damaged) is told to the
// client as such (Answer::storage).
Answer internal_error(const std::string& what, const base::Error& e);
// The decision seam (decide.cpp, policy/engine.h). The context of a request
// for `op` (about `role`, if any): who, for whom, from where, when.
policy::RequestContext request_context(daemon::Daemon& d, const Call& call, policy::Operation op,
                                       const std::string& role = {});
// Only who, for whom, about what and when: for explain, which describes the
// rest itself.
policy::RequestContext subject_context(daemon::Daemon& d, const Call& call, policy::Operation op,
                                       const std::string& role);
// Decides and reports what the decision shows (an ineligible activation
// is a risk event); explain_decision only decides.
policy::Decision decide(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx);
policy::Decision explain_decision(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx);
// A later step of a PAM transaction (push_start, activate, verify): decides
// `ctx` continuing from what the caller's previous step about the same
// request carried (carry_to_next_step), or from the start.
policy::Decision continue_or_decide(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx);
void carry_to_next_step(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx,
                        const policy::Decision& decision);
// The decision a parked request was parked with, or continue_or_decide.
policy::Decision resume_or_decide(daemon::Daemon& d, const Call& call, const policy::RequestContext& ctx);
// The answer to a denying decision (with its locked_until, grant or request).
Answer denial_of(const policy::Decision& decision, const Call& call, wire::FieldWriter& reply);
// audit_answer plus the decision's rule and report-only results.
void audit_decision(daemon::Daemon& d, const Call& call, const char* event, const std::string& role,
                    const std::string& grant_id, const Answer& a, const policy::Decision& decision,
                    const std::string& detail = {});
// Audits the outcome of a request: result "ok" with `detail`, or "denied"
// with the answer's message.
void audit_answer(daemon::Daemon& d, const Call& call, const char* event, const std::string& role,
                  const std::string& grant_id, const Answer& a, const std::string& detail = {});
// Where the request comes from (policy/source.h), resolved once per request.
const policy::Source& request_source(daemon::Daemon& d, const Call& call);
// The address part of a request's source, for the risk service.
risk::Origin origin_of(const policy::Source& s);
// Ends active grant `g` (revoke, drop: its sessions end per role), audits it
// as `event` and puts the ended grant in the reply.
Answer end_grant(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply, const store::Grant& g,
                 store::GrantState state, const char* event, const std::string& reason);
// "sudo from 10.1.2.3 (ssh session 1a2b3c4d) on pts/1", "elevatectl from
// unknown": the service, the resolved source (request_source), the login
// session it was found through and the terminal; for grant sources and audit.
std::string source_of(daemon::Daemon& d, const Call& call);

}  // namespace elevate::handlers
