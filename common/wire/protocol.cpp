#include "common/wire/protocol.h"

namespace elevate::wire {

bool op_known(uint8_t op) {
    return op >= uint8_t(Op::Ping) && op <= kLastOp;
}

bool reply_answers(uint8_t request_op, uint8_t reply_op) {
    return reply_op == (request_op | kReplyBit) || reply_op == kReplyBit;
}

bool status_known(uint64_t status) {
    return status <= uint64_t(Status::Unavailable);
}

const char* op_name(Op op) {
    switch (op) {
        case Op::Ping:
            return "ping";
        case Op::Enroll:
            return "enroll";
        case Op::Verify:
            return "verify";
        case Op::Activate:
            return "activate";
        case Op::Status:
            return "status";
        case Op::List:
            return "list";
        case Op::Revoke:
            return "revoke";
        case Op::Drop:
            return "drop";
        case Op::Unenroll:
            return "unenroll";
        case Op::Authorize:
            return "authorize";
        case Op::Account:
            return "account";
        case Op::SessionOpen:
            return "session-open";
        case Op::SessionClose:
            return "session-close";
        case Op::BreakGlass:
            return "break-glass";
        case Op::PushStart:
            return "push-start";
        case Op::RequestList:
            return "request-list";
        case Op::RequestDecide:
            return "request-decide";
        case Op::RequestCancel:
            return "request-cancel";
        case Op::RequestWait:
            return "request-wait";
        case Op::Unlock:
            return "unlock";
        case Op::Explain:
            return "explain";
        case Op::RiskList:
            return "risk-list";
        case Op::RiskShow:
            return "risk-show";
        case Op::RiskDismiss:
            return "risk-dismiss";
        case Op::RiskConfirm:
            return "risk-confirm";
    }
    return "unknown";
}

const char* status_name(Status s) {
    switch (s) {
        case Status::Ok:
            return "ok";
        case Status::Denied:
            return "denied";
        case Status::BadRequest:
            return "bad request";
        case Status::UnsupportedVersion:
            return "unsupported protocol version";
        case Status::TooLarge:
            return "request too large";
        case Status::Forbidden:
            return "forbidden";
        case Status::NotFound:
            return "not found";
        case Status::Locked:
            return "locked";
        case Status::Conflict:
            return "conflict";
        case Status::NotEnrolled:
            return "not enrolled";
        case Status::Internal:
            return "internal error";
        case Status::Unavailable:
            return "unavailable";
    }
    return "unknown status";
}

bool tag_info(uint16_t tag, TagInfo* info) {
    switch (Tag(tag)) {
        case Tag::Status:
        case Tag::Duration:
        case Tag::Digits:
        case Tag::Period:
        case Tag::LockedUntil:
        case Tag::Start:
        case Tag::End:
        case Tag::EndedAt:
        case Tag::Pid:
        case Tag::Total:
        case Tag::Timeout:
        case Tag::RequestId:
        case Tag::Approvals:
        case Tag::Needed:
        case Tag::Wait:
        case Tag::Expires:
        case Tag::At:
        case Tag::RiskScore:
        case Tag::Weight:
        case Tag::Time:
            *info = {Kind::U64, false};
            return true;
        case Tag::Force:
        case Tag::Enrolled:
        case Tag::Granted:
        case Tag::NeedCode:
        case Tag::NeedReason:
        case Tag::Reauth:
        case Tag::PushOk:
        case Tag::Mine:
        case Tag::CanDecide:
        case Tag::HasTty:
        case Tag::Matched:
            *info = {Kind::Bool, false};
            return true;
        case Tag::Secret:
            *info = {Kind::Bytes, false};
            return true;
        case Tag::Grant:
        case Tag::Request:
        case Tag::RuleTrace:
        case Tag::RiskEntry:
        case Tag::RiskEvent:
            *info = {Kind::Record, true};
            return true;
        case Tag::Message:
        case Tag::Version:
        case Tag::User:
        case Tag::Service:
        case Tag::RemoteHost:
        case Tag::Tty:
        case Tag::Role:
        case Tag::Reason:
        case Tag::Code:
        case Tag::GrantId:
        case Tag::Algorithm:
        case Tag::Uri:
        case Tag::Label:
        case Tag::State:
        case Tag::Factor:
        case Tag::Source:
        case Tag::EndedBy:
        case Tag::SessionId:
        case Tag::Roles:
        case Tag::Challenge:
        case Tag::Approvers:
        case Tag::Decision:
        case Tag::DecidedBy:
        case Tag::Outcome:
        case Tag::RuleName:
        case Tag::Why:
        case Tag::Mode:
        case Tag::Effect:
        case Tag::RiskLevel:
        case Tag::EventType:
        case Tag::Evidence:
        case Tag::Network:
            *info = {Kind::Str, false};
            return true;
    }
    return false;
}

}  // namespace elevate::wire
