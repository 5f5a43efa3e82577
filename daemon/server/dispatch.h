// The dispatch table: every operation a client may request, who may send
// it, and the handler. Identity comes from the socket (Peer), never from the
// message; the table enforces "self or admin" before any handler runs.
#pragma once

#include "common/wire/client.h"
#include "common/wire/codec.h"
#include "common/wire/protocol.h"
#include "daemon/policy/identity.h"

#include <string>

namespace elevate::daemon {
class Daemon;
}

namespace elevate::server {

enum class Access {
    Anyone,  // no user involved (ping)
    Self,    // acts on the caller, or on Tag::User if the caller is admin
    Admin,   // uid 0 or the admin group only
};

struct Call {
    const policy::Peer& peer;
    std::string user;  // the user the request is about (resolved by dispatch)
    const wire::FieldList& fields;
};

// What a handler produces: a status, a message for non-ok, and fields.
struct Answer {
    wire::Status status = wire::Status::Ok;
    std::string message;
};

using Handler = Answer (*)(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);

struct OpSpec {
    wire::Op op;
    Access access;
    Handler handler;
};

// Decodes nothing itself: `fields` is already validated by the codec.
// Writes the whole reply payload (status, message, fields) into `reply`.
void dispatch(daemon::Daemon& d, const policy::Peer& peer, uint8_t op, const wire::FieldList& fields,
              wire::BufferWriter& reply);

// Reply payload for a request that never reached a handler.
void error_reply(wire::BufferWriter& reply, wire::Status status, const std::string& message);

}  // namespace elevate::server
