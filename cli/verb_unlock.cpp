// `elevatectl unlock USER`: lets a locked-out user elevate again (admins).
#include "cli/output.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

int run(const Context& ctx, const ParsedArgs& args) {
    const std::string& user = args.positionals()[0];
    wire::BufferWriter request;
    request->put_str(wire::Tag::User, user);
    int exit_code = kExitOk;
    auto reply = call_daemon(ctx, wire::Op::Unlock, request.take(), &exit_code);
    if (!reply) return exit_code;

    if (ctx.json) {
        print_json(std::cout, {{"user", user}, {"unlocked", true}});
        return kExitOk;
    }
    std::cout << "Unlocked " << printable(user) << ": elevation is allowed again\n";
    return kExitOk;
}

}  // namespace

const Verb& unlock_verb() {
    static const Verb verb{
        "unlock",
        "let a locked-out user elevate again (admin)",
        "Usage: elevatectl unlock USER\n"
        "\n"
        "Clears USER's lockout: the one after too many wrong codes, and the one\n"
        "after they answered a push with \"this wasn't me\". Needs root or the admin\n"
        "group. Find out first why it happened: a fraud report means someone else\n"
        "tried to use their account.\n",
        ArgSpec{{{"help", 'h', ValueKind::None}}, {"USER"}, 1, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
