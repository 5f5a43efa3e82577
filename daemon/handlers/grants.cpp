// revoke, drop: ending a grant before its time.
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::handlers {

Answer end_grant(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply, const store::Grant& g,
                 store::GrantState state, const char* event, const std::string& reason) {
    auto ended = d.grants().end(g.id, state, call.peer.user);
    if (!ended) return internal_error(event, ended.error());
    if (!*ended) return {wire::Status::NotFound, "grant " + g.id + " is no longer active"};
    d.audit().record({d.clock().now(), event, call.peer.user, g.user, g.role, g.id, source_of(d, call), "ok",
                      reason.empty() ? std::string(event) + "d" : reason});
    put_grant(reply, **ended);
    return {};
}

Answer revoke(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string id, reason;
    if (!get_text(call.fields, wire::Tag::GrantId, 64, &id, &error) ||
        !get_text(call.fields, wire::Tag::Reason, 1024, &reason, &error))
        return error;
    if (id.empty()) return bad_request("a grant id is required");
    auto g = d.grants().find(id);
    if (!g) return internal_error("revoke", g.error());
    if (!*g || (*g)->state != store::GrantState::Active)
        return {wire::Status::NotFound, "no active grant " + base::escaped(id)};
    return end_grant(d, call, reply, **g, store::GrantState::Revoked, "revoke", reason);
}

Answer drop(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string id, role;
    if (!get_text(call.fields, wire::Tag::GrantId, 64, &id, &error) ||
        !get_text(call.fields, wire::Tag::Role, 64, &role, &error))
        return error;
    if (id.empty() == role.empty()) return bad_request("give either a grant id or a role");

    std::optional<store::Grant> target;
    if (!id.empty()) {
        auto g = d.grants().find(id);
        if (!g) return internal_error("drop", g.error());
        // Someone else's grant is reported as absent, not as forbidden:
        // a user learns nothing about other users' grant ids.
        if (*g && (*g)->user == call.user && (*g)->state == store::GrantState::Active) target = **g;
    } else {
        auto g = d.grants().active_for_role(call.user, role);
        if (!g) return internal_error("drop", g.error());
        target = *g;
    }
    if (!target)
        return {wire::Status::NotFound, "no active grant " + base::escaped(id.empty() ? "for role " + role : id) +
                                            " for " + base::escaped(call.user)};
    return end_grant(d, call, reply, *target, store::GrantState::Dropped, "drop", "dropped by " + call.peer.user);
}

}  // namespace elevate::handlers
