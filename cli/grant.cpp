#include "cli/grant.h"

#include <limits>

namespace elevate::cli {

namespace {

base::Error malformed(const char* what) {
    return base::make_error(std::string("malformed reply from elevated: grant record ") + what);
}

int64_t to_time(uint64_t v) {
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return static_cast<int64_t>(v > kMax ? kMax : v);
}

void get_optional(const wire::FieldList& f, wire::Tag tag, std::string* out) {
    std::string_view v;
    if (f.get_str(tag, &v)) out->assign(v);
}

}  // namespace

base::Result<Grant> decode_grant(const wire::Field& record) {
    if (record.tag != static_cast<uint16_t>(wire::Tag::Grant)) return malformed("has the wrong tag");
    wire::FieldList f;
    if (f.parse(record.data, record.length) != wire::CodecError::Ok) return malformed("is not a field list");

    Grant g;
    std::string_view s;
    uint64_t n = 0;
    if (!f.get_str(wire::Tag::GrantId, &s) || s.empty()) return malformed("has no grant_id");
    g.id.assign(s);
    if (!f.get_str(wire::Tag::User, &s)) return malformed("has no user");
    g.user.assign(s);
    if (!f.get_str(wire::Tag::Role, &s)) return malformed("has no role");
    g.role.assign(s);
    if (!f.get_u64(wire::Tag::Start, &n)) return malformed("has no start");
    g.start = to_time(n);
    if (!f.get_u64(wire::Tag::End, &n)) return malformed("has no end");
    g.end = to_time(n);
    get_optional(f, wire::Tag::State, &g.state);
    get_optional(f, wire::Tag::Reason, &g.reason);
    get_optional(f, wire::Tag::Factor, &g.factor);
    get_optional(f, wire::Tag::Source, &g.source);
    get_optional(f, wire::Tag::EndedBy, &g.ended_by);
    if (f.get_u64(wire::Tag::EndedAt, &n)) g.ended_at = to_time(n);
    return g;
}

base::Result<std::vector<Grant>> decode_grants(const wire::FieldList& reply) {
    std::vector<Grant> grants;
    auto it = reply.iterate();
    wire::Field field;
    while (it.next(&field)) {
        if (field.tag != static_cast<uint16_t>(wire::Tag::Grant)) continue;
        auto g = decode_grant(field);
        if (!g) return std::move(g).error();
        grants.push_back(std::move(g).value());
    }
    return grants;
}

base::Result<Grant> decode_one_grant(const wire::FieldList& reply) {
    wire::Field field;
    if (!reply.find(wire::Tag::Grant, &field)) return base::make_error("malformed reply from elevated: no grant");
    return decode_grant(field);
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
