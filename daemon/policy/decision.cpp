#include "daemon/policy/decision.h"

#include "common/base/parse.h"
#include "daemon/policy/identity.h"

#include <algorithm>

namespace elevate::policy {

namespace {
bool eligible(const config::Role& role, const std::string& user, const std::vector<gid_t>& groups, std::string* why) {
    if (std::find(role.eligible_users.begin(), role.eligible_users.end(), user) != role.eligible_users.end()) {
        *why = "user " + user + " is listed in eligible_users";
        return true;
    }
    for (const auto& name : role.eligible_groups) {
        auto gid = group_gid(name);
        if (gid && std::find(groups.begin(), groups.end(), *gid) != groups.end()) {
            *why = "user " + user + " is a member of eligible group " + name;
            return true;
        }
    }
    *why = "user " + user + " is not eligible for role " + role.name;
    return false;
}
}  // namespace

Decision decide_activation(const config::Role& role, const RequestContext& ctx, const ActivationRequest& req,
                           const std::vector<gid_t>& user_groups) {
    Decision d;
    std::string why;
    if (!eligible(role, ctx.user, user_groups, &why)) {
        d.reasons.push_back(why);
        return d;
    }
    d.reasons.push_back(why);
    if (role.require_reason && req.reason.empty()) {
        d.reasons.push_back("role " + role.name + " requires a reason (--reason)");
        return d;
    }
    d.duration = req.duration > 0 ? req.duration : role.default_duration;
    if (d.duration > role.max_duration) {
        d.reasons.push_back("duration " + base::format_duration(d.duration) + " clamped to the role maximum " +
                            base::format_duration(role.max_duration));
        d.duration = role.max_duration;
    }
    d.allowed = true;
    return d;
}

}  // namespace elevate::policy
