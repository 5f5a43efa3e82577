#include "common/base/parse.h"
#include "daemon/core/log.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

#include <time.h>

namespace elevate::handlers {

Answer already_active(const config::Role& role, const store::Grant& g) {
    return {wire::Status::Conflict, policy::already_active_text(role.name, g)};
}

void put_grant(wire::FieldWriter& w, const store::Grant& g) {
    w.begin_record(wire::Tag::Grant);
    w.put_str(wire::Tag::GrantId, g.id);
    w.put_str(wire::Tag::User, g.user);
    w.put_str(wire::Tag::Role, g.role);
    w.put_u64(wire::Tag::Start, uint64_t(g.start));
    w.put_u64(wire::Tag::End, uint64_t(g.end));
    w.put_str(wire::Tag::State, store::grant_state_name(g.state));
    w.put_str(wire::Tag::Reason, g.reason);
    w.put_str(wire::Tag::Factor, g.factor);
    w.put_str(wire::Tag::Source, g.source);
    if (g.state != store::GrantState::Active) {
        w.put_u64(wire::Tag::EndedAt, uint64_t(g.ended_at));
        w.put_str(wire::Tag::EndedBy, g.ended_by);
    }
    w.end_record();
}

bool get_text(const wire::FieldList& f, wire::Tag tag, size_t max, std::string* out, Answer* error) {
    std::string_view v;
    out->clear();
    if (!f.get_str(tag, &v)) return true;
    if (v.size() > max) {
        *error = bad_request("field " + std::to_string(int(tag)) + " is longer than " + std::to_string(max) + " bytes");
        return false;
    }
    for (unsigned char c : v) {
        if (c < 0x20 || c == 0x7f) {
            // Control characters would let a user forge lines in logs.
            *error = bad_request("field " + std::to_string(int(tag)) + " contains control characters");
            return false;
        }
    }
    out->assign(v);
    return true;
}

Answer bad_request(std::string message) {
    return {wire::Status::BadRequest, std::move(message)};
}

Answer no_such_user(std::string_view user) {
    return {wire::Status::NotFound, "no such user: " + base::escaped(user)};
}

Answer no_such_role(std::string_view role) {
    return {wire::Status::NotFound, "no such role '" + base::escaped(role) + "'"};
}

Answer internal_error(const std::string& what, const base::Error& e) {
    const char* storage = store::failure_reason(e);
    // The log keeps the detail (operation, path, SQLite's message).
    daemon::log_error(what + ": " + e.message + (storage ? std::string(" (") + storage + ")" : ""));
    Answer a{wire::Status::Internal, what + " failed; see the elevated log"};
    a.storage = storage;
    return a;
}

void audit_answer(daemon::Daemon& d, const Call& call, const char* event, const std::string& role,
                  const std::string& grant_id, const Answer& a, const std::string& detail) {
    const bool ok = a.status == wire::Status::Ok;
    d.audit().record({d.clock().now(), event, call.peer.user, call.user, role, grant_id, source_of(d, call),
                      ok ? "ok" : "denied", ok ? detail : a.message});
}

const policy::Source& request_source(daemon::Daemon& d, const Call& call) {
    if (!call.source) {
        // Text with control characters or beyond the bounds counts as absent.
        std::string rhost, tty;
        Answer ignored;
        get_text(call.fields, wire::Tag::RemoteHost, 256, &rhost, &ignored);
        get_text(call.fields, wire::Tag::Tty, 64, &tty, &ignored);
        const auto& sessions = d.sessions();
        policy::SessionByPid registry;
        if (sessions.any_remote_session())
            registry = [&sessions](int64_t pid, int64_t start) { return sessions.remote_session_of(pid, start); };
        call.source = policy::resolve_source(call.peer, {rhost, tty}, registry);
    }
    return *call.source;
}

std::string source_of(daemon::Daemon& d, const Call& call) {
    std::string service;
    Answer ignored;
    get_text(call.fields, wire::Tag::Service, 64, &service, &ignored);
    const policy::Source& source = request_source(d, call);
    std::string s = (service.empty() ? "socket" : service) + " from " + source.text();
    if (!source.session.empty()) s += " (" + source.session + ")";
    if (!source.tty.empty()) s += " on " + source.tty;
    return s;
}

}  // namespace elevate::handlers
