// Durable state of elevated: one SQLite file in the state directory.
// The rest of the daemon sees only this narrow interface (a later issue may
// put grants in PostgreSQL or make them signed statements).
// Schema and migrations: docs/STATE.md.
#pragma once

#include "common/base/result.h"
#include "common/base/secure_buffer.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elevate::store {

// Why a store call failed when the cause is the state's storage, in one line
// for users and admins ("the state disk is full"), or nullptr when it is not.
// Store errors carry the class as an errno value in base::Error::code:
// ENOSPC (disk full), EROFS (read-only), EBUSY (locked by another process),
// EUCLEAN (damaged: corrupt or not a database), EIO (I/O error).
const char* failure_reason(const base::Error& e);

enum class GrantState { Active, Expired, Revoked, Dropped };
const char* grant_state_name(GrantState s);
std::optional<GrantState> parse_grant_state(std::string_view s);

struct Grant {
    std::string id;  // globally unique (UUIDv4 text), never a row number
    std::string user;
    std::string role;
    int64_t start = 0;  // epoch seconds
    int64_t end = 0;    // epoch seconds; the grant is active while now < end
    std::string reason;
    std::string factor;  // "totp", "push", "admin", ...
    std::string source;  // "elevatectl", "pam:sudo", ... plus rhost/tty where known
    GrantState state = GrantState::Active;
    int64_t ended_at = 0;  // when it left Active (0 while active)
    std::string ended_by;  // who revoked/dropped it, or "expiry"
};

// One enrolled factor of a user. A user has a list of factors, each with a
// kind; today only "totp".
struct Factor {
    int64_t id = 0;
    std::string user;
    std::string kind;  // "totp"
    std::string label;
    base::SecureBuffer secret;  // raw seed bytes
    std::string algorithm;      // "sha1" | "sha256" | "sha512"
    int digits = 6;
    int64_t period = 30;
    int64_t created = 0;
};

// What claim_totp_step found.
enum class StepClaim {
    Claimed,   // later than any step accepted before: the code may pass
    Replayed,  // the very step accepted last
    Older,     // before the step accepted last
};

struct FailureState {
    int failures = 0;  // consecutive failures inside the window
    int64_t first_failure = 0;
    int64_t locked_until = 0;  // 0 when not locked
};

// A PAM session registered by pam_elevate's open_session.
struct Session {
    std::string id;
    std::string user;
    std::string grant_id;   // the grant that admitted it, or empty
    int64_t pid = 0;        // the process that opened it (from SO_PEERCRED)
    int64_t pid_start = 0;  // its start time (/proc/PID/stat field 22)
    std::string service;
    std::string rhost;
    std::string tty;
    int64_t opened = 0;
    int64_t closed = 0;  // 0 while open
    std::string closed_by;
};

enum class RequestState { Pending, Approved, Denied, Cancelled, Expired };
const char* request_state_name(RequestState s);
std::optional<RequestState> parse_request_state(std::string_view s);

// An approval request: a grant that starts only when `needed` distinct
// approvers have approved it.
struct Request {
    int64_t id = 0;  // "request N": numbered per host, shown to people
    std::string user;
    std::string role;
    std::string reason;
    int64_t duration = 0;  // of the grant, once approved (already clamped)
    int64_t created = 0;
    int64_t expires = 0;  // pending past this: expired
    int needed = 1;
    std::string approvers;  // as configured, comma-separated ("group:sec-leads,user:carol")
    std::string factor;     // the requester's factor
    std::string source;
    RequestState state = RequestState::Pending;
    int64_t decided_at = 0;
    std::string decided_by;  // who denied or cancelled; "expiry"; the last approver
    std::string decision_reason;
    std::string grant_id;                  // when approved
    std::vector<std::string> approved_by;  // in order of approval
};

struct ApprovalRecord {
    int64_t request_id = 0;
    std::string approver;
    int64_t at = 0;
    std::string factor;  // the approver's factor ("totp", "push")
};

