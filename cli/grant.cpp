#include "cli/grant.h"

#include "cli/record.h"

namespace elevate::cli {

base::Result<Grant> decode_grant(const wire::Field& field) {
    auto rec = record::Reader::open(field, wire::Tag::Grant, "grant");
    if (!rec) return std::move(rec).error();

    Grant g;
    if (!rec->str(wire::Tag::GrantId, &g.id, /*non_empty=*/true)) return rec->malformed("has no grant_id");
    if (!rec->str(wire::Tag::User, &g.user)) return rec->malformed("has no user");
    if (!rec->str(wire::Tag::Role, &g.role)) return rec->malformed("has no role");
    if (!rec->i64(wire::Tag::Start, &g.start)) return rec->malformed("has no start");
    if (!rec->i64(wire::Tag::End, &g.end)) return rec->malformed("has no end");
    // Optional fields keep their defaults when absent.
    rec->str(wire::Tag::State, &g.state);
    rec->str(wire::Tag::Reason, &g.reason);
    rec->str(wire::Tag::Factor, &g.factor);
    rec->str(wire::Tag::Source, &g.source);
    rec->str(wire::Tag::EndedBy, &g.ended_by);
    rec->i64(wire::Tag::EndedAt, &g.ended_at);
    return g;
}

base::Result<std::vector<Grant>> decode_grants(const wire::FieldList& reply) {
    return record::decode_all<Grant>(reply, wire::Tag::Grant, decode_grant);
}

base::Result<Grant> decode_one_grant(const wire::FieldList& reply) {
    return record::decode_first(reply, wire::Tag::Grant, "no grant", decode_grant);
}

bool is_grant_id(std::string_view text) {
    if (text.size() != 36) return false;
    return is_grant_id_prefix(text);
}

bool is_grant_id_prefix(std::string_view text) {
    if (text.size() < kShortIdLength || text.size() > 36) return false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_position ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

std::vector<const Grant*> grants_with_prefix(const std::vector<Grant>& grants, std::string_view prefix) {
    std::vector<const Grant*> out;
    for (const auto& g : grants) {
        if (g.id.size() < prefix.size()) continue;
        bool match = true;
        for (size_t i = 0; i < prefix.size() && match; ++i) {
            auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
            match = lower(g.id[i]) == lower(prefix[i]);
        }
        if (match) out.push_back(&g);
    }
    return out;
}

nlohmann::json grant_to_json(const Grant& g) {
    nlohmann::json j = {
        {"id", g.id},       {"user", g.user},     {"role", g.role},     {"start", g.start},   {"end", g.end},
        {"state", g.state}, {"reason", g.reason}, {"factor", g.factor}, {"source", g.source},
    };
    if (g.ended_at != 0) {
        j["ended_at"] = g.ended_at;
        j["ended_by"] = g.ended_by;
    }
    return j;
}

nlohmann::json grants_to_json(const std::vector<Grant>& grants) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& g : grants) list.push_back(grant_to_json(g));
    return list;
}

}  // namespace elevate::cli
