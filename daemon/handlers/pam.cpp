// authorize, account, session_open, session_close, break_glass: what
// pam_elevate asks. The module holds no policy: every answer, and every
// message the user sees, is decided here.
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"
#include "daemon/policy/decision.h"
#include "daemon/policy/identity.h"

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

std::string activate_hint(const std::string& role, bool require_reason) {
    return "elevatectl activate " + role + (require_reason ? " --reason ..." : "");
}

// Which factors the user can use here (reply: need_code, push_ok), or why
// none: not enrolled in anything usable, or locked.
bool offer_factors(daemon::Daemon& d, const Call& call, const FactorCheck& check, wire::FieldWriter& reply,
                   Answer* denial) {
    if (Answer a = check_unlocked(d, call.user, reply); a.status != wire::Status::Ok) {
        *denial = a;
        return false;
    }
    auto factors = d.store().factors_for_user(call.user);
    if (!factors) {
        *denial = internal_error("authorize", factors.error());
        return false;
    }
    const bool code = check.code_allowed && !factors->empty();
    const bool push = check.push_allowed && d.push().enabled();
    if (!code && !push) {
        // push is unusable here (not allowed or not configured), so a code
        // is the only way: say what is missing for it.
        if (check.code_allowed)
            *denial = {wire::Status::NotEnrolled, "No second factor is enrolled for " + call.user +
                                                      ". Ask an administrator to run: elevatectl enroll " + call.user};
        else
            *denial = {wire::Status::Denied, check.what + " requires push approval, which is not configured"};
        return false;
    }
    if (code) reply.put_bool(wire::Tag::NeedCode, true);
    if (push) reply.put_bool(wire::Tag::PushOk, true);
    return true;
}

}  // namespace

Answer authorize(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string role_name;
    if (!get_text(call.fields, wire::Tag::Role, 64, &role_name, &error)) return error;
    bool reauth = false;
    call.fields.get_bool(wire::Tag::Reauth, &reauth);

    if (role_name.empty()) {
        // A plain second factor: no grant involved. An unknown user is
        // told so, as on the role path, before anything about factors.
        if (!policy::user_groups(call.user)) {
            Answer a = no_such_user(call.user);
            audit_answer(d, call, "authorize", "", "", a);
            return a;
        }
        Answer denial;
        if (!offer_factors(d, call, factor_check_for(call.user, nullptr), reply, &denial)) {
            audit_answer(d, call, "authorize", "", "", denial);
            return denial;
        }
        return {};
    }

    const config::Role* role = d.config().find_role(role_name);
    if (!role) {
        Answer a = no_such_role(role_name);
        a.message = "elevate: " + a.message;
        audit_answer(d, call, "authorize", role_name, "", a);
        return a;
    }
    auto current = d.grants().active_for_role(call.user, role->name);
    if (!current) return internal_error("authorize", current.error());
    if (*current && !reauth) {
        reply.put_bool(wire::Tag::Granted, true);
        put_grant(reply, **current);
        audit_answer(d, call, "authorize", role->name, (*current)->id, {},
                     "active grant until " + format_time((*current)->end));
        return {};
    }

    // Only now, when a prompt may follow, is the group database consulted:
    // the common case (an active grant) needs no NSS lookup.
    auto groups = policy::user_groups(call.user);
    if (!groups) return no_such_user(call.user);
    policy::RequestContext ctx = context_of(d, call);
    // Eligibility only: the reason is asked for next, if the role needs one.
    policy::ActivationRequest probe{role->name, 0, "(to be asked)"};
    policy::Decision decision = policy::decide_activation(*role, ctx, probe, *groups);
    if (!*current && !decision.allowed) {
        Answer a{wire::Status::Denied, decision.reasons.back()};
        audit_answer(d, call, "authorize", role->name, "", a);
        return a;
    }
    if (!*current && role->approval) {
        // A request already waits for approval: the client waits for it
        // rather than asking for a factor again.
        auto pending = d.approvals().pending_for(call.user, role->name);
        if (!pending) return internal_error("authorize", pending.error());
        if (*pending) {
            reply.put_str(wire::Tag::Role, role->name);
            put_request(reply, **pending, call.peer);
            audit_answer(d, call, "authorize", role->name, "", {},
                         "request " + std::to_string((*pending)->id) + " is waiting for approval");
            return {};
        }
    }
    Answer denial;
    if (!offer_factors(d, call, factor_check_for(call.user, role), reply, &denial)) {
        audit_answer(d, call, "authorize", role->name, "", denial);
        return denial;
    }
    reply.put_str(wire::Tag::Role, role->name);
    if (*current) {
        // reauth=always with an active grant: the code is verified, no new grant.
        reply.put_bool(wire::Tag::Granted, true);
        put_grant(reply, **current);
    } else {
        reply.put_bool(wire::Tag::NeedReason, role->require_reason);
        reply.put_u64(wire::Tag::Duration, uint64_t(decision.duration));
    }
    return {};
}

Answer account(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string csv;
    if (!get_text(call.fields, wire::Tag::Roles, 1024, &csv, &error)) return error;
    std::vector<std::string> roles = split_roles(csv);
    if (roles.empty()) return bad_request("account needs at least one role");

    auto active = d.grants().active_for_user(call.user);
    if (!active) return internal_error("account", active.error());
    // The grant that admits the user longest: pam_elevate files the
    // session of this PAM handle under it.
    const store::Grant* admits = nullptr;
    for (const auto& g : *active)
        if (std::find(roles.begin(), roles.end(), g.role) != roles.end() && (!admits || g.end > admits->end))
            admits = &g;
    if (admits) {
        put_grant(reply, *admits);
        audit_answer(d, call, "account", admits->role, admits->id, {},
                     "active grant until " + format_time(admits->end));
        return {};
    }
    std::string names, hint;
    for (const auto& r : roles) {
        names += (names.empty() ? "" : " or ") + r;
        if (hint.empty()) {
            const config::Role* role = d.config().find_role(r);
            if (role) hint = activate_hint(r, role->require_reason);
        }
    }
    std::string message = "No active grant for " + names + ".";
    if (!hint.empty()) message += " Run: " + hint;
    Answer a{wire::Status::Denied, message};
    audit_answer(d, call, "account", csv, "", a);
    return a;
}

Answer session_open(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    Answer error;
    std::string role, grant_id;
    if (!get_text(call.fields, wire::Tag::Role, 64, &role, &error)) return error;
    if (!get_text(call.fields, wire::Tag::GrantId, 64, &grant_id, &error)) return error;
    policy::RequestContext ctx = context_of(d, call);
    store::Session s;
    s.user = call.user;
    // The process that opens the session is the one on the socket: its pid
    // comes from the kernel, not from the message.
    s.pid = call.peer.pid;
    s.service = ctx.service;
    // Only a root peer (sshd) may register where a session comes from: a
    // user's own program could otherwise plant a source for its children.
    if (call.peer.uid == 0) s.rhost = ctx.remote_host;
    s.tty = ctx.tty;

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
    return {};
}

}  // namespace elevate::handlers