// A user barred from elevating until an administrator clears it (a push
// answered "this wasn't me").
struct UserLock {
    std::string user;
    int64_t since = 0;
    std::string reason;
};

// Risk (schema version 5, risk.cpp; docs/RISK.md). Scores are as of
// `updated` and decay from there (the risk service computes the decay).
struct RiskEventRow {
    int64_t time = 0;
    std::string type;  // "wrong-code", "spray", ...
    std::string user;  // empty for a source-only event
    std::string network;
    std::string evidence;
    int weight = 0;
};
struct RiskUserRow {
    std::string user;
    double score = 0;
    int64_t updated = 0;
    bool confirmed = false;
};
struct RiskSourceRow {
    std::string network;
    double score = 0;
    int64_t updated = 0;
};
// What one detection changes, written in one FULL-sync transaction.
struct RiskChange {
    std::vector<RiskEventRow> events;
    std::optional<RiskUserRow> user;
    std::optional<RiskSourceRow> source;
    std::vector<std::string> forget_sources;  // evicted from the bounded table
    // A successful sign-in, learnt for "new network" / "unusual hour".
    std::string signed_in_user;
    std::string signed_in_network;  // empty: local or unknown
    int signed_in_hour = -1;        // 0..23 (UTC), -1: none
    int64_t signed_in_at = 0;
    int max_events_per_user = 1000;  // older events of each user named are dropped
};

struct AuditRecord {
    int64_t time = 0;
    std::string event;  // "activate", "verify", "revoke", "expire", ...
    std::string actor;  // who asked (from SO_PEERCRED)
    std::string user;   // for whom
    std::string role;
    std::string grant_id;
    std::string source;
    std::string result;  // "ok" | "denied" | "error"
    std::string reason;  // why (human text, never a secret or code)
};

class Store {
public:
    // Opens (creating if needed) <state_dir>/elevate.db. Refuses a state dir
    // or db file that is not root-owned (when running as root) or is
    // group/world accessible, with a message that says how to fix it.
    // WAL mode, synchronous=FULL: a commit that returned is durable.
    static base::Result<std::unique_ptr<Store>> open(const std::string& state_dir);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    int schema_version() const;

    // Grants.
    base::Result<void> insert_grant(const Grant& g);
    base::Result<std::optional<Grant>> get_grant(const std::string& id);
    // State Active grants (whatever their end time); the daemon expires them.
    base::Result<std::vector<Grant>> active_grants();
    // State Active grants of one user (whatever their end time).
    base::Result<std::vector<Grant>> active_grants_for_user(const std::string& user);
    // (end, id) of every Active grant: what the expiry timer needs, without
    // holding whole grants in memory.
    base::Result<std::vector<std::pair<int64_t, std::string>>> active_expiries();
    // Calls fn(user, role, end) for every Active grant: what the group
    // snapshot needs, streamed so 100k grants are never held twice.
    base::Result<void> for_each_active_membership(
        const std::function<void(std::string_view user, std::string_view role, int64_t end)>& fn);
    // Active grants whose end is after `now`, optionally of one user and/or
    // role, soonest to end first, at most `limit`; and how many match.
    base::Result<std::vector<Grant>> active_grants_matching(const std::string& user, const std::string& role,
                                                            int64_t now, int limit);
    base::Result<uint64_t> count_active_matching(const std::string& user, const std::string& role, int64_t now);
    // All grants for a user, newest first, limited.
    base::Result<std::vector<Grant>> grants_for_user(const std::string& user, int limit);
    // Moves an Active grant to `state`; returns false if it was not Active.
    base::Result<bool> end_grant(const std::string& id, GrantState state, int64_t at, const std::string& by);

    // Factors.
    base::Result<std::vector<Factor>> factors_for_user(const std::string& user);
    // Replaces every factor of `kind` for `user` with `f` in one transaction.
    base::Result<void> replace_factor(const Factor& f);
    base::Result<bool> delete_factors(const std::string& user, const std::string& kind);

