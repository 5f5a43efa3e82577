// Approval requests: a role with `approval` grants only when enough distinct
// approvers (each matching the role's approvers, none of them the requester)
// have approved. Requests live in the store; this service decides who may
// approve, completes a request into a grant in one transaction, expires
// requests on time, and resumes the clients parked waiting on one.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/config/config.h"
#include "daemon/grants/grant_service.h"
#include "daemon/store/store.h"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace elevate::approvals {

// "group:sec-leads, user:carol": the approvers of a role, for people.
std::string approvers_text(const config::Approval& a);

// True when `user` (with `gids`) matches one of `approvers`
// ("group:NAME" / "user:NAME", comma-separated as stored).
bool matches_approvers(const std::string& approvers, const std::string& user, const std::vector<gid_t>& gids);

class ApprovalService {
public:
    ApprovalService(store::Store& store, grants::GrantService& grants, const base::Clock& clock)
        : store_(store), grants_(grants), clock_(clock) {}

    base::Result<size_t> load();  // pending requests' expiry times, at start-up

    base::Result<store::Request> create(store::Request r);
    // The user's pending request for `role`, if any.
    base::Result<std::optional<store::Request>> pending_for(const std::string& user, const std::string& role);

    // Adds `approver`'s approval; when it is the last one needed, the grant
    // is created with it. Returns the request as it is now and the grant,
    // if one started. nullopt: the request was not pending any more, or
    // this approver had already approved.
    struct Approved {
        store::Request request;
        std::optional<store::Grant> grant;
    };
    base::Result<std::optional<Approved>> approve(const store::Request& r, const std::string& approver,
                                                  const std::string& factor);
    // Denied, cancelled or expired; nullopt when it was not pending.
    base::Result<std::optional<store::Request>> finish(const store::Request& r, store::RequestState state,
                                                       const std::string& by, const std::string& reason);

    // Parks `ticket` until request `id` changes.
    void wait(int64_t id, uint64_t ticket);
    void abandon(uint64_t ticket);
    void set_resume(std::function<void(uint64_t)> fn) { resume_ = std::move(fn); }
    // Called after a request left pending by timing out (audit, notify).
    void set_on_expire(std::function<void(const store::Request&)> fn) { on_expire_ = std::move(fn); }

    std::optional<int64_t> next_expiry() const;
    void expire_due();

private:
    void changed(int64_t id);

    store::Store& store_;
    grants::GrantService& grants_;
    const base::Clock& clock_;
    std::unordered_map<int64_t, int64_t> expiries_;  // pending id -> expires
    std::unordered_map<int64_t, std::vector<uint64_t>> waiters_;
    std::function<void(uint64_t)> resume_;
    std::function<void(const store::Request&)> on_expire_;
};

}  // namespace elevate::approvals
