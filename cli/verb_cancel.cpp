// `elevatectl cancel ID [--reason TEXT]`: withdraws your pending request.
#include "cli/output.h"
#include "cli/request.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "cancel";

int run(const Context& ctx, const ParsedArgs& args) {
    auto id = parse_request_id(args.positionals()[0]);
    if (!id) return report_usage(ctx, kVerb, id.error().message);

    wire::BufferWriter request;
    request->put_u64(wire::Tag::RequestId, *id);
    if (auto reason = args.value("reason")) request->put_str(wire::Tag::Reason, *reason);
    int exit_code = kExitOk;
    auto r = call_for_request(ctx, wire::Op::RequestCancel, request.take(), &exit_code);
    if (!r || ctx.json) return exit_code;
    std::cout << "Cancelled request " << r->id << " for " << printable(r->role) << '\n';
    return kExitOk;
}

}  // namespace

const Verb& cancel_verb() {
    static const Verb verb{
        kVerb,
        "withdraw your pending request",
        "Usage: elevatectl cancel ID [--reason TEXT]\n"
        "\n"
        "Withdraws approval request ID while it is pending. Admins may cancel\n"
        "anyone's request.\n"
        "\n"
        "  --reason TEXT   why, recorded in the audit trail\n",
        ArgSpec{{{"help", 'h', ValueKind::None}, {"reason", 0, ValueKind::Text}}, {"ID"}, 1, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
