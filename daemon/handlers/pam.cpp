// authorize, account, session_open, session_close, break_glass: what
// pam_elevate asks. The module holds no policy: every answer, and every
// message the user sees, is decided here.
#include "common/base/parse.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

#include <algorithm>
#include <sstream>

namespace elevate::handlers {

namespace {

std::vector<std::string> split_roles(const std::string& csv) {
    std::vector<std::string> out;
    std::stringstream ss(csv);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

// The reply to authorize: what the client must do next.
Answer authorize_reply(daemon::Daemon& d, const Call& call, const config::Role* role, const policy::Decision& decision,
                       wire::FieldWriter& reply) {
    const std::string role_name = role ? role->name : "";
    switch (decision.outcome) {
        case policy::Outcome::Deny: {
            Answer a = denial_of(decision, call, reply);
            audit_decision(d, call, "authorize", role_name, "", a, decision);
            return a;
        }
        case policy::Outcome::Allow:
            reply.put_bool(wire::Tag::Granted, true);
            put_grant(reply, *decision.grant);
            audit_decision(d, call, "authorize", role_name, decision.grant->id, {}, decision,
                           "active grant until " + base::format_utc(decision.grant->end));
            return {};
        case policy::Outcome::Pending:
            // A request already waits for approval: the client waits for it
            // rather than asking for a factor again.
            reply.put_str(wire::Tag::Role, role_name);
            put_request(reply, *decision.pending, call.peer);
            audit_decision(d, call, "authorize", role_name, "", {}, decision,
                           "request " + std::to_string(decision.pending->id) + " is waiting for approval");
            return {};
        case policy::Outcome::NeedFactor:
            break;
    }
    if (decision.code_ok) reply.put_bool(wire::Tag::NeedCode, true);
    if (decision.push_ok) reply.put_bool(wire::Tag::PushOk, true);
    // The factor's own request is audited when it comes; a rule's part in
    // asking for it (or a report-only rule's) is audited now.
    if (decision.rule != "default" || !decision.report_only.empty())
        audit_decision(d, call, "authorize", role_name, decision.grant ? decision.grant->id : "", {}, decision,
                       "asked for a second factor");
    if (!role) return {};
    reply.put_str(wire::Tag::Role, role_name);
    if (decision.grant) {
        // Asked even inside a grant (reauth=always, or a rule's every_time):
        // the code is verified, no new grant.
        reply.put_bool(wire::Tag::Granted, true);
        put_grant(reply, *decision.grant);
    } else {
        reply.put_bool(wire::Tag::NeedReason, decision.need_reason);
        reply.put_u64(wire::Tag::Duration, uint64_t(decision.duration));
    }
    return {};
}

}  // namespace

Answer authorize(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string role_name;
    if (!get_text(call.fields, wire::Tag::Role, 64, &role_name, &error)) return error;
    const config::Role* role = nullptr;
    if (!role_name.empty()) {
        role = d.config().find_role(role_name);
        if (!role) {
            Answer a = no_such_role(role_name);
            a.message = "elevate: " + a.message;
            audit_answer(d, call, "authorize", role_name, "", a);
            return a;
        }
    }
    policy::RequestContext ctx = request_context(d, call, policy::Operation::Authorize, role_name);
    call.fields.get_bool(wire::Tag::Reauth, &ctx.reauth);
    policy::Decision decision = decide(d, call, ctx);
    // The factor's step (push_start, then activate or verify) continues
    // from this decision.
    if (decision.outcome == policy::Outcome::NeedFactor) carry_to_next_step(d, call, ctx, decision);
    return authorize_reply(d, call, role, decision, reply);
}

Answer account(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string csv;
    if (!get_text(call.fields, wire::Tag::Roles, 1024, &csv, &error)) return error;
    policy::RequestContext ctx = request_context(d, call, policy::Operation::Account);
    ctx.roles = split_roles(csv);
    if (ctx.roles.empty()) return bad_request("account needs at least one role");

    policy::Decision decision = decide(d, call, ctx);
    if (decision.outcome != policy::Outcome::Allow) {
        Answer a = denial_of(decision, call, reply);
        audit_decision(d, call, "account", csv, "", a, decision);
        return a;
    }
    // pam_elevate files the session of this PAM handle under this grant.
    put_grant(reply, *decision.grant);
    audit_decision(d, call, "account", decision.grant->role, decision.grant->id, {}, decision,
                   "active grant until " + base::format_utc(decision.grant->end));
    return {};
}

Answer session_open(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string role, grant_id;
    if (!get_text(call.fields, wire::Tag::Role, 64, &role, &error)) return error;
    if (!get_text(call.fields, wire::Tag::GrantId, 64, &grant_id, &error)) return error;
    std::string service, rhost, tty;
    get_text(call.fields, wire::Tag::Service, 64, &service, &error);
    get_text(call.fields, wire::Tag::RemoteHost, 256, &rhost, &error);
    get_text(call.fields, wire::Tag::Tty, 64, &tty, &error);
    store::Session s;
    s.user = call.user;
    // The process that opens the session is the one on the socket: its pid
    // comes from the kernel, not from the message.
    s.pid = call.peer.pid;
    s.service = service;
    // Only a root peer (sshd) may register where a session comes from: a
    // user's own program could otherwise plant a source for its children.
    if (call.peer.uid == 0) s.rhost = rhost;
    s.tty = tty;

    // The session runs under the grant that admitted it: the one the PAM
    // handle's auth or account step confirmed (named by id; only a grant of
    // call.user counts), or else the named role's, or else the user's grant
    // that lasts longest.
    auto active = d.grants().active_for_user(call.user);
    if (!active) return internal_error("session_open", active.error());
    const store::Grant* under = nullptr;
    for (const auto& g : *active)
        if (!grant_id.empty() && g.id == grant_id) under = &g;
    if (!under) {
        for (const auto& g : *active) {
            if (!role.empty() && g.role != role) continue;
            if (!under || g.end > under->end) under = &g;
        }
    }
    if (under) s.grant_id = under->id;

    auto opened = d.sessions().open(std::move(s));
    if (!opened) return internal_error("session_open", opened.error());
    reply.put_str(wire::Tag::SessionId, opened->id);
    if (under) put_grant(reply, *under);
    audit_answer(
        d, call, "session-open", under ? under->role : "", opened->grant_id, {},
        "pid " + std::to_string(opened->pid) + (under ? " under grant " + under->id.substr(0, 8) : " without a grant"));
    return {};
}

Answer session_close(daemon::Daemon& d, const Call& call, wire::FieldWriter&) {
    Answer error;
    std::string id;
    if (!get_text(call.fields, wire::Tag::SessionId, 64, &id, &error)) return error;
    if (id.empty()) return bad_request("a session id is required");
    auto closed = d.sessions().close(id, call.user, call.peer.user);
    if (!closed) return internal_error("session_close", closed.error());
    if (!*closed)
        return {wire::Status::NotFound, "no open session " + base::escaped(id) + " for " + base::escaped(call.user)};
    audit_answer(d, call, "session-close", "", "", {}, "session " + id.substr(0, 8) + " closed");
    return {};
}

Answer break_glass(daemon::Daemon& d, const Call& call, wire::FieldWriter&) {
    Answer error;
    std::string reason;
    if (!get_text(call.fields, wire::Tag::Reason, 1024, &reason, &error)) return error;
    d.audit().record({d.clock().now(), "break-glass", call.peer.user, call.user, "", "", source_of(d, call), "ok",
                      "EMERGENCY ACCESS" + (reason.empty() ? std::string() : ": " + reason)});
    if (auto r = d.risk().break_glass(call.user, origin_of(request_source(d, call))); !r)
        return internal_error("break-glass", r.error());
    return {};
}

}  // namespace elevate::handlers
