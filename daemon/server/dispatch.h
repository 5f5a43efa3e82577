// The dispatch table: every operation a client may request, who may send
// it, and the handler. Identity comes from the socket (Peer), never from the
// message; the table enforces "self or admin" before any handler runs.
#pragma once

#include "common/wire/client.h"
#include "common/wire/codec.h"
#include "common/wire/protocol.h"
#include "daemon/policy/identity.h"
#include "daemon/policy/source.h"

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

// A request that cannot be answered yet (a push on its way to a phone, a
// wait for approval) is parked: its connection stays open without a reply,
// and the same request is dispatched again when the daemon calls
// resume(ticket), or once its deadline has passed. The handler then finds
// its answer ready, keyed by the ticket.
class Parking {
public:
    virtual ~Parking() = default;
    // Parks the current request until `deadline_ms` (CLOCK_MONOTONIC) at the
    // latest; returns its ticket (never 0).
    virtual uint64_t park(int64_t deadline_ms) = 0;
};

struct Call {
    const policy::Peer& peer;
    std::string user;  // the user the request is about (resolved by dispatch)
    const wire::FieldList& fields;
    Parking* parking = nullptr;    // null: this request cannot be parked
    uint64_t ticket = 0;           // non-zero: this request was parked before
    bool deadline_passed = false;  // resumed because its deadline passed: answer now
    // Where the request comes from, resolved on first use (handlers::
    // request_source): most requests (an active grant at sudo) never need it.
    mutable std::optional<policy::Source> source;
};

// What a handler produces: a status, a message for non-ok, and fields.
struct Answer {
    wire::Status status = wire::Status::Ok;
    std::string message;
    bool parked = false;  // no reply now: the request was parked (Call::parking)
    uint64_t ticket = 0;  // parked: its ticket
    // Set when the state's storage refused (store::failure_reason): dispatch
    // then says what the request could not do and why, in one line.
    const char* storage = nullptr;
};

// The answer of a handler that parked its request.
inline Answer parked(uint64_t ticket = 0) {
    return Answer{wire::Status::Ok, {}, true, ticket};
}

using Handler = Answer (*)(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply);

struct OpSpec {
    wire::Op op;
    Access access;
    Handler handler;
    // What the request needs from the store, for "elevate cannot <this>:
    // the state disk is full".
    const char* needs;
};

// How a request arrives at dispatch: first time, or resumed after parking.
struct Delivery {
    Parking* parking = nullptr;
    uint64_t ticket = 0;
    bool deadline_passed = false;
};

// Decodes nothing itself: `fields` is already validated by the codec.
// Writes the whole reply payload (status, message, fields) into `reply` and
// returns true; returns false (and writes nothing) when the handler parked
// the request.
bool dispatch(daemon::Daemon& d, const policy::Peer& peer, uint8_t op, const wire::FieldList& fields,
              wire::BufferWriter& reply, const Delivery& delivery = {});

// Reply payload for a request that never reached a handler.
void error_reply(wire::BufferWriter& reply, wire::Status status, const std::string& message);

}  // namespace elevate::server
