// `elevatectl activate ROLE [--for DURATION] [--reason TEXT] [--code CODE]`:
// proves the second factor and asks for a grant.
#include "cli/output.h"
#include "cli/prompt.h"
#include "cli/verbs.h"

#include "common/base/parse.h"

#include <unistd.h>

#include <iostream>

namespace elevate::cli {

namespace {

// Activation may wait on a push approval or a colleague; allow longer than
// the default unless --timeout says otherwise.
constexpr int kActivateTimeoutMs = 30 * 1000;

int run(const Context& base_ctx, const ParsedArgs& args) {
    Context ctx = base_ctx;
    if (!ctx.timeout_given) ctx.client.timeout_ms = kActivateTimeoutMs;
    const std::string& role = args.positionals()[0];

    base::SecureBuffer code;
    if (auto given = args.value("code")) {
        code = base::SecureBuffer(*given);
    } else {
        auto typed = read_secret("Verification code: ");
        if (!typed) return report_error(ctx, kExitUsage, "usage", typed.error().message);
        code = std::move(typed).value();
    }

    wire::BufferWriter request;
    request->put_str(wire::Tag::Role, role);
    if (auto seconds = args.number("for")) request->put_u64(wire::Tag::Duration, static_cast<uint64_t>(*seconds));
    if (auto reason = args.value("reason")) request->put_str(wire::Tag::Reason, *reason);
    request->put_str(wire::Tag::Code, code.view());
    code.wipe();
    request->put_str(wire::Tag::Service, "elevatectl");
    char tty[256];
    if (ttyname_r(STDIN_FILENO, tty, sizeof tty) == 0) request->put_str(wire::Tag::Tty, tty);

    int exit_code = kExitOk;
    auto grant = call_for_grant(ctx, wire::Op::Activate, request.take(), &exit_code);
    if (!grant || ctx.json) return exit_code;
    std::cout << "Granted " << printable(grant->role) << " until " << format_until(grant->end, now_seconds()) << " ("
              << base::format_duration(grant->end - grant->start) << "), grant " << short_id(grant->id) << '\n';
    return kExitOk;
}

}  // namespace

const Verb& activate_verb() {
    static const Verb verb{
        "activate",
        "activate a role for a while, with your second factor",
        "Usage: elevatectl activate ROLE [--for DURATION] [--reason TEXT] [--code CODE]\n"
        "\n"
        "Activates ROLE for you after checking your verification code. The code is\n"
        "read from the terminal without echo, or as one line from standard input\n"
        "when that is not a terminal.\n"
        "\n"
        "  --for DURATION   how long, e.g. 45m, 2h, 1h30m (default: the role's;\n"
        "                   longer than the role allows is cut to its maximum)\n"
        "  --reason TEXT    why, e.g. a ticket number (some roles require one)\n"
        "  --code CODE      the verification code, for scripts. WARNING: other\n"
        "                   users can see it in the process list; prefer piping\n"
        "                   it on standard input\n"
        "\n"
        "Waits up to 30 seconds for the daemon unless --timeout is given.\n",
        ArgSpec{{{"help", 'h', ValueKind::None},
                 {"for", 0, ValueKind::Duration},
                 {"reason", 0, ValueKind::Text},
                 {"code", 0, ValueKind::Text}},
                {"ROLE"},
                1,
                false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
