#include "cli/request_wait.h"

#include "cli/output.h"
#include "cli/request_text.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace elevate::cli {

namespace {

using Clock = std::chrono::steady_clock;

nlohmann::json outcome_json(const RequestOutcome& o) {
    nlohmann::json j = {{"request", request_to_json(o.request)}};
    if (o.grant) j["grant"] = grant_to_json(*o.grant);
    return j;
}

}  // namespace

std::optional<RequestOutcome> outcome_from(const Context& ctx, const wire::Reply& reply, int* exit_code) {
    auto request = decode_one_request(reply.fields);
    if (!request) {
        *exit_code = report_error(ctx, kExitUnreachable, "unreachable", request.error().message);
        return std::nullopt;
    }
    RequestOutcome outcome{std::move(request).value(), std::nullopt};
    if (reply.fields.has(wire::Tag::Grant)) {
        outcome.grant = grant_from(ctx, reply, exit_code);
        if (!outcome.grant) return std::nullopt;
    }
    *exit_code = kExitOk;
    return outcome;
}

std::optional<RequestOutcome> wait_for_decision(const Context& ctx, uint64_t id, int64_t seconds, int* exit_code) {
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    for (;;) {
        const auto started = Clock::now();
        const auto left = std::chrono::ceil<std::chrono::seconds>(deadline - started).count();
        const int64_t wait = std::clamp<int64_t>(left, 1, kMaxWaitPerCall);

        wire::BufferWriter request;
        request->put_u64(wire::Tag::RequestId, id);
        request->put_u64(wire::Tag::Wait, static_cast<uint64_t>(wait));
        auto reply = call_daemon(with_extra_time(ctx, wait), wire::Op::RequestWait, request.take(), exit_code);
        if (!reply) return std::nullopt;
        auto outcome = outcome_from(ctx, *reply, exit_code);
        if (!outcome || !outcome->request.pending() || Clock::now() >= deadline) return outcome;
        // The daemon answers a pending request only after `wait`; one that
        // answers at once must not turn this into a busy loop.
        if (Clock::now() - started < std::chrono::seconds(1)) sleep(1);
    }
}

int report_outcome(const Context& ctx, const RequestOutcome& o) {
    const Request& r = o.request;
    const bool approved = r.state == "approved";
    if (r.pending() || approved) {
        if (ctx.json)
            print_json(std::cout, outcome_json(o));
        else
            std::cout << (approved ? approved_line(r, o.grant ? &*o.grant : nullptr, now_seconds()) : pending_line(r))
                      << '\n';
        return approved ? kExitOk : kExitPending;
    }
    const nlohmann::json extra = {{"request", request_to_json(r)}};
    if (r.state == "denied" || r.state == "cancelled" || r.state == "expired")
        return report_error(ctx, kExitDenied, r.state, closed_message(r), extra);
    // A newer daemon's state: say what it is, and do not claim success.
    return report_error(ctx, kExitDaemonError, "internal", closed_message(r), extra);
}

}  // namespace elevate::cli
