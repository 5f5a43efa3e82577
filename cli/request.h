// An approval request as the daemon reports it (docs/PROTOCOL.md, "Approval
// requests", `request` record), its JSON form, the request id that verbs
// take on the command line, and the call of verbs whose reply is one request.
// Decoding checks that the fields every view relies on are there, so a
// malformed reply is an error, not a misleading line.
#pragma once

#include "cli/reply.h"
#include "common/base/result.h"
#include "common/wire/codec.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::cli {

struct Request {
    uint64_t id = 0;
    std::string user;  // who asked
    std::string role;
    std::string reason;
    int64_t duration = 0;   // seconds the grant will last; 0 when not said
    int64_t start = 0;      // when it was made
    int64_t expires = 0;    // when a pending request lapses
    std::string state;      // "pending", "approved", "denied", "cancelled", "expired"
    std::string approvers;  // who may approve, for people ("group:sec-leads")
    uint64_t approvals = 0;
    uint64_t needed = 0;
    std::string decided_by;   // approvers so far, or who denied or cancelled
    bool mine = false;        // the caller made it
    bool can_decide = false;  // the caller may approve or deny it
    std::string grant_id;     // once approved

    bool pending() const { return state == "pending"; }
};

// One `request` record (a Field of Tag::Request from a validated FieldList).
base::Result<Request> decode_request(const wire::Field& record);
// Every `request` record in a reply, in order.
base::Result<std::vector<Request>> decode_requests(const wire::FieldList& reply);
// The single `request` a reply must carry (decide, cancel, wait).
base::Result<Request> decode_one_request(const wire::FieldList& reply);

// A request id as typed: a positive whole number ("7"). The error is a
// usage message naming the text.
base::Result<uint64_t> parse_request_id(std::string_view text);

// {"id","user","role","reason","duration","start","expires","state",
// "approvers","approvals","needed","decided_by","mine","can_decide"} plus
// "grant_id" once approved. Times are seconds since the epoch.
nlohmann::json request_to_json(const Request& request);
nlohmann::json requests_to_json(const std::vector<Request>& requests);

// For verbs whose Ok reply carries one request (cancel, deny): sends the
// request and returns the request record, already printed as
// {"request": ...} when --json is on, so a caller does
// `if (!r || ctx.json) return exit_code;`. A malformed record is reported
// like a transport failure. *exit_code is kExitOk on success.
std::optional<Request> call_for_request(const Context& ctx, wire::Op op, std::vector<uint8_t> request, int* exit_code);

}  // namespace elevate::cli
