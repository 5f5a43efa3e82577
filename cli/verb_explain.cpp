// `elevatectl explain`: what the policy would decide for a described request,
// rule by rule, without acting on anything (docs/POLICY.md, "explain").
#include "cli/output.h"
#include "cli/record.h"
#include "cli/verbs.h"

#include "common/base/parse.h"

#include <time.h>

#include <iostream>

namespace elevate::cli {

namespace {

struct Trace {
    std::string rule;
    std::string mode;
    bool matched = false;
    std::string why;
    std::string effect;
};

base::Result<Trace> decode_trace(const wire::Field& field) {
    auto r = record::Reader::open(field, wire::Tag::RuleTrace, "rule");
    if (!r) return std::move(r).error();
    Trace t;
    if (!r->str(wire::Tag::RuleName, &t.rule, true)) return r->malformed("has no name");
    r->str(wire::Tag::Mode, &t.mode);
    r->flag(wire::Tag::Matched, &t.matched);
    r->str(wire::Tag::Why, &t.why);
    r->str(wire::Tag::Effect, &t.effect);
    return t;
}

}  // namespace

// "2026-12-02T23:30Z", "2026-12-02T23:30:00Z", "2026-12-02 23:30" (UTC), or
// "@EPOCH".
std::optional<int64_t> parse_explain_time(std::string_view text) {
    if (!text.empty() && text[0] == '@') {
        auto n = base::parse_u64(text.substr(1));
        if (!n || *n > (1ull << 40)) return std::nullopt;
        return int64_t(*n);
    }
    std::string s(text);
    if (!s.empty() && s.back() == 'Z') s.pop_back();
    for (const char* format : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"}) {
        struct tm tm = {};
        const char* end = strptime(s.c_str(), format, &tm);
        if (end != nullptr && *end == '\0') return int64_t(timegm(&tm));
    }
    return std::nullopt;
}

namespace {

int run(const Context& ctx, const ParsedArgs& args) {
    wire::BufferWriter request;
    if (auto user = args.value("user")) request->put_str(wire::Tag::User, *user);
    if (auto role = args.value("role")) request->put_str(wire::Tag::Role, *role);
    if (auto service = args.value("service")) request->put_str(wire::Tag::Service, *service);
    if (auto from = args.value("from")) request->put_str(wire::Tag::RemoteHost, *from);
    if (auto at = args.value("at")) {
        auto t = parse_explain_time(*at);
        if (!t) {
            std::cerr << "elevatectl: --at: '" << printable(*at)
                      << "' is not a time (use 2026-12-02T23:30Z, UTC, or @EPOCH)\n";
            return kExitUsage;
        }
        request->put_u64(wire::Tag::At, uint64_t(*t));
    }
    if (args.has("tty")) request->put_bool(wire::Tag::HasTty, true);

    int code = kExitOk;
    auto reply = call_daemon(ctx, wire::Op::Explain, request.take(), &code);
    if (!reply) return code;
    auto traces = record::decode_all<Trace>(reply->fields, wire::Tag::RuleTrace, decode_trace);
    if (!traces) return report_error(ctx, kExitUnreachable, "unreachable", traces.error().message);

    auto text = [&](wire::Tag tag) {
        std::string_view v;
        (void)reply->fields.get_str(tag, &v);
        return std::string(v);
    };
    uint64_t at = 0;
    (void)reply->fields.get_u64(wire::Tag::At, &at);
    const std::string outcome = text(wire::Tag::Outcome);
    const int exit_code = outcome == "deny" ? kExitDenied : kExitOk;

    if (ctx.json) {
        nlohmann::json rules = nlohmann::json::array();
        for (const auto& t : *traces)
            rules.push_back(
                {{"rule", t.rule}, {"mode", t.mode}, {"matched", t.matched}, {"why", t.why}, {"effect", t.effect}});
        print_json(std::cout, {{"user", text(wire::Tag::User)},
                               {"role", text(wire::Tag::Role)},
                               {"service", text(wire::Tag::Service)},
                               {"source", text(wire::Tag::Source)},
                               {"at", int64_t(at)},
                               {"risk", text(wire::Tag::RiskLevel)},
                               {"outcome", outcome},
                               {"rule", text(wire::Tag::RuleName)},
                               {"result", text(wire::Tag::Effect)},
                               {"reasons", text(wire::Tag::Why)},
                               {"rules", rules}});
        return exit_code;
    }

    const std::string role = text(wire::Tag::Role);
    std::cout << "Request:  " << printable(text(wire::Tag::User)) << (role.empty() ? "" : " as " + printable(role))
              << " through " << printable(text(wire::Tag::Service)) << " from " << printable(text(wire::Tag::Source))
              << " at " << format_timestamp(int64_t(at)) << '\n';
    std::cout << "Risk:     " << printable(text(wire::Tag::RiskLevel)) << "\n\n";
    if (traces->empty()) std::cout << "No rules are configured.\n";
    for (const auto& t : *traces) {
        std::cout << (t.matched ? "  match   " : "  no      ") << printable(t.rule)
                  << (t.mode == "report-only" ? " (report-only)" : "") << ": " << printable(t.why) << '\n';
        if (t.matched) std::cout << "          " << printable(t.effect) << '\n';
    }
    std::cout << '\n';
    std::cout << "Decided by: " << printable(text(wire::Tag::RuleName)) << '\n';
    const std::string why = text(wire::Tag::Why);
    if (!why.empty() && outcome != "deny") std::cout << "Because:    " << printable(why) << '\n';
    std::cout << "Outcome:    " << outcome << ": " << printable(text(wire::Tag::Effect)) << '\n';
    return exit_code;
}

}  // namespace

const Verb& explain_verb() {
    static const Verb verb{
        "explain",
        "show what the policy decides for a request, rule by rule",
        "Usage: elevatectl explain [--user USER] [--role ROLE] [--service SERVICE]\n"
        "                          [--from ADDRESS] [--at TIME] [--tty]\n"
        "\n"
        "Asks elevated what it would decide for the request described, with the\n"
        "same decision every sudo, ssh and activation goes through, and prints each\n"
        "rule considered, why it matched or not, what report-only rules would have\n"
        "done, and the outcome with the message the user would see. Nothing is\n"
        "acted on: no grant, no code, no risk event, no audit record.\n"
        "\n"
        "  --user USER        whom the request is for (default: you; others: admins)\n"
        "  --role ROLE        the role used or activated\n"
        "  --service SERVICE  the PAM service (default sudo); elevatectl means an\n"
        "                     activation (with --role) or a plain factor\n"
        "  --from ADDRESS     the source: an IP address, a host name, local or\n"
        "                     unknown (default unknown)\n"
        "  --at TIME          when, in UTC: 2026-12-02T23:30Z, or @EPOCH (default now)\n"
        "  --tty              the request has a terminal\n"
        "\n"
        "Grants, locks and risk are those of now, whatever --at says. Exits 0 when\n"
        "the request would be allowed or asked for a factor, 1 when it would be denied.\n",
        ArgSpec{{{"help", 'h', ValueKind::None},
                 {"user", 0, ValueKind::Text},
                 {"role", 0, ValueKind::Text},
                 {"service", 0, ValueKind::Text},
                 {"from", 0, ValueKind::Text},
                 {"at", 0, ValueKind::Text},
                 {"tty", 0, ValueKind::None}},
                {},
                0,
                false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
