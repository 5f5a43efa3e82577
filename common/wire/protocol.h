// The elevated wire protocol, version 1. Specified in docs/PROTOCOL.md; this
// header is the single source of the numbers. It is shared by the daemon, the
// CLI and the PAM module, so it uses no C++ runtime beyond headers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace elevate::wire {

constexpr uint8_t kMagic0 = 'E';
constexpr uint8_t kMagic1 = 'V';
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = 8;
// A request frame (header + payload) never exceeds 64 KiB.
constexpr size_t kMaxRequestFrame = 64 * 1024;
// Replies may carry lists (admin `list`), bounded by the reader.
constexpr size_t kMaxReplyFrame = 16 * 1024 * 1024;
constexpr uint8_t kReplyBit = 0x80;

enum class Op : uint8_t {
    Ping = 1,
    Enroll = 2,
    Verify = 3,
    Activate = 4,
    Status = 5,
    List = 6,
    Revoke = 7,
    Drop = 8,
    Unenroll = 9,
    // PAM module (docs/PROTOCOL.md, "PAM operations").
    Authorize = 10,  // auth: what does this user need here?
    Account = 11,    // account: does the user hold a grant for one of these roles?
    SessionOpen = 12,
    SessionClose = 13,
    BreakGlass = 14,  // record an emergency access that bypassed elevate
    // Push and approvals (docs/PROTOCOL.md, "Push" and "Approval requests").
    PushStart = 15,      // send a push; reply once the provider has it
    RequestList = 16,    // approval requests: mine, and those I may decide
    RequestDecide = 17,  // approve (with the approver's own factor) or deny
    RequestCancel = 18,  // the requester withdraws a pending request
    RequestWait = 19,    // wait (bounded) until a request is decided
    Unlock = 20,         // admin: clear a user's fraud or failure lockout
    // Conditional access and risk (docs/PROTOCOL.md, "Policy and risk").
    Explain = 21,      // the policy decision for a described request, acting on nothing
    RiskList = 22,     // admin: users and source networks with their risk
    RiskShow = 23,     // one user's risk and latest events (self or admin)
    RiskDismiss = 24,  // admin: reset a user's risk after an investigation
    RiskConfirm = 25,  // admin: mark a user compromised (high, grants revoked)
};

constexpr uint8_t kLastOp = uint8_t(Op::RiskConfirm);

bool op_known(uint8_t op);
const char* op_name(Op op);

// Every reply carries Tag::Status with one of these.
enum class Status : uint32_t {
    Ok = 0,
    Denied = 1,      // authentication or policy said no
    BadRequest = 2,  // malformed or missing field
    UnsupportedVersion = 3,
    TooLarge = 4,
    Forbidden = 5,  // caller may not do this (identity/authorization)
    NotFound = 6,
    Locked = 7,    // too many failures; Tag::LockedUntil says until when
    Conflict = 8,  // already exists (e.g. enrolled without force)
    NotEnrolled = 9,
    Internal = 10,
    Unavailable = 11,  // daemon shutting down or overloaded
};

const char* status_name(Status s);

// The two checks every client makes of a reply (the PAM module's and the
// CLI's, one rule): the frame answers the request (its op with the reply
// bit, or the reply bit alone: the server's answer to a request it could not
// read, e.g. a bad header), and the status is one of the above.
bool reply_answers(uint8_t request_op, uint8_t reply_op);
bool status_known(uint64_t status);

enum class Kind : uint8_t { Str, Bytes, U64, Bool, Record };

enum class Tag : uint16_t {
    Status = 1,
    Message = 2,
    Version = 3,
    User = 10,
    Service = 11,
    RemoteHost = 12,
    Tty = 13,
    Role = 20,
    Duration = 21,
    Reason = 22,
    Code = 23,
    Force = 24,
    GrantId = 25,
    Secret = 26,
    Algorithm = 27,
    Digits = 28,
    Period = 29,
    Uri = 30,
    Label = 31,
    LockedUntil = 32,
    Enrolled = 33,
    Grant = 40,  // Record, may repeat
    Start = 41,
    End = 42,
    State = 43,
    Factor = 44,
    Source = 45,
    EndedBy = 46,
    EndedAt = 47,
    // PAM operations.
    Granted = 50,     // bool: an active grant already covers this request
    NeedCode = 51,    // bool: prompt for a verification code
    NeedReason = 52,  // bool: prompt for a justification
    Reauth = 53,      // bool: prompt even when a grant is active
    Pid = 54,         // u64: process that opened a PAM session
    SessionId = 55,   // str: daemon-assigned session id
    Roles = 56,       // str: comma-separated role names (account)
    Total = 57,       // u64: how many records matched (list may show fewer)
    // Push and approvals.
    Challenge = 60,  // str: push challenge id (instead of Code in verify/activate)
    PushOk = 61,     // bool (authorize): a push may be used instead of a code
    Timeout = 62,    // u64: seconds a push or wait may take
    RequestId = 63,  // u64: approval request number
    Approvers = 64,  // str: who may approve, for people ("group:sec-leads")
    Request = 65,    // Record, may repeat (request list)
    Approvals = 66,  // u64: approvals given so far
    Needed = 67,     // u64: approvals needed
    Decision = 68,   // str: "approve" or "deny"
    Wait = 69,       // u64: seconds to wait for a decision
    Expires = 70,    // u64: when a request or challenge lapses (epoch s)
    Mine = 71,       // bool (request record): the caller made this request
    CanDecide = 72,  // bool (request record): the caller may approve it
    DecidedBy = 73,  // str: approvers so far, or who denied/cancelled
    // Policy (explain).
    At = 80,         // u64: the time a request is explained for (epoch s)
    HasTty = 81,     // bool: the explained request has a terminal
    Outcome = 82,    // str: "allow", "factor", "approval", "deny"
    RuleTrace = 83,  // Record, may repeat: one rule considered
    RuleName = 84,   // str
    Matched = 85,    // bool: the rule's conditions held
    Why = 86,        // str: why it matched or not / what it did
    Mode = 87,       // str: "enforce" or "report-only"
    Effect = 88,     // str: what the rule does ("deny: ...", "require factor push")
    // Risk.
    RiskLevel = 90,  // str: "none", "low", "medium", "high"
    RiskScore = 91,  // u64: points, after decay
    RiskEntry = 92,  // Record, may repeat: a user's or a network's risk
    RiskEvent = 93,  // Record, may repeat: one detection
    EventType = 94,  // str: "wrong-code", "spray", ...
    Evidence = 95,   // str
    Weight = 96,     // u64
    Network = 97,    // str: a source network ("10.1.2.0/24")
    Time = 98,       // u64: when (epoch s)
};

struct TagInfo {
    Kind kind;
    bool repeats;
};

// Returns false for an unknown tag.
bool tag_info(uint16_t tag, TagInfo* info);

}  // namespace elevate::wire
