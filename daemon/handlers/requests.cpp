// request_list, request_decide, request_cancel, request_wait: the approval
// workflow (docs/PROTOCOL.md, "Approval requests"). Approvers are known by
// the kernel's word (SO_PEERCRED, SO_PEERGROUPS), never by the message.
#include "common/base/parse.h"
#include "common/wire/transport.h"
#include "daemon/approvals/approval_service.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::handlers {

namespace {

constexpr int64_t kRecentSeconds = 86400;  // decided requests listed for a day
constexpr uint64_t kMaxWaitSeconds = 600;

bool may_decide(const store::Request& r, const policy::Peer& peer) {
    return r.user != peer.user && approvals::matches_approvers(r.approvers, peer.user, peer.groups);
}

// Reads request_id and loads the request.
Answer load_request(daemon::Daemon& d, const Call& call, store::Request* out) {
    uint64_t id = 0;
    if (!call.fields.get_u64(wire::Tag::RequestId, &id) || id == 0 || id > uint64_t(INT64_MAX))
        return bad_request("a request id is required");
    auto r = d.store().get_request(int64_t(id));
    if (!r) return internal_error("request", r.error());
    if (!*r) return {wire::Status::NotFound, "no approval request " + std::to_string(id)};
    *out = std::move(**r);
    return {};
}

Answer not_pending(const store::Request& r) {
    return {wire::Status::Conflict, "request " + std::to_string(r.id) + " is already " +
                                        store::request_state_name(r.state) +
                                        (r.decided_by.empty() ? "" : " (by " + r.decided_by + ")")};
}

void audit_request(daemon::Daemon& d, const Call& call, const char* event, const store::Request& r, const Answer& a,
                   const std::string& detail) {
    d.audit().record({d.clock().now(), event, call.peer.user, r.user, r.role, r.grant_id, source_of(d, call),
                      a.status == wire::Status::Ok ? "ok" : "denied",
                      "request " + std::to_string(r.id) + ": " + (a.status == wire::Status::Ok ? detail : a.message)});
}

// The requester, or an administrator.
bool owns(const store::Request& r, const Call& call) {
    return r.user == call.peer.user || call.peer.admin;
}

Answer deny(daemon::Daemon& d, const Call& call, const store::Request& r, wire::FieldWriter& reply) {
    Answer error;
    std::string reason;
    if (!get_text(call.fields, wire::Tag::Reason, 1024, &reason, &error)) return error;
    if (reason.empty()) return bad_request("a reason is required to deny a request");
    auto done = d.approvals().finish(r, store::RequestState::Denied, call.peer.user, reason);
    if (!done) return internal_error("deny", done.error());
    if (!*done) return not_pending(r);
    audit_request(d, call, "deny", **done, {}, "denied: " + reason);
    d.notify("request.denied", nullptr, &**done, call.peer.user, reason);
    put_request(reply, **done, call.peer);
    return {};
}

Answer approve(daemon::Daemon& d, const Call& call, const store::Request& r, wire::FieldWriter& reply) {
    for (const auto& who : r.approved_by)
        if (who == call.peer.user)
            return {wire::Status::Conflict, "you already approved request " + std::to_string(r.id)};
    // The approver's own second factor, not the requester's.
    FactorCheck check;
    check.user = call.peer.user;
    check.what = "approving request " + std::to_string(r.id);
    std::string factor;
    Answer verified = check_factor(d, call, check, reply, &factor);
    if (verified.parked) return verified;
    if (verified.status != wire::Status::Ok) {
        audit_request(d, call, "approve", r, verified, "");
        return verified;
    }
    auto approved = d.approvals().approve(r, call.peer.user, factor);
    if (!approved) return internal_error("approve", approved.error());
    if (!*approved) return not_pending(r);
    const store::Request& now = (*approved)->request;
    audit_request(d, call, "approve", now, {},
                  "approved with " + factor + " (" + std::to_string(now.approved_by.size()) + " of " +
                      std::to_string(now.needed) + ")");
    if ((*approved)->grant) {
        const store::Grant& g = *(*approved)->grant;
        d.audit().record({d.clock().now(), "activate", call.peer.user, g.user, g.role, g.id, g.source, "ok",
                          "granted for " + base::format_duration(g.end - g.start) + " by approval of request " +
                              std::to_string(now.id) + " (approvers: " + base::join(now.approved_by, ", ") + ")"});
        d.notify("request.approved", &g, &now, call.peer.user, "");
        d.notify("grant.activated", &g, &now, call.peer.user, "");
        put_grant(reply, g);
    } else {
        d.notify("request.approval", nullptr, &now, call.peer.user, "");
    }
    put_request(reply, now, call.peer);
    return {};
}

}  // namespace