    // TOTP replay protection: time only moves forward per factor. Claims
    // time-step `step` of factor `factor_id` if it is later than every step
    // accepted for that factor before; the claim is committed with
    // synchronous=FULL (on disk when this returns). Refusals say whether the
    // step is the last accepted one or older. An unknown factor is an error.
    base::Result<StepClaim> claim_totp_step(int64_t factor_id, int64_t step);

    // Failure counters and lockouts.
    base::Result<FailureState> failure_state(const std::string& user);
    base::Result<void> set_failure_state(const std::string& user, const FailureState& s);
    base::Result<void> clear_failures(const std::string& user);

    // Sessions.
    base::Result<void> insert_session(const Session& s);
    // Marks an open session closed; false if it was not open.
    base::Result<bool> close_session(const std::string& id, int64_t at, const std::string& by);
    base::Result<std::optional<Session>> get_session(const std::string& id);
    base::Result<std::vector<Session>> open_sessions_for_grant(const std::string& grant_id);
    // Every open session (the session service indexes them at start).
    base::Result<std::vector<Session>> open_sessions();

    // Approval requests (requests.cpp). Every change commits with FULL sync.
    // Inserts a pending request and returns it with its new id.
    base::Result<Request> insert_request(Request r);
    base::Result<std::optional<Request>> get_request(int64_t id);
    base::Result<std::vector<Request>> pending_requests();
    // The user's requests created at or after `since`, newest first.
    base::Result<std::vector<Request>> requests_of_user(const std::string& user, int64_t since, int limit);
    // Adds one approval to a pending request; when `grant` is given (this
    // approval completes it) the grant is inserted and the request marked
    // approved in the same transaction. False when the request is no longer
    // pending or this approver already approved.
    base::Result<bool> add_approval(const ApprovalRecord& a, const Grant* grant);
    // Moves a pending request to denied/cancelled/expired; false if it was
    // not pending.
    base::Result<bool> finish_request(int64_t id, RequestState state, int64_t at, const std::string& by,
                                      const std::string& reason);

    // Fraud locks.
    base::Result<void> set_lock(const UserLock& lock);
    base::Result<std::optional<UserLock>> get_lock(const std::string& user);
    base::Result<bool> clear_lock(const std::string& user);

    // Risk (risk.cpp). record_risk commits with FULL sync: a raised risk
    // survives kill -9 and power loss before the daemon acts on it.
    base::Result<void> record_risk(const RiskChange& c);
    base::Result<std::vector<RiskUserRow>> risk_users();
    base::Result<std::vector<RiskSourceRow>> risk_sources();
    // The user's events, newest first, at most `limit`.
    base::Result<std::vector<RiskEventRow>> risk_events_of(const std::string& user, int limit);
    // Whether the user has signed in from `network` / from any network.
    base::Result<bool> risk_network_seen(const std::string& user, const std::string& network);
    base::Result<bool> risk_any_network(const std::string& user);
    // Sign-ins per hour of day (UTC), index 0..23.
    base::Result<std::vector<int64_t>> risk_hours(const std::string& user);
    // Deletes events older than `before`, source rows last updated before
    // it, and user rows last updated before it that are not confirmed.
    base::Result<void> prune_risk(int64_t before);

    // Audit trail (append-only table). A batch is one transaction.
    base::Result<void> append_audit(const AuditRecord& r);
    base::Result<void> append_audit(const std::vector<AuditRecord>& records);

    // Moves WAL content into the database (PASSIVE: never waits). The daemon
    // calls it from its timer; automatic checkpoints inside commits are off.
    base::Result<void> checkpoint();
    base::Result<std::vector<AuditRecord>> audit_tail(int limit);

    // Defined in store_impl.h, which only the store's own files include.
    struct Impl;

private:
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Random UUIDv4 text from OpenSSL's RAND_bytes.
std::string new_grant_id();

}  // namespace elevate::store
