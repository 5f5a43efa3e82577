// `elevatectl risk [show USER | dismiss USER --reason R | confirm USER
// --reason R]`: users' and source networks' risk (docs/RISK.md).
#include "cli/output.h"
#include "cli/record.h"
#include "cli/verbs.h"

#include <iostream>

namespace elevate::cli {

namespace {

struct Entry {
    std::string user;  // or network
    std::string network;
    std::string level;
    uint64_t score = 0;
    int64_t time = 0;
    std::string type;
    std::string evidence;
};

base::Result<Entry> decode(const wire::Field& field, wire::Tag tag, std::string_view kind) {
    auto r = record::Reader::open(field, tag, kind);
    if (!r) return std::move(r).error();
    Entry e;
    if (tag == wire::Tag::RiskEntry && !r->str(wire::Tag::RiskLevel, &e.level, true))
        return r->malformed("has no level");
    if (tag == wire::Tag::RiskEvent && !r->str(wire::Tag::EventType, &e.type, true)) return r->malformed("has no type");
    r->str(wire::Tag::User, &e.user);
    r->str(wire::Tag::Network, &e.network);
    r->u64(wire::Tag::RiskScore, &e.score);
    r->u64(wire::Tag::Weight, &e.score);  // an event's weight
    r->i64(wire::Tag::Time, &e.time);
    r->str(wire::Tag::EventType, &e.type);
    r->str(wire::Tag::Evidence, &e.evidence);
    return e;
}

// The top-level level/score of a show, dismiss or confirm reply.
Entry summary(const wire::Reply& reply) {
    Entry e;
    std::string_view v;
    if (reply.fields.get_str(wire::Tag::User, &v)) e.user = v;
    if (reply.fields.get_str(wire::Tag::RiskLevel, &v)) e.level = v;
    reply.fields.get_u64(wire::Tag::RiskScore, &e.score);
    uint64_t t = 0;
    if (reply.fields.get_u64(wire::Tag::Time, &t)) e.time = int64_t(std::min<uint64_t>(t, INT64_MAX));
    return e;
}

int list(const Context& ctx) {
    int code = kExitOk;
    auto reply = call_daemon(ctx, wire::Op::RiskList, {}, &code);
    if (!reply) return code;
    auto entries = record::decode_all<Entry>(reply->fields, wire::Tag::RiskEntry, [](const wire::Field& f) {
        return decode(f, wire::Tag::RiskEntry, "risk entry");
    });
    if (!entries) return report_error(ctx, kExitUnreachable, "unreachable", entries.error().message);
    if (ctx.json) {
        nlohmann::json users = nlohmann::json::array(), networks = nlohmann::json::array();
        for (const Entry& e : *entries) {
            nlohmann::json j = {{"level", e.level}, {"score", e.score}, {"updated", e.time}};
            if (!e.network.empty()) {
                j["network"] = e.network;
                networks.push_back(j);
                continue;
            }
            j["user"] = e.user;
            j["latest"] =
                e.type.empty() ? nlohmann::json(nullptr) : nlohmann::json{{"type", e.type}, {"evidence", e.evidence}};
            users.push_back(j);
        }
        print_json(std::cout, {{"users", users}, {"networks", networks}});
        return kExitOk;
    }
    if (entries->empty()) {
        std::cout << "No user or network has any risk.\n";
        return kExitOk;
    }
    const int64_t now = now_seconds();
    Table table({"USER/NETWORK", "LEVEL", "SCORE", "UPDATED", "LATEST"});
    for (const Entry& e : *entries) {
        table.add_row({e.network.empty() ? e.user : e.network, e.level, std::to_string(e.score),
                       format_time(e.time, now), e.type.empty() ? "" : e.type + ": " + e.evidence});
    }
    table.render(std::cout);
    return kExitOk;
}

int show(const Context& ctx, const std::string& user) {
    wire::BufferWriter request;
    request->put_str(wire::Tag::User, user);
    int code = kExitOk;
    auto reply = call_daemon(ctx, wire::Op::RiskShow, request.take(), &code);
    if (!reply) return code;
    auto events = record::decode_all<Entry>(reply->fields, wire::Tag::RiskEvent, [](const wire::Field& f) {
        return decode(f, wire::Tag::RiskEvent, "risk event");
    });
    if (!events) return report_error(ctx, kExitUnreachable, "unreachable", events.error().message);
    const Entry s = summary(*reply);
    if (ctx.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const Entry& e : *events)
            list.push_back({{"type", e.type},
                            {"time", e.time},
                            {"weight", e.score},
                            {"network", e.network.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.network)},
                            {"evidence", e.evidence}});
        print_json(std::cout, {{"user", s.user}, {"level", s.level}, {"score", s.score}, {"events", list}});
        return kExitOk;
    }
    const int64_t now = now_seconds();
    std::cout << "User:   " << printable(s.user) << '\n';
    std::cout << "Risk:   " << s.level << " (score " << s.score << ")\n\n";
    if (events->empty()) {
        std::cout << "No risk events.\n";
        return kExitOk;
    }
    Table table({"TIME", "EVENT", "WEIGHT", "NETWORK", "EVIDENCE"});
    for (const Entry& e : *events)
        table.add_row({format_time(e.time, now), e.type, "+" + std::to_string(e.score), e.network, e.evidence});
    table.render(std::cout);
    return kExitOk;
}

