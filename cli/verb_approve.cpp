// `elevatectl approve ID [--push]`: approves someone's request with your own
// second factor; the grant starts once enough approvers have.
#include "cli/factor.h"
#include "cli/output.h"
#include "cli/request_text.h"
#include "cli/request_wait.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "approve";

int run(const Context& ctx, const ParsedArgs& args) {
    auto id = parse_request_id(args.positionals()[0]);
    if (!id) return report_usage(ctx, kVerb, id.error().message);

    int exit_code = kExitOk;
    // An approver's push names no role: it confirms it is them, not what
    // they approve (the request says that).
    auto factor = obtain_factor(ctx, {args.has("push"), std::nullopt, {}, {}}, &exit_code);
    if (!factor) return exit_code;

    wire::BufferWriter request;
    request->put_u64(wire::Tag::RequestId, *id);
    request->put_str(wire::Tag::Decision, "approve");
    put_factor(request.fields(), *factor);
    put_client_context(request.fields());
    auto reply = call_daemon(context_for(ctx, *factor), wire::Op::RequestDecide, request.take(), &exit_code);
    if (!reply) return exit_code;
    auto outcome = outcome_from(ctx, *reply, &exit_code);
    if (!outcome) return exit_code;

    if (ctx.json) {
        nlohmann::json j = {{"request", request_to_json(outcome->request)}};
        if (outcome->grant) j["grant"] = grant_to_json(*outcome->grant);
        print_json(std::cout, j);
        return kExitOk;
    }
    std::cout << approve_line(outcome->request, outcome->grant ? &*outcome->grant : nullptr, now_seconds()) << '\n';
    return kExitOk;
}

}  // namespace

const Verb& approve_verb() {
    static const Verb verb{
        kVerb,
        "approve someone's request, with your second factor",
        "Usage: elevatectl approve ID [--push]\n"
        "\n"
        "Approves approval request ID (see `elevatectl requests`) as one of its\n"
        "approvers. You prove it is you with your own verification code, read from\n"
        "the terminal without echo, or as one line from standard input when that is\n"
        "not a terminal. You cannot approve your own request. The grant starts when\n"
        "the request has as many approvals as its role needs.\n"
        "\n"
        "  --push   approve a push on your phone instead of typing a code\n",
        ArgSpec{{{"help", 'h', ValueKind::None}, {"push", 0, ValueKind::None}}, {"ID"}, 1, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
