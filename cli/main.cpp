// elevatectl: global options, verb dispatch, and the one place where an
// exception is caught. The verbs live in cli/verb_*.cpp.
#include "cli/args.h"
#include "cli/reply.h"
#include "cli/verbs.h"

#include <cstdlib>
#include <exception>
#include <iostream>

namespace elevate::cli {
namespace {

constexpr int kDefaultTimeoutSeconds = 10;

const Verb* const* verbs() {
    static const Verb* const table[] = {&status_verb(),  &activate_verb(), &requests_verb(), &approve_verb(),
                                        &deny_verb(),    &cancel_verb(),   &wait_verb(),     &drop_verb(),
                                        &list_verb(),    &revoke_verb(),   &unlock_verb(),   &risk_verb(),
                                        &explain_verb(), &enroll_verb(),   &ping_verb(),     nullptr};
    return table;
}

const ArgSpec& global_spec() {
    static const ArgSpec spec{{{"help", 'h', ValueKind::None},
                               {"version", 0, ValueKind::None},
                               {"json", 0, ValueKind::None},
                               {"socket", 0, ValueKind::Text},
                               {"timeout", 0, ValueKind::Seconds}},
                              {},
                              0,
                              true};
    return spec;
}

void print_help() {
    std::cout << "Usage: elevatectl [--socket PATH] [--timeout SECONDS] [--json] VERB [ARGS...]\n"
                 "\n"
                 "Just-in-time privileged access: activate a role for a while, with a second factor.\n"
                 "\n"
                 "Verbs:\n";
    for (const Verb* const* v = verbs(); *v != nullptr; ++v) {
        std::string name((*v)->name);
        name.resize(10, ' ');
        std::cout << "  " << name << (*v)->summary << '\n';
    }
    std::cout << "\n"
                 "Options:\n"
                 "  --socket PATH      daemon socket (default: $ELEVATE_SOCKET, else " ELEVATE_DEFAULT_SOCKET
                 ")\n"
                 "  --timeout SECONDS  how long to wait for the daemon (default 10; activate 30);\n"
                 "                     a push or a wait for approvers adds its own time\n"
                 "  --json             one JSON object on stdout, errors included\n"
                 "  -h, --help         this help; `elevatectl VERB --help` for a verb\n"
                 "  --version          print the version\n"
                 "\n"
                 "See elevatectl(1) for exit statuses.\n";
}

std::string default_socket() {
    // secure_getenv: ignored when elevatectl runs with elevated privileges.
    const char* env = secure_getenv("ELEVATE_SOCKET");
    return env != nullptr && *env != '\0' ? env : ELEVATE_DEFAULT_SOCKET;
}

int run(int argc, char** argv) {
    const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    Context ctx;
    auto global = parse_args(global_spec(), args);
    if (!global) return report_usage(ctx, "", global.error().message);

    ctx.json = global->has("json");
    ctx.client.socket_path = global->value("socket").value_or(default_socket());
    ctx.timeout_given = global->has("timeout");
    ctx.client.timeout_ms = static_cast<int>(global->number("timeout").value_or(kDefaultTimeoutSeconds) * 1000);

    if (global->has("help")) {
        print_help();
        return kExitOk;
    }
    if (global->has("version")) {
        std::cout << "elevatectl " ELEVATE_VERSION "\n";
        return kExitOk;
    }
    if (global->rest().empty()) return report_usage(ctx, "", "no verb given");

    const std::string& name = global->rest().front();
    const Verb* verb = nullptr;
    for (const Verb* const* v = verbs(); *v != nullptr; ++v)
        if ((*v)->name == name) verb = *v;
    if (verb == nullptr) return report_usage(ctx, "", "unknown verb '" + name + "'");

    const std::vector<std::string> verb_args(global->rest().begin() + 1, global->rest().end());
    auto parsed = parse_args(verb->spec, verb_args);
    if (!parsed) {
        std::string message = parsed.error().message;
        for (const auto& g : global_spec().options)
            if (message == "unknown option '--" + std::string(g.name) + "'")
                message +=
                    " (global options go before the verb: elevatectl --" + std::string(g.name) + " " + name + " ...)";
        return report_usage(ctx, verb->name, message);
    }
    if (parsed->has("help")) {
        std::cout << verb->usage;
        return kExitOk;
    }
    return verb->run(ctx, *parsed);
}

}  // namespace
}  // namespace elevate::cli

int main(int argc, char** argv) {
    try {
        return elevate::cli::run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "elevatectl: internal error: " << e.what() << '\n';
    } catch (...) {
        std::cerr << "elevatectl: internal error\n";
    }
    return elevate::cli::kExitDaemonError;
}
