#include "daemon/approvals/approval_service.h"

#include "common/base/parse.h"
#include "daemon/core/log.h"
#include "daemon/policy/identity.h"

#include <algorithm>
#include <sstream>

namespace elevate::approvals {

std::string approvers_text(const config::Approval& a) {
    return base::join(a.approvers, ",");
}

bool matches_approvers(const std::string& approvers, const std::string& user, const std::vector<gid_t>& gids) {
    std::stringstream ss(approvers);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.starts_with("user:") && item.substr(5) == user) return true;
        if (item.starts_with("group:")) {
            auto gid = policy::group_gid(item.substr(6));
            if (gid && std::find(gids.begin(), gids.end(), *gid) != gids.end()) return true;
        }
    }
    return false;
}

base::Result<size_t> ApprovalService::load() {
    auto pending = store_.pending_requests();
    if (!pending) return std::move(pending).error();
    for (const auto& r : *pending) expiries_[r.id] = r.expires;
    return pending->size();
}

base::Result<store::Request> ApprovalService::create(store::Request r) {
    auto stored = store_.insert_request(std::move(r));
    if (!stored) return std::move(stored).error();
    expiries_[stored->id] = stored->expires;
    return stored;
}

base::Result<std::optional<store::Request>> ApprovalService::pending_for(const std::string& user,
                                                                         const std::string& role) {
    // Pending requests are few (each waits for a person); no index needed.
    for (const auto& [id, expires] : expiries_) {
        auto r = store_.get_request(id);
        if (!r) return std::move(r).error();
        if (*r && (*r)->user == user && (*r)->role == role && (*r)->state == store::RequestState::Pending &&
            (*r)->expires > clock_.now())
            return std::optional<store::Request>(std::move(**r));
    }
    return std::optional<store::Request>();
}

base::Result<std::optional<ApprovalService::Approved>> ApprovalService::approve(const store::Request& r,
                                                                                const std::string& approver,
                                                                                const std::string& factor) {
    const int64_t now = clock_.now();
    store::ApprovalRecord a{r.id, approver, now, factor};
    std::optional<store::Grant> grant;
    if (int(r.approved_by.size()) + 1 >= r.needed) {
        store::Grant g;
        g.id = store::new_grant_id();
        g.user = r.user;
        g.role = r.role;
        g.start = now;
        g.end = now + r.duration;
        g.reason = r.reason;
        g.factor = r.factor + "+approval";
        g.source = r.source;
        grant = std::move(g);
    }
    auto added = store_.add_approval(a, grant ? &*grant : nullptr);
    if (!added) return std::move(added).error();
    if (!*added) return std::optional<Approved>();
    Approved out{r, std::nullopt};
    out.request.approved_by.push_back(approver);
    if (grant) {
        grants_.adopt(*grant);
        out.request.state = store::RequestState::Approved;
        out.request.decided_at = now;
        out.request.decided_by = approver;
        out.request.grant_id = grant->id;
        out.grant = std::move(grant);
        expiries_.erase(r.id);
    }
    changed(r.id);
    return std::optional<Approved>(std::move(out));
}

base::Result<std::optional<store::Request>> ApprovalService::finish(const store::Request& r, store::RequestState state,
                                                                    const std::string& by, const std::string& reason) {
    const int64_t now = clock_.now();
    auto done = store_.finish_request(r.id, state, now, by, reason);
    if (!done) return std::move(done).error();
    if (!*done) return std::optional<store::Request>();
    store::Request out = r;
    out.state = state;
    out.decided_at = now;
    out.decided_by = by;
    out.decision_reason = reason;
    expiries_.erase(r.id);
    changed(r.id);
    return std::optional<store::Request>(std::move(out));
}

void ApprovalService::wait(int64_t id, uint64_t ticket) {
    auto& w = waiters_[id];
    if (std::find(w.begin(), w.end(), ticket) == w.end()) w.push_back(ticket);
}

void ApprovalService::abandon(uint64_t ticket) {
    for (auto it = waiters_.begin(); it != waiters_.end();) {
        std::erase(it->second, ticket);
        it = it->second.empty() ? waiters_.erase(it) : std::next(it);
    }
}

void ApprovalService::changed(int64_t id) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    std::vector<uint64_t> tickets = std::move(it->second);
    waiters_.erase(it);
    if (resume_)
        for (uint64_t t : tickets) resume_(t);
}

std::optional<int64_t> ApprovalService::next_expiry() const {
    std::optional<int64_t> next;
    for (const auto& [id, at] : expiries_)
        if (!next || at < *next) next = at;
    return next;
}

void ApprovalService::expire_due() {
    const int64_t now = clock_.now();
    std::vector<int64_t> due;
    for (const auto& [id, at] : expiries_)
        if (at <= now) due.push_back(id);
    for (int64_t id : due) {
        expiries_.erase(id);
        auto r = store_.get_request(id);
        if (!r || !*r) {
            if (!r) daemon::log_error("expiring request " + std::to_string(id) + ": " + r.error().message);
            continue;
        }
        auto ended = finish(**r, store::RequestState::Expired, "expiry", "no decision in time");
        if (!ended) {
            daemon::log_error("expiring request " + std::to_string(id) + ": " + ended.error().message);
            continue;
        }
        if (*ended && on_expire_) on_expire_(**ended);
    }
}

}  // namespace elevate::approvals
