// `elevatectl revoke GRANT_ID [--reason TEXT]`: ends someone's grant (admins).
#include "cli/output.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "revoke";

// A full id is sent as is; the short id that `list` shows is resolved
// against the active grants and must match exactly one.
std::optional<std::string> resolve(const Context& ctx, const std::string& arg, int* exit_code) {
    if (is_grant_id(arg)) return arg;
    if (!is_grant_id_prefix(arg)) {
        *exit_code = report_usage(ctx, kVerb, "'" + arg + "' is not a grant id (see elevatectl list)");
        return std::nullopt;
    }
    wire::BufferWriter request;
    auto reply = call_daemon(ctx, wire::Op::List, request.take(), exit_code);
    if (!reply) return std::nullopt;
    auto grants = grants_from(ctx, *reply, exit_code);
    if (!grants) return std::nullopt;
    auto matches = grants_with_prefix(*grants, arg);
    if (matches.empty()) {
        *exit_code = report_error(ctx, kExitNotFound, "not_found", "no active grant has an id starting with " + arg);
        return std::nullopt;
    }
    if (matches.size() > 1) {
        *exit_code = report_usage(ctx, kVerb, "'" + arg + "' matches several grants; give more of the id");
        return std::nullopt;
    }
    return matches.front()->id;
}

int run(const Context& ctx, const ParsedArgs& args) {
    int exit_code = kExitOk;
    auto id = resolve(ctx, args.positionals()[0], &exit_code);
    if (!id) return exit_code;

    wire::BufferWriter request;
    request->put_str(wire::Tag::GrantId, *id);
    if (auto reason = args.value("reason")) request->put_str(wire::Tag::Reason, *reason);
    auto grant = call_for_grant(ctx, wire::Op::Revoke, request.take(), &exit_code);
    if (!grant || ctx.json) return exit_code;
    std::cout << "Revoked " << printable(grant->role) << " for " << printable(grant->user) << ", grant "
              << short_id(grant->id) << '\n';
    return kExitOk;
}

}  // namespace

const Verb& revoke_verb() {
    static const Verb verb{
        kVerb,
        "end someone's grant now (admin)",
        "Usage: elevatectl revoke GRANT_ID [--reason TEXT]\n"
        "\n"
        "Ends an active grant immediately. GRANT_ID may be the 8-character id\n"
        "that `elevatectl list` shows. Needs root or the admin group.\n"
        "\n"
        "  --reason TEXT    why, recorded in the audit trail\n",
        ArgSpec{{{"help", 'h', ValueKind::None}, {"reason", 0, ValueKind::Text}}, {"GRANT_ID"}, 1, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
