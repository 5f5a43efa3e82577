#include "cli/request.h"

#include "cli/output.h"
#include "cli/record.h"
#include "common/base/parse.h"

#include <iostream>
#include <limits>

namespace elevate::cli {

base::Result<Request> decode_request(const wire::Field& field) {
    auto rec = record::Reader::open(field, wire::Tag::Request, "request");
    if (!rec) return std::move(rec).error();

    Request r;
    if (!rec->u64(wire::Tag::RequestId, &r.id) || r.id == 0) return rec->malformed("has no request_id");
    if (!rec->str(wire::Tag::User, &r.user)) return rec->malformed("has no user");
    if (!rec->str(wire::Tag::Role, &r.role)) return rec->malformed("has no role");
    if (!rec->str(wire::Tag::State, &r.state, /*non_empty=*/true)) return rec->malformed("has no state");
    if (!rec->i64(wire::Tag::Expires, &r.expires)) return rec->malformed("has no expires");
    // "0 of 1 approvals" is what people act on: without the counts the line
    // would be a guess.
    if (!rec->u64(wire::Tag::Approvals, &r.approvals)) return rec->malformed("has no approvals");
    if (!rec->u64(wire::Tag::Needed, &r.needed)) return rec->malformed("has no needed");
    // Optional fields keep their defaults when absent.
    rec->str(wire::Tag::Reason, &r.reason);
    rec->str(wire::Tag::Approvers, &r.approvers);
    rec->str(wire::Tag::DecidedBy, &r.decided_by);
    rec->str(wire::Tag::GrantId, &r.grant_id);
    rec->i64(wire::Tag::Duration, &r.duration);
    rec->i64(wire::Tag::Start, &r.start);
    rec->flag(wire::Tag::Mine, &r.mine);
    rec->flag(wire::Tag::CanDecide, &r.can_decide);
    return r;
}

base::Result<std::vector<Request>> decode_requests(const wire::FieldList& reply) {
    return record::decode_all<Request>(reply, wire::Tag::Request, decode_request);
}

base::Result<Request> decode_one_request(const wire::FieldList& reply) {
    return record::decode_first(reply, wire::Tag::Request, "no request record", decode_request);
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

std::optional<Request> call_for_request(const Context& ctx, wire::Op op, std::vector<uint8_t> request, int* exit_code) {
    *exit_code = kExitOk;
    auto reply = call_daemon(ctx, op, std::move(request), exit_code);
    if (!reply) return std::nullopt;
    auto r = decode_one_request(reply->fields);
    if (!r) {
        *exit_code = report_error(ctx, kExitUnreachable, "unreachable", r.error().message);
        return std::nullopt;
    }
    if (ctx.json) print_json(std::cout, {{"request", request_to_json(*r)}});
    return std::move(r).value();
}

}  // namespace elevate::cli