void put_request(wire::FieldWriter& w, const store::Request& r, const policy::Peer& viewer) {
    w.begin_record(wire::Tag::Request);
    w.put_u64(wire::Tag::RequestId, uint64_t(r.id));
    w.put_str(wire::Tag::User, r.user);
    w.put_str(wire::Tag::Role, r.role);
    w.put_str(wire::Tag::Reason, r.reason);
    w.put_u64(wire::Tag::Duration, uint64_t(r.duration));
    w.put_u64(wire::Tag::Start, uint64_t(r.created));
    w.put_u64(wire::Tag::Expires, uint64_t(r.expires));
    w.put_str(wire::Tag::State, store::request_state_name(r.state));
    w.put_str(wire::Tag::Approvers, r.approvers);
    w.put_u64(wire::Tag::Approvals, r.approved_by.size());
    w.put_u64(wire::Tag::Needed, uint64_t(r.needed));
    std::string decided = r.state == store::RequestState::Pending || r.state == store::RequestState::Approved
                              ? base::join(r.approved_by, ",")
                              : r.decided_by;
    w.put_str(wire::Tag::DecidedBy, decided);
    if (!r.decision_reason.empty()) w.put_str(wire::Tag::Message, r.decision_reason);
    w.put_bool(wire::Tag::Mine, r.user == viewer.user);
    w.put_bool(wire::Tag::CanDecide, r.state == store::RequestState::Pending && may_decide(r, viewer));
    if (!r.grant_id.empty()) w.put_str(wire::Tag::GrantId, r.grant_id);
    w.end_record();
}

Answer request_list(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    auto pending = d.store().pending_requests();
    if (!pending) return internal_error("request_list", pending.error());
    const int64_t now = d.clock().now();
    uint64_t total = 0;
    for (const auto& r : *pending) {
        if (r.expires <= now) continue;  // expiring this very second
        if (r.user != call.user && !may_decide(r, call.peer) && !call.peer.admin) continue;
        put_request(reply, r, call.peer);
        ++total;
    }
    auto recent = d.store().requests_of_user(call.user, now - kRecentSeconds, 100);
    if (!recent) return internal_error("request_list", recent.error());
    for (const auto& r : *recent) {
        if (r.state == store::RequestState::Pending) continue;  // listed above
        put_request(reply, r, call.peer);
        ++total;
    }
    reply.put_u64(wire::Tag::Total, total);
    return {};
}

Answer request_decide(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    store::Request r;
    if (Answer a = load_request(d, call, &r); a.status != wire::Status::Ok) return a;
    std::string_view decision;
    if (!call.fields.get_str(wire::Tag::Decision, &decision) || (decision != "approve" && decision != "deny"))
        return bad_request("decision must be \"approve\" or \"deny\"");
    const char* event = decision == "approve" ? "approve" : "deny";
    if (r.state != store::RequestState::Pending) return not_pending(r);
    if (r.user == call.peer.user) {
        Answer a{wire::Status::Forbidden, "you cannot decide your own request " + std::to_string(r.id)};
        audit_request(d, call, event, r, a, "");
        return a;
    }
    if (!may_decide(r, call.peer)) {
        Answer a{wire::Status::Forbidden, "request " + std::to_string(r.id) + " needs approval by " + r.approvers +
                                              "; " + call.peer.user + " is not one of them"};
        audit_request(d, call, event, r, a, "");
        return a;
    }
    return decision == "approve" ? approve(d, call, r, reply) : deny(d, call, r, reply);
}

Answer request_cancel(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    store::Request r;
    if (Answer a = load_request(d, call, &r); a.status != wire::Status::Ok) return a;
    if (!owns(r, call)) return {wire::Status::Forbidden, "only " + r.user + " or an administrator can cancel it"};
    Answer error;
    std::string reason;
    if (!get_text(call.fields, wire::Tag::Reason, 1024, &reason, &error)) return error;
    auto done = d.approvals().finish(r, store::RequestState::Cancelled, call.peer.user, reason);
    if (!done) return internal_error("cancel", done.error());
    if (!*done) return not_pending(r);
    audit_request(d, call, "cancel", **done, {}, "cancelled" + (reason.empty() ? "" : ": " + reason));
    d.notify("request.cancelled", nullptr, &**done, call.peer.user, reason);
    put_request(reply, **done, call.peer);
    return {};
}

Answer request_wait(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    store::Request r;
    if (Answer a = load_request(d, call, &r); a.status != wire::Status::Ok) return a;
    if (!owns(r, call)) return {wire::Status::Forbidden, "only " + r.user + " or an administrator can wait for it"};
    uint64_t wait = 0;
    if (!call.fields.get_u64(wire::Tag::Wait, &wait) || wait == 0 || wait > kMaxWaitSeconds)
        return bad_request("wait must be 1 to " + std::to_string(kMaxWaitSeconds) + " seconds");
    if (r.state == store::RequestState::Pending && !call.deadline_passed && call.parking) {
        const uint64_t ticket = call.parking->park(wire::monotonic_ms() + int64_t(wait) * 1000);
        d.approvals().wait(r.id, ticket);
        return parked();
    }
    if (!r.grant_id.empty()) {
        auto g = d.grants().find(r.grant_id);
        if (!g) return internal_error("request_wait", g.error());
        if (*g) put_grant(reply, **g);
    }
    put_request(reply, r, call.peer);
    // The approver's (or requester's) reason, where clients show a reply's message.
    return {wire::Status::Ok, r.decision_reason};
}

}  // namespace elevate::handlers
