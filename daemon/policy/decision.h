// The one place where elevate decides whether a user may hold a role. Every
// decision takes the whole request context and returns the answer with its
// reasons, so conditional access and risk (later issues) slot in here and
// `explain` can show the same reasoning without acting on it.
#pragma once

#include "common/config/config.h"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace elevate::policy {

struct RequestContext {
    std::string user;   // whom the request is about
    std::string actor;  // who asked (from SO_PEERCRED)
    bool actor_is_admin = false;
    std::string service;  // PAM service or "elevatectl"
    std::string remote_host;
    std::string tty;
    int64_t time = 0;  // the daemon's clock, epoch seconds
};

struct ActivationRequest {
    std::string role;
    int64_t duration = 0;  // 0: the role's default
    std::string reason;
};

struct Decision {
    bool allowed = false;
    int64_t duration = 0;              // after clamping
    std::vector<std::string> reasons;  // why, in order, for logs and explain
};

// Eligibility, justification and duration; the second factor is checked by
// the caller after an allowed decision.
Decision decide_activation(const config::Role& role, const RequestContext& ctx, const ActivationRequest& req,
                           const std::vector<gid_t>& user_groups);

}  // namespace elevate::policy
