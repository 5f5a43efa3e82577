// A grant as the daemon reports it (docs/PROTOCOL.md, `grant` record), and
// its JSON form. Decoding checks that the fields every view relies on are
// there, so a malformed reply is an error, not an empty table row.
#pragma once

#include "common/base/result.h"
#include "common/wire/codec.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::cli {

struct Grant {
    std::string id;
    std::string user;
    std::string role;
    int64_t start = 0;
    int64_t end = 0;
    std::string state;
    std::string reason;
    std::string factor;
    std::string source;
    int64_t ended_at = 0;  // 0 while the grant has not ended
    std::string ended_by;
};

// One `grant` record (a Field of Tag::Grant from a validated FieldList).
base::Result<Grant> decode_grant(const wire::Field& record);
// Every `grant` record in a reply, in order.
base::Result<std::vector<Grant>> decode_grants(const wire::FieldList& reply);
// The single `grant` a reply must carry (activate, drop, revoke).
base::Result<Grant> decode_one_grant(const wire::FieldList& reply);

// Grant ids are UUIDs (daemon/store: lowercase, 36 characters). Tables show
// the first 8 characters, so verbs that take an id also accept a prefix of
// at least that length.
inline constexpr size_t kShortIdLength = 8;
bool is_grant_id(std::string_view text);
bool is_grant_id_prefix(std::string_view text);
// The grants whose id starts with `prefix`.
std::vector<const Grant*> grants_with_prefix(const std::vector<Grant>& grants, std::string_view prefix);

// {"id","user","role","start","end","state","reason","factor","source"}
// plus "ended_at"/"ended_by" once ended. Times are seconds since the epoch.
nlohmann::json grant_to_json(const Grant& grant);
nlohmann::json grants_to_json(const std::vector<Grant>& grants);

}  // namespace elevate::cli
