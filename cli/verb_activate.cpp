// `elevatectl activate ROLE [--for DURATION] [--reason TEXT] [--code CODE |
// --push] [--wait[=SECONDS]]`: proves the second factor and asks for a
// grant, or, for a role that needs approval, files a request and optionally
// waits for the approvers.
#include "cli/factor.h"
#include "cli/output.h"
#include "cli/request_text.h"
#include "cli/request_wait.h"
#include "cli/verbs.h"

#include "common/base/parse.h"

#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "activate";
// Activation may wait on a slow provider or a busy daemon; allow longer than
// the default unless --timeout says otherwise.
constexpr int kActivateTimeoutMs = 30 * 1000;

int print_grant(const Context& ctx, const wire::Reply& reply) {
    int exit_code = kExitOk;
    auto grant = grant_from(ctx, reply, &exit_code);
    if (!grant) return exit_code;
    if (ctx.json) {
        print_json(std::cout, {{"grant", grant_to_json(*grant)}});
        return kExitOk;
    }
    std::cout << "Granted " << printable(grant->role) << " until " << format_until(grant->end, now_seconds()) << " ("
              << base::format_duration(grant->end - grant->start) << "), grant " << short_id(grant->id) << '\n';
    return kExitOk;
}

// The role needs approval: the daemon filed request N. Report it, or with
// --wait follow it until the approvers decide.
int follow_request(const Context& ctx, const ParsedArgs& args, const wire::Reply& reply) {
    int exit_code = kExitOk;
    auto outcome = outcome_from(ctx, reply, &exit_code);
    if (!outcome) return exit_code;
    if (outcome->request.pending() && args.has("wait")) {
        const int64_t seconds = args.number("wait").value_or(kDefaultWaitSeconds);
        if (!ctx.json) std::cerr << waiting_line(outcome->request, seconds) << std::endl;
        outcome = wait_for_decision(ctx, outcome->request.id, seconds, &exit_code);
        if (!outcome) return exit_code;
    }
    return report_outcome(ctx, *outcome);
}

int run(const Context& base_ctx, const ParsedArgs& args) {
    Context ctx = base_ctx;
    if (!ctx.timeout_given) ctx.client.timeout_ms = kActivateTimeoutMs;
    const std::string& role = args.positionals()[0];
    const std::string reason = args.value("reason").value_or("");
    if (args.has("push") && args.has("code")) return report_usage(ctx, kVerb, "choose one of --code and --push");

    int exit_code = kExitOk;
    auto factor = obtain_factor(ctx, {args.has("push"), args.value("code"), role, reason}, &exit_code);
    if (!factor) return exit_code;

    wire::BufferWriter request;
    request->put_str(wire::Tag::Role, role);
    if (auto seconds = args.number("for")) request->put_u64(wire::Tag::Duration, static_cast<uint64_t>(*seconds));
    if (!reason.empty()) request->put_str(wire::Tag::Reason, reason);
    put_factor(request.fields(), *factor);
    put_client_context(request.fields());
    auto reply = exchange(context_for(ctx, *factor), wire::Op::Activate, request.take(), &exit_code);
    if (!reply) return exit_code;

    const bool names_request = reply->fields.has(wire::Tag::Request);
    if (reply->status == wire::Status::Conflict && names_request) {
        // Already waiting for approval: say which request, not just "conflict".
        if (auto pending = decode_one_request(reply->fields))
            return report_error(ctx, kExitConflict, "conflict", pending_line(*pending),
                                {{"request", request_to_json(*pending)}});
    }
    if (reply->status != wire::Status::Ok) return report_reply(ctx, *reply);
    if (names_request) return follow_request(ctx, args, *reply);
    return print_grant(ctx, *reply);
}

}  // namespace

const Verb& activate_verb() {
    static const Verb verb{
        kVerb,
        "activate a role for a while, with your second factor",
        "Usage: elevatectl activate ROLE [--for DURATION] [--reason TEXT]\n"
        "                           [--code CODE | --push] [--wait[=SECONDS]]\n"
        "\n"
        "Activates ROLE for you after checking your verification code. The code is\n"
        "read from the terminal without echo, or as one line from standard input\n"
        "when that is not a terminal.\n"
        "\n"
        "  --for DURATION     how long, e.g. 45m, 2h, 1h30m (default: the role's;\n"
        "                     longer than the role allows is cut to its maximum)\n"
        "  --reason TEXT      why, e.g. a ticket number (some roles require one)\n"
        "  --code CODE        the verification code, for scripts. WARNING: other\n"
        "                     users can see it in the process list; prefer piping\n"
        "                     it on standard input\n"
        "  --push             approve a push on your phone instead of typing a code\n"
        "  --wait[=SECONDS]   if the role needs approval, wait for the approvers\n"
        "                     (default 300 s, at most 3600)\n"
        "\n"
        "A role that needs approval is not granted at once: a request is filed,\n"
        "elevatectl prints its number and exits 8, and the grant starts when enough\n"
        "approvers have run `elevatectl approve ID`. See `elevatectl requests` and\n"
        "`elevatectl wait ID`.\n"
        "\n"
        "Waits up to 30 seconds for the daemon unless --timeout is given; with --push,\n"
        "that plus the time the push allows for an answer.\n",
        ArgSpec{{{"help", 'h', ValueKind::None},
                 {"for", 0, ValueKind::Duration},
                 {"reason", 0, ValueKind::Text},
                 {"code", 0, ValueKind::Text},
                 {"push", 0, ValueKind::None},
                 {.name = "wait", .kind = ValueKind::Seconds, .value_optional = true}},
                {"ROLE"},
                1,
                false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