int act(const Context& ctx, wire::Op op, const std::string& user, const std::optional<std::string>& reason) {
    if (!reason) return report_usage(ctx, "risk", "a reason is required (--reason ...)");
    wire::BufferWriter request;
    request->put_str(wire::Tag::User, user);
    request->put_str(wire::Tag::Reason, *reason);
    int code = kExitOk;
    auto reply = call_daemon(ctx, op, request.take(), &code);
    if (!reply) return code;
    auto revoked = grants_from(ctx, *reply, &code);
    if (!revoked) return code;
    const Entry s = summary(*reply);
    if (ctx.json) {
        print_json(std::cout, {{"user", user}, {"level", s.level}, {"revoked", grants_to_json(*revoked)}});
        return kExitOk;
    }
    if (op == wire::Op::RiskDismiss) {
        std::cout << "Dismissed the risk of " << printable(user) << ": level " << s.level << '\n';
        return kExitOk;
    }
    std::cout << "Confirmed " << printable(user) << " compromised: level " << s.level << ", elevation blocked\n";
    for (const auto& g : *revoked) std::cout << "Revoked grant " << short_id(g.id) << " (" << g.role << ")\n";
    return kExitOk;
}

int run(const Context& ctx, const ParsedArgs& args) {
    const auto& pos = args.positionals();
    if (pos.empty()) return list(ctx);
    const std::string& sub = pos[0];
    if (sub != "show" && sub != "dismiss" && sub != "confirm")
        return report_usage(ctx, "risk", "unknown subcommand '" + printable(sub) + "' (show, dismiss, confirm)");
    if (pos.size() < 2) return report_usage(ctx, "risk", "risk " + sub + " needs a USER");
    if (sub == "show") return show(ctx, pos[1]);
    return act(ctx, sub == "dismiss" ? wire::Op::RiskDismiss : wire::Op::RiskConfirm, pos[1], args.value("reason"));
}

}  // namespace

const Verb& risk_verb() {
    static const Verb verb{
        "risk",
        "users' and networks' risk; show, dismiss, confirm (admin)",
        "Usage: elevatectl risk\n"
        "       elevatectl risk show USER\n"
        "       elevatectl risk dismiss USER --reason TEXT\n"
        "       elevatectl risk confirm USER --reason TEXT\n"
        "\n"
        "Without a subcommand: users and source networks whose risk is above none,\n"
        "highest first, with their level, score and latest event (admin).\n"
        "show: USER's level, score and latest risk events (yourself, or anyone as\n"
        "admin). dismiss: resets USER's risk after an investigation (admin).\n"
        "confirm: marks USER compromised: risk high until dismissed, elevation\n"
        "blocked, active grants revoked and their sessions ended per role (admin).\n"
        "See docs/RISK.md.\n",
        ArgSpec{{{"help", 'h', ValueKind::None}, {"reason", 'r', ValueKind::Text}}, {"SUBCOMMAND", "USER"}, 0, false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
