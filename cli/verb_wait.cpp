// `elevatectl wait ID [--timeout SECONDS]`: waits until a request is decided.
#include "cli/request_wait.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "wait";

int run(const Context& ctx, const ParsedArgs& args) {
    auto id = parse_request_id(args.positionals()[0]);
    if (!id) return report_usage(ctx, kVerb, id.error().message);

    const int64_t seconds = args.number("timeout").value_or(kDefaultWaitSeconds);
    if (!ctx.json)
        std::cerr << "Waiting up to " << seconds << " s for a decision on request " << *id << "..." << std::endl;
    int exit_code = kExitOk;
    auto outcome = wait_for_decision(ctx, *id, seconds, &exit_code);
    if (!outcome) return exit_code;
    return report_outcome(ctx, *outcome);
}

}  // namespace

const Verb& wait_verb() {
    static const Verb verb{
        kVerb,
        "wait until a request is approved, denied or expires",
        "Usage: elevatectl wait ID [--timeout SECONDS]\n"
        "\n"
        "Waits until approval request ID is decided, then prints how it ended. Exits\n"
        "0 when approved (the grant is active), 1 when denied, cancelled or expired,\n"
        "and 8 when it is still pending after SECONDS.\n"
        "\n"
        "  --timeout SECONDS   how long to wait for a decision (default 300, at most\n"
        "                      3600); the global --timeout still bounds each answer\n"
        "                      from the daemon\n",
        ArgSpec{{{"help", 'h', ValueKind::None}, {"timeout", 0, ValueKind::Seconds}}, {"ID"}, 1, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
