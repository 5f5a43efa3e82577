// `elevatectl deny ID --reason TEXT`: refuses someone's request.
#include "cli/output.h"
#include "cli/request.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "deny";

int run(const Context& ctx, const ParsedArgs& args) {
    auto id = parse_request_id(args.positionals()[0]);
    if (!id) return report_usage(ctx, kVerb, id.error().message);

    wire::BufferWriter request;
    request->put_u64(wire::Tag::RequestId, *id);
    request->put_str(wire::Tag::Decision, "deny");
    request->put_str(wire::Tag::Reason, *args.value("reason"));
    put_client_context(request.fields());
    int exit_code = kExitOk;
    auto r = call_for_request(ctx, wire::Op::RequestDecide, request.take(), &exit_code);
    if (!r || ctx.json) return exit_code;
    std::cout << "Denied request " << r->id << " (" << printable(r->user) << ", " << printable(r->role) << ")\n";
    return kExitOk;
}

}  // namespace

const Verb& deny_verb() {
    static const Verb verb{
        kVerb,
        "deny someone's request",
        "Usage: elevatectl deny ID --reason TEXT\n"
        "\n"
        "Denies approval request ID (see `elevatectl requests`) as one of its\n"
        "approvers. One denial ends the request. No second factor is needed:\n"
        "saying no grants nothing.\n"
        "\n"
        "  --reason TEXT   why (required): the requester and the audit trail see it\n",
        ArgSpec{{{"help", 'h', ValueKind::None}, {.name = "reason", .kind = ValueKind::Text, .required = true}},
                {"ID"},
                1,
                false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
