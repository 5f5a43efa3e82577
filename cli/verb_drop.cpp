// `elevatectl drop [ROLE|GRANT_ID]`: ends one of your grants early.
#include "cli/output.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "drop";

// Your active grants, from a status request.
std::optional<std::vector<Grant>> own_grants(const Context& ctx, int* exit_code) {
    wire::BufferWriter request;
    auto reply = call_daemon(ctx, wire::Op::Status, request.take(), exit_code);
    if (!reply) return std::nullopt;
    return grants_from(ctx, *reply, exit_code);
}

// Decides what to send: a full grant id, or a role. With no argument the
// only active grant is meant; a short id (as `status` shows it) is resolved
// against the caller's grants, and taken as a role name if nothing matches.
struct Target {
    std::string grant_id;
    std::string role;
};

std::optional<Target> resolve(const Context& ctx, const ParsedArgs& args, int* exit_code) {
    const std::string arg = args.positionals().empty() ? std::string() : args.positionals()[0];
    if (is_grant_id(arg)) return Target{arg, {}};
    if (!arg.empty() && !is_grant_id_prefix(arg)) return Target{{}, arg};

    auto grants = own_grants(ctx, exit_code);
    if (!grants) return std::nullopt;
    if (arg.empty()) {
        if (grants->size() == 1) return Target{grants->front().id, {}};
        if (grants->empty()) {
            *exit_code = report_error(ctx, kExitNotFound, "not_found", "you have no active grant to drop");
            return std::nullopt;
        }
        *exit_code = report_usage(ctx, kVerb, "you have several active grants; name the role or grant to drop");
        return std::nullopt;
    }
    auto matches = grants_with_prefix(*grants, arg);
    if (matches.empty()) return Target{{}, arg};
    if (matches.size() > 1) {
        *exit_code = report_usage(ctx, kVerb, "'" + arg + "' matches several grants; give more of the id");
        return std::nullopt;
    }
    return Target{matches.front()->id, {}};
}

int run(const Context& ctx, const ParsedArgs& args) {
    int exit_code = kExitOk;
    auto target = resolve(ctx, args, &exit_code);
    if (!target) return exit_code;

    wire::BufferWriter request;
    if (!target->grant_id.empty())
        request->put_str(wire::Tag::GrantId, target->grant_id);
    else
        request->put_str(wire::Tag::Role, target->role);
    auto grant = call_for_grant(ctx, wire::Op::Drop, request.take(), &exit_code);
    if (!grant || ctx.json) return exit_code;
    std::cout << "Dropped " << printable(grant->role) << ", grant " << short_id(grant->id) << '\n';
    return kExitOk;
}

}  // namespace

const Verb& drop_verb() {
    static const Verb verb{
        kVerb,
        "end one of your grants now",
        "Usage: elevatectl drop [ROLE|GRANT_ID]\n"
        "\n"
        "Ends an active grant before its time. Name it by role or by grant id (the\n"
        "8-character id that `elevatectl status` shows is enough). With no argument,\n"
        "drops your only active grant.\n",
        ArgSpec{{{"help", 'h', ValueKind::None}}, {"ROLE|GRANT_ID"}, 0, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
