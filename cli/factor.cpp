#include "cli/factor.h"

#include "cli/output.h"
#include "cli/prompt.h"

#include <algorithm>
#include <iostream>

namespace elevate::cli {

namespace {

std::optional<Factor> start_push(const Context& ctx, const FactorChoice& choice, int* exit_code) {
    wire::BufferWriter request;
    if (!choice.role.empty()) request->put_str(wire::Tag::Role, choice.role);
    if (!choice.reason.empty()) request->put_str(wire::Tag::Reason, choice.reason);
    put_client_context(request.fields());
    auto reply = call_daemon(ctx, wire::Op::PushStart, request.take(), exit_code);
    if (!reply) return std::nullopt;

    Factor factor;
    std::string_view challenge;
    uint64_t timeout = 0;
    if (!reply->fields.get_str(wire::Tag::Challenge, &challenge) || challenge.empty() ||
        !reply->fields.get_u64(wire::Tag::Timeout, &timeout) || timeout == 0) {
        *exit_code = report_error(ctx, kExitUnreachable, "unreachable",
                                  "malformed reply from elevated: push_start without challenge or timeout");
        return std::nullopt;
    }
    factor.challenge.assign(challenge);
    // with_extra_time() bounds it again; this keeps the message honest.
    factor.push_timeout = static_cast<int64_t>(std::min<uint64_t>(timeout, 3600));
    std::string_view label;
    if (!reply->fields.get_str(wire::Tag::Label, &label) || label.empty()) label = "your device";
    if (!ctx.json)
        std::cerr << "Push sent to " << printable(label) << ", waiting up to " << factor.push_timeout << " s..."
                  << std::endl;
    return factor;
}

}  // namespace

std::optional<Factor> obtain_factor(const Context& ctx, const FactorChoice& choice, int* exit_code) {
    *exit_code = kExitOk;
    if (choice.push) return start_push(ctx, choice, exit_code);
    Factor factor;
    if (choice.code) {
        factor.code = base::SecureBuffer(*choice.code);
        return factor;
    }
    auto typed = read_secret("Verification code: ");
    if (!typed) {
        *exit_code = report_error(ctx, kExitUsage, "usage", typed.error().message);
        return std::nullopt;
    }
    factor.code = std::move(typed).value();
    return factor;
}

void put_factor(wire::FieldWriter& request, Factor& factor) {
    if (!factor.challenge.empty())
        request.put_str(wire::Tag::Challenge, factor.challenge);
    else
        request.put_str(wire::Tag::Code, factor.code.view());
    factor.code.wipe();
}

Context context_for(const Context& ctx, const Factor& factor) {
    return factor.challenge.empty() ? ctx : with_extra_time(ctx, factor.push_timeout);
}

}  // namespace elevate::cli
