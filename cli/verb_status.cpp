// `elevatectl status [USER]`: enrollment, lockout and active grants.
#include "cli/output.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

int run(const Context& ctx, const ParsedArgs& args) {
    wire::BufferWriter request;
    const bool for_other = !args.positionals().empty();
    if (for_other) request->put_str(wire::Tag::User, args.positionals()[0]);

    int code = kExitOk;
    auto reply = call_daemon(ctx, wire::Op::Status, request.take(), &code);
    if (!reply) return code;
    auto grants = grants_from(ctx, *reply, &code);
    if (!grants) return code;

    bool enrolled = false;
    (void)reply->fields.get_bool(wire::Tag::Enrolled, &enrolled);
    // The daemon names the user it answered for (the caller, unless an
    // admin asked about someone else).
    std::string_view user;
    (void)reply->fields.get_str(wire::Tag::User, &user);
    uint64_t locked = 0;
    const int64_t now = now_seconds();
    const bool is_locked = reply->fields.get_u64(wire::Tag::LockedUntil, &locked) && static_cast<int64_t>(locked) > now;

    // The user's risk level (docs/RISK.md); a daemon before risk sends none.
    std::string_view risk;
    const bool has_risk = reply->fields.get_str(wire::Tag::RiskLevel, &risk);

    if (ctx.json) {
        nlohmann::json j = {{"enrolled", enrolled}, {"locked_until", nullptr}, {"grants", grants_to_json(*grants)}};
        j["user"] = std::string(user);
        if (is_locked) j["locked_until"] = static_cast<int64_t>(locked);
        if (has_risk) j["risk"] = std::string(risk);
        print_json(std::cout, j);
        return kExitOk;
    }

    std::cout << "User:      " << printable(std::string(user)) << '\n';
    std::cout << "Enrolled:  " << (enrolled ? "yes" : "no") << '\n';
    std::cout << "Locked:    " << (is_locked ? "until " + format_time(static_cast<int64_t>(locked), now) : "no")
              << '\n';
    if (has_risk) std::cout << "Risk:      " << printable(risk) << '\n';
    std::cout << '\n';
    if (grants->empty()) {
        std::cout << "No active grants.\n";
        return kExitOk;
    }
    Table table({"ID", "ROLE", "ENDS", "REASON"});
    for (const auto& g : *grants) table.add_row({short_id(g.id), g.role, format_time(g.end, now), g.reason});
    table.render(std::cout);
    return kExitOk;
}

}  // namespace

const Verb& status_verb() {
    static const Verb verb{
        "status",
        "show your enrollment, lockout, risk level and active grants",
        "Usage: elevatectl status [USER]\n"
        "\n"
        "Shows whether USER (default: you) is enrolled for a second factor, whether\n"
        "they are locked out after failed codes, their risk level (none, low,\n"
        "medium, high; see elevatectl risk) and their active grants.\n"
        "Naming another user needs root or the admin group.\n",
        ArgSpec{{{"help", 'h', ValueKind::None}}, {"USER"}, 0, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
