// Following an approval request to its end: waiting for the approvers
// (request_wait, bounded per call) and reporting where the request stands
// with the exit status that says so. Shared by `activate --wait` and `wait`.
#pragma once

#include "cli/grant.h"
#include "cli/reply.h"
#include "cli/request.h"

#include <cstdint>
#include <optional>

namespace elevate::cli {

// `--wait` alone and `wait ID` without --timeout wait this long.
inline constexpr int64_t kDefaultWaitSeconds = 300;
// The daemon takes `wait` of 1..600 s per call (docs/PROTOCOL.md); longer
// waits are several calls.
inline constexpr int64_t kMaxWaitPerCall = 600;

// A request and, once approved, the grant it produced (when the reply has it).
struct RequestOutcome {
    Request request;
    std::optional<Grant> grant;
};

// The `request` and optional `grant` of an Ok reply; a malformed record is
// reported like a transport failure and gives nullopt.
std::optional<RequestOutcome> outcome_from(const Context& ctx, const wire::Reply& reply, int* exit_code);

// Calls request_wait until request `id` is no longer pending or `seconds`
// have passed; returns where it stands then. Each call's deadline is its
// wait plus the usual one.
std::optional<RequestOutcome> wait_for_decision(const Context& ctx, uint64_t id, int64_t seconds, int* exit_code);

// Prints where the request stands and returns the exit status: approved 0
// (with the grant), still pending kExitPending, denied / cancelled / expired
// kExitDenied (as an error naming who decided), a state this client does not
// know kExitDaemonError.
int report_outcome(const Context& ctx, const RequestOutcome& outcome);

}  // namespace elevate::cli
