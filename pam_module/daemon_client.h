// One request to elevated, one reply, one connection, all inside one
// monotonic deadline (docs/PROTOCOL.md). Built on the freestanding wire
// codec and transport: fixed buffers and malloc only, no C++ runtime, so it
// can live inside sshd and sudo. The server must be uid 0 (SO_PEERCRED).
#pragma once

#include "common/wire/codec.h"
#include "common/wire/protocol.h"

#include <stddef.h>
#include <stdint.h>

namespace elevate::pam {

// PAM requests are a handful of short strings; replies carry at most one
// grant record, one approval request record and a message. Anything larger
// is a malformed reply.
constexpr size_t kMaxRequestPayload = 4096;
constexpr size_t kMaxReplyFrame = 64 * 1024;
constexpr size_t kMaxMessage = 512;

// A request payload in a fixed buffer, wiped on destruction because it may
// hold a verification code.
class Request {
public:
    Request() : writer_(bytes_, sizeof bytes_) {}
    ~Request();
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    wire::FieldWriter& fields() { return writer_; }
    const wire::FieldWriter& fields() const { return writer_; }

private:
    uint8_t bytes_[kMaxRequestPayload];
    wire::FieldWriter writer_;
};

// A validated reply. Owns its payload; `fields()` is a view into it.
class Reply {
public:
    Reply() = default;
    ~Reply();
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;

    wire::Status status() const { return status_; }
    // The daemon's message for the user, NUL-terminated, control characters
    // replaced; "" when the reply has none.
    const char* message() const { return message_; }
    const wire::FieldList& fields() const { return fields_; }
    bool flag(wire::Tag tag) const;  // a bool field, false when absent
    // True once a well-formed reply arrived (call() returned true): a
    // status from the daemon, not a lost or garbled exchange.
    bool valid() const { return valid_; }

    // Internal: filled by call().
    bool adopt(uint8_t* payload, size_t length);

private:
    uint8_t* payload_ = nullptr;
    size_t length_ = 0;
    wire::Status status_ = wire::Status::Internal;
    wire::FieldList fields_;
    bool valid_ = false;
    char message_[kMaxMessage] = {0};
};

enum class CallFailure {
    Unreachable,    // connect, send, receive or timeout: the daemon is not answering
    NotRootServer,  // the socket is served by someone other than root: never trusted
    Malformed,      // the bytes that came back are not a valid reply to this request
};

struct CallError {
    CallFailure kind = CallFailure::Unreachable;
    char text[384] = {0};  // "connect to /run/elevate/elevated.sock: No such file or directory"
};

// Sends `request` as `op` and reads the reply, all before `deadline_ms`
// (wire::monotonic_ms() clock). On false, `error` says why.
bool call(const char* socket_path, int64_t deadline_ms, wire::Op op, const Request& request, Reply* reply,
          CallError* error);

// Copies string field `tag` of `fields` into `out` (NUL-terminated). False
// when absent or when it does not fit.
bool copy_str(const wire::FieldList& fields, wire::Tag tag, char* out, size_t size);

// Copies string field `tag` for the user's terminal: control characters
// replaced by '?', cut at a character boundary to fit `size` (at least 1).
// False, with "" in `out`, when absent.
bool copy_display(const wire::FieldList& fields, wire::Tag tag, char* out, size_t size);

}  // namespace elevate::pam
