// The one decision seam (DESIGN.md, "One decision seam"; docs/POLICY.md).
// Every request that can grant, deny or ask for more is decided here:
// handlers gather the request's context, call decide(), act on the
// decision and reply; `explain` calls decide() and acts on nothing, so a
// dry run cannot disagree with the real answer.
//
// What the engine needs to know beyond the request itself it asks through
// Facts, and asks only when the answer matters: an active grant at sudo is
// decided without reading the group database, the factors or the locks.
#pragma once

#include "common/base/cidr.h"
#include "common/base/result.h"
#include "common/config/config.h"
#include "common/wire/protocol.h"
#include "daemon/policy/schedule.h"
#include "daemon/policy/source.h"
#include "daemon/store/store.h"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace elevate::policy {

enum class Operation {
    Authorize,  // PAM auth: what does this user need here (a role, or a plain factor)?
    Account,    // PAM account: does the user hold a grant for one of these roles?
    Activate,   // start a grant (or an approval request) with a factor
    PushStart,  // ring the user's phone for a role or a plain factor
    Verify,     // a plain second factor
};
const char* operation_name(Operation op);

// A user's lock: the fraud lock, or a failure lockout.
struct LockState {
    bool fraud = false;
    int64_t since = 0;
    std::string reason;
    int64_t locked_until = 0;  // failure lockout, 0 when none
};

// What the engine may ask about the request's subject, only when a step or a
// condition needs it. Implementations read state but never change it, and
// answer user_groups() from one read of the group database per decision.
class Facts {
public:
    virtual ~Facts() = default;
    // The user's gids (primary + supplementary); nullopt: no such user.
    virtual const std::optional<std::vector<gid_t>>& user_groups() = 0;
    virtual std::optional<gid_t> group_gid(const std::string& name) = 0;
    virtual base::Result<std::optional<store::Grant>> active_grant(const std::string& role) = 0;
    virtual base::Result<std::vector<store::Grant>> active_grants() = 0;
    virtual base::Result<std::optional<store::Request>> pending_request(const std::string& role) = 0;
    virtual base::Result<LockState> lock() = 0;
    virtual base::Result<bool> has_code_factor() = 0;
    virtual bool push_enabled() = 0;
    virtual config::RiskLevel user_risk() = 0;
    virtual config::RiskLevel source_risk() = 0;
};

struct RequestContext {
    Operation op = Operation::Authorize;
    std::string actor;  // who asked (SO_PEERCRED)
    bool actor_is_admin = false;
    std::string user;                // whom the request is about
    std::string role;                // empty: a plain factor (authorize, verify, push)
    std::vector<std::string> roles;  // account: any of these
    std::string service;             // PAM service, or "elevatectl"
    std::string tty;
    Source source;
    int64_t time = 0;  // epoch seconds
    // The request itself.
    bool reauth = false;             // authorize: prompt even inside a grant
    std::string reason;              // activate / push: the justification given
    int64_t requested_duration = 0;  // activate: 0 = the role's default
    // explain: record every rule considered, and why it matched or not, in
    // Decision::trace. Real requests leave it off: the decision is the same,
    // without putting 200 rules' reasons into words.
    bool trace = false;
};

enum class Outcome {
    Allow,       // go on: an active grant covers it (authorize, account), or the act may proceed
    NeedFactor,  // authorize: prompt (code_ok / push_ok)
    Pending,     // authorize: a request already waits for approval
    Deny,
};
const char* outcome_name(Outcome o);  // "allow", "factor", "pending", "deny"

// One rule as explain shows it.
struct RuleTrace {
    std::string rule;
    bool report_only = false;
    bool matched = false;
    std::string why;     // the condition that failed, or "all conditions hold"
    std::string effect;  // what it does when it decides ("deny: ...")
};

struct Decision {
    Outcome outcome = Outcome::Deny;
    wire::Status status = wire::Status::Denied;  // for Deny
    std::string message;                         // for Deny: what the user sees
    bool internal = false;                       // Deny because state could not be read (base::Error in error)
    base::Error error;
    int64_t locked_until = 0;  // Deny with Locked: the failure lockout's end

    // What proceeding needs.
    bool code_ok = false;  // a verification code is acceptable
    bool push_ok = false;  // a push is acceptable
    bool every_time = false;
    bool need_reason = false;
    std::optional<config::Approval> approval;  // an activation becomes a request
    std::string approval_by;                   // "role db-admin" or "rule off-hours-approval"
    int64_t duration = 0;                      // an activation's length, clamped
    std::optional<store::Grant> grant;         // the active grant that covers the request
    std::optional<store::Request> pending;     // Pending: the waiting request
    bool ineligible = false;                   // Deny: the user is not eligible (a risk event)

    // What one PAM transaction carries from authorize to push_start and
    // activate (carried_part(), decide()'s `carried`): the rules' verdict
    // and the user's eligibility, established once.
    config::Factor factor = config::Factor::Any;  // what proves the request (role, or the rule's)
    int64_t rule_cap = 0;                         // the deciding rule's max_duration, 0: none
    size_t rule_reasons = 0;                      // reasons[0 .. rule_reasons) are the rules'
    bool user_known = false;                      // the group database has the user
    std::optional<std::string> eligible_because;  // for the role: why the user is eligible
    bool live_rule = false;                       // a condition read a grant (has_grant): never carried

    std::string rule;                  // the rule that decided: a name, "builtin:...", "default"
    std::vector<std::string> reasons;  // in order
    std::vector<RuleTrace> trace;      // every rule considered (RequestContext::trace)
    // What report-only rules would have done differently ("would have
    // denied: rule off-hours").
    std::vector<std::string> report_only;

    // What the audit trail adds to a request's record: the deciding rule
    // (unless it is the default) and report-only results ("; rule off-hours;
    // report-only: rule trial would have denied").
    std::string audit_suffix() const;
};

// The configuration compiled for deciding: network lists parsed, schedules
// bound to their zones, built-in risk rules in front.
class CompiledPolicy {
public:
    static base::Result<CompiledPolicy> compile(const config::Config& config);
    CompiledPolicy(CompiledPolicy&&) noexcept;
    CompiledPolicy& operator=(CompiledPolicy&&) noexcept;
    ~CompiledPolicy();

    struct Impl;
    const Impl& impl() const { return *impl_; }

private:
    explicit CompiledPolicy(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// What a locked user is told: the fraud lock, else the failure lockout;
// empty when `s` locks nothing.
std::string lock_message(const std::string& user, const LockState& s);

// "db-admin is already active until ... (grant 1a2b3c4d); drop it first to change it"
std::string already_active_text(const std::string& role, const store::Grant& g);

// Decides `ctx`. With `carried` (an earlier step's carried_part(), for the
// same caller, user, role, service, terminal and source), the rules and the
// user's eligibility are taken from it instead of being tested again; the
// operation's own step (grant, pending request, lock, reason, duration,
// factors) is always decided from the state of now.
Decision decide(const config::Config& config, const CompiledPolicy& policy, const RequestContext& ctx, Facts& facts,
                const Decision* carried = nullptr);

// What a later step of the same transaction may continue from: the
// assessment of `d` without the operation's outcome; nullopt when `d`
// cannot be carried (a denial, or a rule that read a grant, which can end
// between the steps).
std::optional<Decision> carried_part(const Decision& d);

}  // namespace elevate::policy
