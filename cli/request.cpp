#include "cli/request.h"

#include "common/base/parse.h"

#include <limits>

namespace elevate::cli {

namespace {

base::Error malformed(const char* what) {
    return base::make_error(std::string("malformed reply from elevated: request record ") + what);
}

int64_t to_signed(uint64_t v) {
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return static_cast<int64_t>(v > kMax ? kMax : v);
}

void get_optional(const wire::FieldList& f, wire::Tag tag, std::string* out) {
    std::string_view v;
    if (f.get_str(tag, &v)) out->assign(v);
}

}  // namespace

base::Result<Request> decode_request(const wire::Field& record) {
    if (record.tag != static_cast<uint16_t>(wire::Tag::Request)) return malformed("has the wrong tag");
    wire::FieldList f;
    if (f.parse(record.data, record.length) != wire::CodecError::Ok) return malformed("is not a field list");

    Request r;
    std::string_view s;
    uint64_t n = 0;
    if (!f.get_u64(wire::Tag::RequestId, &r.id) || r.id == 0) return malformed("has no request_id");
    if (!f.get_str(wire::Tag::User, &s)) return malformed("has no user");
    r.user.assign(s);
    if (!f.get_str(wire::Tag::Role, &s)) return malformed("has no role");
    r.role.assign(s);
    if (!f.get_str(wire::Tag::State, &s) || s.empty()) return malformed("has no state");
    r.state.assign(s);
    if (!f.get_u64(wire::Tag::Expires, &n)) return malformed("has no expires");
    r.expires = to_signed(n);
    // "0 of 1 approvals" is what people act on: without the counts the line
    // would be a guess.
    if (!f.get_u64(wire::Tag::Approvals, &r.approvals)) return malformed("has no approvals");
    if (!f.get_u64(wire::Tag::Needed, &r.needed)) return malformed("has no needed");
    get_optional(f, wire::Tag::Reason, &r.reason);
    get_optional(f, wire::Tag::Approvers, &r.approvers);
    get_optional(f, wire::Tag::DecidedBy, &r.decided_by);
    get_optional(f, wire::Tag::GrantId, &r.grant_id);
    if (f.get_u64(wire::Tag::Duration, &n)) r.duration = to_signed(n);
    if (f.get_u64(wire::Tag::Start, &n)) r.start = to_signed(n);
    (void)f.get_bool(wire::Tag::Mine, &r.mine);
    (void)f.get_bool(wire::Tag::CanDecide, &r.can_decide);
    return r;
}

base::Result<std::vector<Request>> decode_requests(const wire::FieldList& reply) {
    std::vector<Request> requests;
    auto it = reply.iterate();
    wire::Field field;
    while (it.next(&field)) {
        if (field.tag != static_cast<uint16_t>(wire::Tag::Request)) continue;
        auto r = decode_request(field);
        if (!r) return std::move(r).error();
        requests.push_back(std::move(r).value());
    }
    return requests;
}

base::Result<Request> decode_one_request(const wire::FieldList& reply) {
    wire::Field field;
    if (!reply.find(wire::Tag::Request, &field))
        return base::make_error("malformed reply from elevated: no request record");
    return decode_request(field);
}

base::Result<uint64_t> parse_request_id(std::string_view text) {
    // Ids stay within int64 so JSON consumers read them exactly.
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (auto id = base::parse_u64_in(text, 1, kMax)) return *id;
    return base::make_error("'" + std::string(text) +
                            "' is not a request id (a positive whole number, as elevatectl requests shows)");
}

nlohmann::json request_to_json(const Request& r) {
    nlohmann::json j = {
        {"id", r.id},
        {"user", r.user},
        {"role", r.role},
        {"reason", r.reason},
        {"duration", r.duration},
        {"start", r.start},
        {"expires", r.expires},
        {"state", r.state},
        {"approvers", r.approvers},
        {"approvals", r.approvals},
        {"needed", r.needed},
        {"decided_by", r.decided_by},
        {"mine", r.mine},
        {"can_decide", r.can_decide},
    };
    if (!r.grant_id.empty()) j["grant_id"] = r.grant_id;
    return j;
}

nlohmann::json requests_to_json(const std::vector<Request>& requests) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : requests) list.push_back(request_to_json(r));
    return list;
}

}  // namespace elevate::cli
