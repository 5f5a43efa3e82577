#include "daemon/server/dispatch.h"

#include "common/base/names.h"

#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"

namespace elevate::server {

namespace {

constexpr OpSpec kOps[] = {
    {wire::Op::Ping, Access::Anyone, handlers::ping, "answer"},
    // replace/import: admin, checked in the handler
    {wire::Op::Enroll, Access::Self, handlers::enroll, "record this enrollment"},
    {wire::Op::Verify, Access::Self, handlers::verify, "record this verification"},
    {wire::Op::Activate, Access::Self, handlers::activate, "record this activation"},
    {wire::Op::Status, Access::Self, handlers::status, "read the status"},
    {wire::Op::List, Access::Admin, handlers::list, "read the grants"},
    {wire::Op::Revoke, Access::Admin, handlers::revoke, "record this revocation"},
    {wire::Op::Drop, Access::Self, handlers::drop, "record this drop"},
    {wire::Op::Unenroll, Access::Admin, handlers::unenroll, "record this unenrollment"},
    {wire::Op::Authorize, Access::Self, handlers::authorize, "record this authorization"},
    {wire::Op::Account, Access::Self, handlers::account, "check this account"},
    {wire::Op::SessionOpen, Access::Self, handlers::session_open, "record this session"},
    {wire::Op::SessionClose, Access::Self, handlers::session_close, "record the end of this session"},
    {wire::Op::BreakGlass, Access::Admin, handlers::break_glass, "record this break-glass access"},
    {wire::Op::PushStart, Access::Self, handlers::push_start, "start this push"},
    {wire::Op::RequestList, Access::Self, handlers::request_list, "read the requests"},
    // approvers: checked in the handler
    {wire::Op::RequestDecide, Access::Self, handlers::request_decide, "record this decision"},
    {wire::Op::RequestCancel, Access::Self, handlers::request_cancel, "record this cancellation"},
    {wire::Op::RequestWait, Access::Self, handlers::request_wait, "read this request"},
    {wire::Op::Unlock, Access::Admin, handlers::unlock, "record this unlock"},
    // admins for anyone, users for themselves
    {wire::Op::Explain, Access::Self, handlers::explain, "explain this request"},
    {wire::Op::RiskList, Access::Admin, handlers::risk_list, "read the risk"},
    {wire::Op::RiskShow, Access::Self, handlers::risk_show, "read the risk"},
    {wire::Op::RiskDismiss, Access::Admin, handlers::risk_dismiss, "record this dismissal"},
    {wire::Op::RiskConfirm, Access::Admin, handlers::risk_confirm, "record this confirmation"},
};

const OpSpec* find_op(uint8_t op) {
    for (const auto& spec : kOps)
        if (uint8_t(spec.op) == op) return &spec;
    return nullptr;
}

void write_answer(wire::BufferWriter& reply, const Answer& a) {
    reply->put_u64(wire::Tag::Status, uint64_t(a.status));
    if (!a.message.empty()) reply->put_str(wire::Tag::Message, a.message);
}

// Decides whom the request is about. Only an admin may name another user.
bool resolve_user(daemon::Daemon& d, const OpSpec& spec, const policy::Peer& peer, const wire::FieldList& fields,
                  std::string* user, Answer* denial) {
    std::string_view named;
    const bool has_user = fields.get_str(wire::Tag::User, &named);
    // The length of common/base/names.h; a name with characters no account
    // can have is answered "no such user", its text escaped.
    if (has_user && (named.empty() || named.size() > ELEVATE_MAX_ACCOUNT_NAME)) {
        *denial =
            handlers::bad_request("user name must be 1 to " + std::to_string(ELEVATE_MAX_ACCOUNT_NAME) + " bytes");
        return false;
    }
    *user = has_user ? std::string(named) : peer.user;
    if (spec.access == Access::Admin && !peer.admin) {
        *denial = {wire::Status::Forbidden, std::string("'") + wire::op_name(spec.op) +
                                                "' requires root or membership in group " +
                                                d.config().daemon.admin_group};
        return false;
    }
    if (spec.access == Access::Self && *user != peer.user && !peer.admin) {
        *denial = {wire::Status::Forbidden, "only an administrator can act for another user"};
        return false;
    }
    return true;
}

}  // namespace

void error_reply(wire::BufferWriter& reply, wire::Status status, const std::string& message) {
    write_answer(reply, Answer{status, message});
}

bool dispatch(daemon::Daemon& d, const policy::Peer& peer, uint8_t op, const wire::FieldList& fields,
              wire::BufferWriter& reply, const Delivery& delivery) {
    const OpSpec* spec = find_op(op);
    if (spec == nullptr) {
        error_reply(reply, wire::Status::BadRequest, "unknown operation " + std::to_string(op));
        return true;
    }
    std::string user;
    Answer denial;
    if (!resolve_user(d, *spec, peer, fields, &user, &denial)) {
        if (denial.status == wire::Status::Forbidden) {
            d.audit().record({d.clock().now(), wire::op_name(spec->op), peer.user, user, "", "", "socket", "denied",
                              denial.message});
        }
        write_answer(reply, denial);
        return true;
    }
    Call call{peer, std::move(user), fields, delivery.parking, delivery.ticket, delivery.deadline_passed};
    // Handlers write their fields first; status and message go last so a
    // handler can still add fields (e.g. locked_until) to a denial.
    Answer a = spec->handler(d, call, reply.fields());
    if (a.parked) return false;
    if (a.storage != nullptr) a.message = std::string("elevate cannot ") + spec->needs + ": " + a.storage;
    write_answer(reply, a);
    return true;
}

}  // namespace elevate::server
