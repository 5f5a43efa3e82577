// `elevatectl ping`: is the daemon there, and which version is it?
#include "cli/output.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

int run(const Context& ctx, const ParsedArgs&) {
    wire::BufferWriter request;
    int exit_code = kExitOk;
    auto reply = call_daemon(ctx, wire::Op::Ping, request.take(), &exit_code);
    if (!reply) return exit_code;
    std::string_view version = "unknown";
    (void)reply->fields.get_str(wire::Tag::Version, &version);

    if (ctx.json) {
        print_json(std::cout, {{"version", version}, {"socket", ctx.client.socket_path}});
        return kExitOk;
    }
    std::cout << "elevated " << printable(version) << " at " << ctx.client.socket_path << '\n';
    return kExitOk;
}

}  // namespace

const Verb& ping_verb() {
    static const Verb verb{
        "ping",
        "check that elevated answers, and show its version",
        "Usage: elevatectl ping\n"
        "\n"
        "Asks the daemon for its version. Exits 69 when it cannot be reached.\n",
        ArgSpec{{{"help", 'h', ValueKind::None}}, {}, 0, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
