// ping, status, list: read-only operations.
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::handlers {

Answer ping(daemon::Daemon&, const Call&, wire::FieldWriter& reply) {
    reply.put_str(wire::Tag::Version, ELEVATE_VERSION);
    return {};
}

Answer status(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    auto factors = d.store().factors_for_user(call.user);
    if (!factors) return internal_error("status", factors.error());
    auto locked = d.verifier().locked_until(call.user);
    if (!locked) return internal_error("status", locked.error());
    auto active = d.grants().active_for_user(call.user);
    if (!active) return internal_error("status", active.error());

    reply.put_str(wire::Tag::User, call.user);
    reply.put_bool(wire::Tag::Enrolled, !factors->empty());
    if (*locked) reply.put_u64(wire::Tag::LockedUntil, uint64_t(*locked));
    reply.put_str(wire::Tag::RiskLevel, config::risk_level_name(d.risk().user_level(call.user)));
    for (const auto& g : *active) put_grant(reply, g);
    return {};
}

Answer list(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string user, role;
    if (!get_text(call.fields, wire::Tag::User, 256, &user, &error) ||
        !get_text(call.fields, wire::Tag::Role, 64, &role, &error))
        return error;
    // A reply stays well inside what clients read (16 MiB): the first
    // kMaxListed matches, soonest to end first, and the total.
    constexpr int kMaxListed = 10000;
    const int64_t now = d.clock().now();
    auto listed = d.store().active_grants_matching(user, role, now, kMaxListed);
    if (!listed) return internal_error("list", listed.error());
    auto total = d.store().count_active_matching(user, role, now);
    if (!total) return internal_error("list", total.error());
    for (const auto& g : *listed) put_grant(reply, g);
    reply.put_u64(wire::Tag::Total, *total);
    return {};
}

}  // namespace elevate::handlers
