// `elevatectl list [--user U] [--role R]`: every active grant (admins).
#include "cli/output.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

int run(const Context& ctx, const ParsedArgs& args) {
    wire::BufferWriter request;
    if (auto user = args.value("user")) request->put_str(wire::Tag::User, *user);
    if (auto role = args.value("role")) request->put_str(wire::Tag::Role, *role);

    int exit_code = kExitOk;
    auto reply = call_daemon(ctx, wire::Op::List, request.take(), &exit_code);
    if (!reply) return exit_code;
    auto grants = grants_from(ctx, *reply, &exit_code);
    if (!grants) return exit_code;

    uint64_t total = grants->size();
    (void)reply->fields.get_u64(wire::Tag::Total, &total);

    if (ctx.json) {
        print_json(std::cout, {{"grants", grants_to_json(*grants)}, {"total", total}});
        return kExitOk;
    }
    if (grants->empty()) {
        std::cout << "No active grants.\n";
        return kExitOk;
    }
    const int64_t now = now_seconds();
    Table table({"USER", "ROLE", "ENDS", "REASON", "ID"});
    for (const auto& g : *grants) table.add_row({g.user, g.role, format_time(g.end, now), g.reason, short_id(g.id)});
    table.render(std::cout);
    if (total > grants->size())
        std::cout << "\n(showing " << grants->size() << " of " << total << "; narrow with --user or --role)\n";
    return kExitOk;
}

}  // namespace

const Verb& list_verb() {
    static const Verb verb{
        "list",
        "list everyone's active grants (admin)",
        "Usage: elevatectl list [--user USER] [--role ROLE]\n"
        "\n"
        "Lists active grants, optionally only those of USER or of ROLE.\n"
        "Needs root or the admin group. --json shows full grant ids.\n",
        ArgSpec{
            {{"help", 'h', ValueKind::None}, {"user", 0, ValueKind::Text}, {"role", 0, ValueKind::Text}}, {}, 0, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
