// `elevatectl requests [--all]`: approval requests you made or may decide.
#include "cli/output.h"
#include "cli/request.h"
#include "cli/request_text.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

int run(const Context& ctx, const ParsedArgs& args) {
    wire::BufferWriter request;
    int exit_code = kExitOk;
    auto reply = call_daemon(ctx, wire::Op::RequestList, request.take(), &exit_code);
    if (!reply) return exit_code;
    auto requests = decode_requests(reply->fields);
    if (!requests) return report_error(ctx, kExitUnreachable, "unreachable", requests.error().message);

    uint64_t total = requests->size();
    (void)reply->fields.get_u64(wire::Tag::Total, &total);

    // The daemon also sends your requests decided in the last 24 hours;
    // without --all only those still waiting are shown.
    std::vector<const Request*> shown;
    for (const auto& r : *requests)
        if (args.has("all") || r.pending()) shown.push_back(&r);
    const size_t hidden = requests->size() - shown.size();

    if (ctx.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const Request* r : shown) list.push_back(request_to_json(*r));
        print_json(std::cout, {{"requests", list}, {"total", total}});
        return kExitOk;
    }
    if (shown.empty()) {
        std::cout << (hidden == 0 ? std::string("No approval requests.\n")
                                  : "No pending approval requests (" + std::to_string(hidden) +
                                        " decided in the last 24 h; see --all).\n");
        return kExitOk;
    }
    render_requests(std::cout, shown, now_seconds());
    if (hidden > 0) std::cout << "\n(" << hidden << " decided in the last 24 h not shown; see --all)\n";
    if (total > requests->size()) std::cout << "\n(the daemon sent " << requests->size() << " of " << total << ")\n";
    return kExitOk;
}

}  // namespace

const Verb& requests_verb() {
    static const Verb verb{
        "requests",
        "list approval requests you made or may decide",
        "Usage: elevatectl requests [--all]\n"
        "\n"
        "Lists pending approval requests: yours, and those you may approve or deny\n"
        "(admins see all). YOU says \"yours\" or \"can decide\". With --all, your\n"
        "requests decided in the last 24 hours are listed too.\n"
        "\n"
        "  --all   include approved, denied, cancelled and expired requests\n"
        "\n"
        "Decide with `elevatectl approve ID` or `elevatectl deny ID --reason TEXT`.\n",
        ArgSpec{{{"help", 'h', ValueKind::None}, {"all", 0, ValueKind::None}}, {}, 0, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
