// Approval requests, approvals and fraud locks (schema version 3). Every
// change commits with synchronous=FULL: an approval or a lock that the
// daemon confirmed survives kill -9 and power loss (invariant 6).
#include "daemon/store/store.h"
#include "daemon/store/store_impl.h"

#include <sstream>

namespace elevate::store {
namespace {

#define ELEVATE_REQUEST_COLUMNS                                                                                  \
    "id, user, role, reason, duration, created, expires, needed, approvers, factor, source, state, decided_at, " \
    "decided_by, decision_reason, grant_id"
constexpr const char kInsertRequest[] =
    "INSERT INTO requests (user, role, reason, duration, created, expires, needed, approvers, factor, source, state) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')";
constexpr const char kGetRequest[] = "SELECT " ELEVATE_REQUEST_COLUMNS " FROM requests WHERE id = ?";
constexpr const char kPendingRequests[] =
    "SELECT " ELEVATE_REQUEST_COLUMNS " FROM requests WHERE state = 'pending' ORDER BY id";
constexpr const char kRequestsOfUser[] =
    "SELECT " ELEVATE_REQUEST_COLUMNS " FROM requests WHERE user = ? AND created >= ? ORDER BY id DESC LIMIT ?";
#undef ELEVATE_REQUEST_COLUMNS
constexpr const char kApprovalsOf[] = "SELECT approver FROM approvals WHERE request_id = ? ORDER BY at, approver";
constexpr const char kInsertApproval[] =
    "INSERT OR IGNORE INTO approvals (request_id, approver, at, factor) "
    "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM requests WHERE id = ?1 AND state = 'pending')";
constexpr const char kApproveRequest[] =
    "UPDATE requests SET state = 'approved', decided_at = ?, decided_by = ?, grant_id = ? "
    "WHERE id = ? AND state = 'pending'";
constexpr const char kFinishRequest[] =
    "UPDATE requests SET state = ?, decided_at = ?, decided_by = ?, decision_reason = ? "
    "WHERE id = ? AND state = 'pending'";

constexpr const char kSetLock[] =
    "INSERT INTO locks (user, since, reason) VALUES (?, ?, ?) "
    "ON CONFLICT (user) DO UPDATE SET since = excluded.since, reason = excluded.reason";
constexpr const char kGetLock[] = "SELECT user, since, reason FROM locks WHERE user = ?";
constexpr const char kClearLock[] = "DELETE FROM locks WHERE user = ?";

base::Result<Request> read_request(const Query& q) {
    Request r;
    r.id = q.column_int(0);
    r.user = q.column_text(1);
    r.role = q.column_text(2);
    r.reason = q.column_text(3);
    r.duration = q.column_int(4);
    r.created = q.column_int(5);
    r.expires = q.column_int(6);
    r.needed = int(q.column_int(7));
    r.approvers = q.column_text(8);
    r.factor = q.column_text(9);
    r.source = q.column_text(10);
    const std::string state = q.column_text(11);
    auto parsed = parse_request_state(state);
    if (!parsed) return base::make_error("request " + std::to_string(r.id) + " has unknown state '" + state + "'");
    r.state = *parsed;
    r.decided_at = q.column_int(12);
    r.decided_by = q.column_text(13);
    r.decision_reason = q.column_text(14);
    r.grant_id = q.column_text(15);
    return r;
}

}  // namespace

const char* request_state_name(RequestState s) {
    switch (s) {
        case RequestState::Pending:
            return "pending";
        case RequestState::Approved:
            return "approved";
        case RequestState::Denied:
            return "denied";
        case RequestState::Cancelled:
            return "cancelled";
        case RequestState::Expired:
            return "expired";
    }
    return "unknown";
}

std::optional<RequestState> parse_request_state(std::string_view s) {
    for (RequestState state : {RequestState::Pending, RequestState::Approved, RequestState::Denied,
                               RequestState::Cancelled, RequestState::Expired}) {
        if (s == request_state_name(state)) return state;
    }
    return std::nullopt;
}

namespace {

// Reads every row of `q` as a request, with its approvers filled in.
base::Result<std::vector<Request>> read_requests(Store::Impl& impl, Query& q, std::string_view op) {
    std::vector<Request> out;
    for (;;) {
        auto row = q.step(op);
        if (!row) return std::move(row).error();
        if (!*row) break;
        auto r = read_request(q);
        if (!r) return std::move(r).error();
        out.push_back(std::move(*r));
    }
    auto st = impl.statement(kApprovalsOf, op);
    if (!st) return std::move(st).error();
    for (Request& r : out) {
        Query a(impl.db.get(), *st);
        a.integer(r.id);
        for (;;) {
            auto row = a.step(op);
            if (!row) return std::move(row).error();
            if (!*row) break;
            r.approved_by.push_back(a.column_text(0));
        }
    }
    return out;
}

}  // namespace

base::Result<Request> Store::insert_request(Request r) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "storing approval request";
    auto st = impl_->statement(kInsertRequest, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(r.user)
        .text(r.role)
        .text(r.reason)
        .integer(r.duration)
        .integer(r.created)
        .integer(r.expires)
        .integer(r.needed)
        .text(r.approvers)
        .text(r.factor)
        .text(r.source);
    if (auto done = q.run(op); !done) return std::move(done).error();
    r.id = sqlite3_last_insert_rowid(impl_->db.get());
    r.state = RequestState::Pending;
    return r;
}

base::Result<std::optional<Request>> Store::get_request(int64_t id) {
    constexpr std::string_view op = "reading approval request";
    auto st = impl_->statement(kGetRequest, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.integer(id);
    auto found = read_requests(*impl_, q, op);
    if (!found) return std::move(found).error();
    if (found->empty()) return std::optional<Request>();
    return std::optional<Request>(std::move(found->front()));
}

base::Result<std::vector<Request>> Store::pending_requests() {
    constexpr std::string_view op = "listing pending approval requests";
    auto st = impl_->statement(kPendingRequests, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    return read_requests(*impl_, q, op);
}

base::Result<std::vector<Request>> Store::requests_of_user(const std::string& user, int64_t since, int limit) {
    constexpr std::string_view op = "listing approval requests of a user";
    auto st = impl_->statement(kRequestsOfUser, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user).integer(since).integer(limit);
    return read_requests(*impl_, q, op);
}

base::Result<bool> Store::add_approval(const ApprovalRecord& a, const Grant* grant) {
    // FULL before BEGIN: the pragma is not changed inside a transaction.
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "recording approval";
    Impl::Transaction tx(*impl_);
    if (auto r = tx.begin(op); !r) return std::move(r).error();
    {
        auto st = impl_->statement(kInsertApproval, op);
        if (!st) return std::move(st).error();
        Query q(impl_->db.get(), *st);
        q.integer(a.request_id).text(a.approver).integer(a.at).text(a.factor);
        if (auto r = q.run(op); !r) return std::move(r).error();
        if (q.changes() == 0) return false;  // not pending, or approved by them before
    }
    if (grant) {
        if (auto r = insert_grant(*grant); !r) return std::move(r).error();
        auto st = impl_->statement(kApproveRequest, op);
        if (!st) return std::move(st).error();
        Query q(impl_->db.get(), *st);
        q.integer(a.at).text(a.approver).text(grant->id).integer(a.request_id);
        if (auto r = q.run(op); !r) return std::move(r).error();
        if (q.changes() == 0) return false;
    }
    if (auto r = tx.commit(op); !r) return std::move(r).error();
    return true;
}

base::Result<bool> Store::finish_request(int64_t id, RequestState state, int64_t at, const std::string& by,
                                         const std::string& reason) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "ending approval request";
    auto st = impl_->statement(kFinishRequest, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(request_state_name(state)).integer(at).text(by).text(reason).integer(id);
    if (auto r = q.run(op); !r) return std::move(r).error();
    return q.changes() > 0;
}

base::Result<void> Store::set_lock(const UserLock& lock) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "locking user";
    auto st = impl_->statement(kSetLock, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(lock.user).integer(lock.since).text(lock.reason);
    return q.run(op);
}

base::Result<std::optional<UserLock>> Store::get_lock(const std::string& user) {
    constexpr std::string_view op = "reading user lock";
    auto st = impl_->statement(kGetLock, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user);
    auto row = q.step(op);
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<UserLock>();
    return std::optional<UserLock>(UserLock{q.column_text(0), q.column_int(1), q.column_text(2)});
}

base::Result<bool> Store::clear_lock(const std::string& user) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "unlocking user";
    auto st = impl_->statement(kClearLock, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user);
    if (auto r = q.run(op); !r) return std::move(r).error();
    return q.changes() > 0;
}

}  // namespace elevate::store
