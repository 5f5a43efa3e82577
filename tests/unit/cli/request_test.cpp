// The approval request record: decoding a real wire record, its JSON shape,
// the request id as typed, and every line people read about a request.
#include "cli/output.h"
#include "cli/request.h"
#include "cli/request_text.h"

#include "common/wire/client.h"

#include <gtest/gtest.h>

#include <sstream>

namespace elevate::cli {
namespace {

// 2026-11-26 14:05:00 UTC
constexpr int64_t kT = 1795701900;

struct Spec {
    uint64_t id = 7;
    std::string user = "alice";
    std::string state = "pending";
    uint64_t approvals = 0;
    uint64_t needed = 1;
    std::string decided_by;
    bool mine = true;
    bool can_decide = false;
    std::string grant_id;
};

void put_request(wire::FieldWriter& w, const Spec& s) {
    w.begin_record(wire::Tag::Request);
    w.put_u64(wire::Tag::RequestId, s.id);
    w.put_str(wire::Tag::User, s.user);
    w.put_str(wire::Tag::Role, "db-admin");
    w.put_str(wire::Tag::Reason, "INC-4711");
    w.put_u64(wire::Tag::Duration, 2700);
    w.put_u64(wire::Tag::Start, uint64_t(kT - 600));
    w.put_u64(wire::Tag::Expires, uint64_t(kT + 6600));
    w.put_str(wire::Tag::State, s.state);
    w.put_str(wire::Tag::Approvers, "group:sec-leads");
    w.put_u64(wire::Tag::Approvals, s.approvals);
    w.put_u64(wire::Tag::Needed, s.needed);
    if (!s.decided_by.empty()) w.put_str(wire::Tag::DecidedBy, s.decided_by);
    w.put_bool(wire::Tag::Mine, s.mine);
    w.put_bool(wire::Tag::CanDecide, s.can_decide);
    if (!s.grant_id.empty()) w.put_str(wire::Tag::GrantId, s.grant_id);
    w.end_record();
}

// Decodes the one request of a reply built from `specs`.
std::vector<Request> decoded(const std::vector<Spec>& specs) {
    wire::BufferWriter w;
    w->put_u64(wire::Tag::Status, 0);
    for (const auto& s : specs) put_request(w.fields(), s);
    EXPECT_EQ(w->error(), wire::CodecError::Ok);
    auto bytes = w.take();
    wire::FieldList fields;
    EXPECT_EQ(fields.parse(bytes.data(), bytes.size()), wire::CodecError::Ok);
    auto requests = decode_requests(fields);
    EXPECT_TRUE(requests.ok()) << requests.error().message;
    return requests.ok() ? *requests : std::vector<Request>{};
}

Request one(const Spec& s) {
    auto all = decoded({s});
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? Request{} : all[0];
}

TEST(RequestTest, JsonShapeOfADecodedRequest) {
    const nlohmann::json expected = {
        {"id", 7},
        {"user", "alice"},
        {"role", "db-admin"},
        {"reason", "INC-4711"},
        {"duration", 2700},
        {"start", kT - 600},
        {"expires", kT + 6600},
        {"state", "pending"},
        {"approvers", "group:sec-leads"},
        {"approvals", 0},
        {"needed", 1},
        {"decided_by", ""},
        {"mine", true},
        {"can_decide", false},
    };
    EXPECT_EQ(request_to_json(one({})), expected);

    Spec approved;
    approved.state = "approved";
    approved.grant_id = "1a2b3c4d-5e6f-4a0b-8c0d-000000000000";
    EXPECT_EQ(request_to_json(one(approved))["grant_id"], approved.grant_id);
    EXPECT_TRUE(one(approved).state == "approved" && !one(approved).pending());
}

TEST(RequestTest, DecodesEveryRecordInOrder) {
    Spec second;
    second.id = 9;
    auto all = decoded({{}, second});
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1].id, 9u);
    EXPECT_EQ(requests_to_json(all).size(), 2u);
    EXPECT_EQ(requests_to_json({}), nlohmann::json::array());

    wire::FieldList none;
    EXPECT_FALSE(decode_one_request(none).ok());
}

TEST(RequestTest, RecordWithoutRequiredFieldIsAnError) {
    const struct {
        wire::Tag left_out;
        const char* message;
    } cases[] = {
        {wire::Tag::RequestId, "malformed reply from elevated: request record has no request_id"},
        {wire::Tag::User, "malformed reply from elevated: request record has no user"},
        {wire::Tag::State, "malformed reply from elevated: request record has no state"},
        {wire::Tag::Expires, "malformed reply from elevated: request record has no expires"},
        {wire::Tag::Approvals, "malformed reply from elevated: request record has no approvals"},
        {wire::Tag::Needed, "malformed reply from elevated: request record has no needed"},
    };
    for (const auto& c : cases) {
        wire::BufferWriter w;
        w->begin_record(wire::Tag::Request);
        auto put = [&](wire::Tag tag, auto put_it) {
            if (tag != c.left_out) put_it();
        };
        put(wire::Tag::RequestId, [&] { w->put_u64(wire::Tag::RequestId, 7); });
        put(wire::Tag::User, [&] { w->put_str(wire::Tag::User, "alice"); });
        w->put_str(wire::Tag::Role, "db-admin");
        put(wire::Tag::State, [&] { w->put_str(wire::Tag::State, "pending"); });
        put(wire::Tag::Expires, [&] { w->put_u64(wire::Tag::Expires, uint64_t(kT)); });
        put(wire::Tag::Approvals, [&] { w->put_u64(wire::Tag::Approvals, 0); });
        put(wire::Tag::Needed, [&] { w->put_u64(wire::Tag::Needed, 1); });
        w->end_record();
        auto bytes = w.take();
        wire::FieldList fields;
        ASSERT_EQ(fields.parse(bytes.data(), bytes.size()), wire::CodecError::Ok);
        auto r = decode_one_request(fields);
        ASSERT_FALSE(r.ok()) << c.message;
        EXPECT_EQ(r.error().message, c.message);
    }
}

TEST(RequestTest, RequestIdIsAPositiveWholeNumber) {
    for (const char* good : {"1", "7", "9223372036854775807"}) {
        auto id = parse_request_id(good);
        ASSERT_TRUE(id.ok()) << good;
        EXPECT_EQ(std::to_string(*id), good);
    }
    for (const char* bad : {"", "0", "-1", "+7", " 7", "7 ", "7x", "x7", "1.5", "#7", "9223372036854775808",
                            "99999999999999999999", "db-admin"}) {
        auto id = parse_request_id(bad);
        ASSERT_FALSE(id.ok()) << bad;
        EXPECT_EQ(id.error().message, "'" + std::string(bad) +
                                          "' is not a request id (a positive whole number, as elevatectl requests "
                                          "shows)");
    }
}

TEST(RequestTextTest, PendingLine) {
    EXPECT_EQ(pending_line(one({})),
              "Request 7 for db-admin is waiting for approval by group:sec-leads (0 of 1 approvals; expires "
              "2026-11-26 15:55 UTC). See: elevatectl requests");
    Spec theirs;
    theirs.mine = false;
    theirs.approvals = 1;
    theirs.needed = 2;
    EXPECT_EQ(pending_line(one(theirs)),
              "Request 7 by alice for db-admin is waiting for approval by group:sec-leads (1 of 2 approvals; "
              "expires 2026-11-26 15:55 UTC). See: elevatectl requests");
    EXPECT_EQ(approvals_text(one(theirs)), "1/2");
    EXPECT_EQ(waiting_line(one({}), 300),
              "Request 7 for db-admin needs approval by group:sec-leads (0 of 1 approvals); waiting up to 300 s...");
}

TEST(RequestTextTest, DaemonTextIsMadePrintable) {
    Spec evil;
    evil.mine = false;
    evil.user = "mallory\x1b[2J";
    EXPECT_EQ(pending_line(one(evil)).find('\x1b'), std::string::npos);
    evil.state = "denied";
    evil.decided_by = "bob\r";
    EXPECT_EQ(closed_message(one(evil)), "request 7 by mallory?[2J for db-admin was denied by bob?");
}

TEST(RequestTextTest, HowARequestEnded) {
    Spec denied;
    denied.state = "denied";
    denied.decided_by = "bob";
    EXPECT_EQ(closed_message(one(denied)), "request 7 for db-admin was denied by bob");
    Spec cancelled;
    cancelled.state = "cancelled";
    cancelled.decided_by = "alice";
    EXPECT_EQ(closed_message(one(cancelled)), "request 7 for db-admin was cancelled by alice");
    Spec expired;
    expired.state = "expired";
    EXPECT_EQ(closed_message(one(expired)),
              "request 7 for db-admin expired at 2026-11-26 15:55 UTC with 0 of 1 approvals");
    Spec odd;
    odd.state = "escalated";
    EXPECT_EQ(closed_message(one(odd)), "request 7 for db-admin is in state 'escalated'");

    Spec approved;
    approved.state = "approved";
    approved.approvals = 1;
    approved.decided_by = "bob";
    approved.grant_id = "1a2b3c4d-5e6f-4a0b-8c0d-000000000000";
    EXPECT_EQ(approved_line(one(approved), nullptr, kT), "Request 7 for db-admin was approved by bob (grant 1a2b3c4d)");
    Grant g;
    g.id = approved.grant_id;
    g.user = "alice";
    g.role = "db-admin";
    g.start = kT;
    g.end = kT + 2700;
    EXPECT_EQ(approved_line(one(approved), &g, kT),
              "Request 7 approved by bob: granted db-admin to alice until 14:50 UTC (45m), grant 1a2b3c4d");
}

TEST(RequestTextTest, ApproveLine) {
    Spec first;
    first.approvals = 1;
    first.needed = 2;
    first.mine = false;
    EXPECT_EQ(approve_line(one(first), nullptr, kT), "Approved request 7 (1 of 2); waiting for 1 more approval");
    first.needed = 3;
    EXPECT_EQ(approve_line(one(first), nullptr, kT), "Approved request 7 (1 of 3); waiting for 2 more approvals");

    Spec last;
    last.state = "approved";
    last.approvals = 1;
    last.mine = false;
    Grant g;
    g.user = "alice";
    g.role = "db-admin";
    g.start = kT;
    g.end = kT + 2700;
    EXPECT_EQ(approve_line(one(last), &g, kT),
              "Approved request 7 (1 of 1): grant for alice db-admin is active until 14:50 UTC");
    EXPECT_EQ(approve_line(one(last), nullptr, kT), "Approved request 7 (1 of 1)");
}

TEST(RequestTextTest, Table) {
    Spec theirs;
    theirs.id = 12;
    theirs.user = "bob";
    theirs.mine = false;
    theirs.can_decide = true;
    Spec denied;
    denied.id = 3;
    denied.state = "denied";
    denied.decided_by = "carol";
    auto all = decoded({{}, theirs, denied});
    std::ostringstream out;
    render_requests(out, {&all[0], &all[1], &all[2]}, kT);
    EXPECT_EQ(out.str(),
              "ID  USER   ROLE      STATE    APPROVALS  EXPIRES                          YOU         REASON\n"
              "7   alice  db-admin  pending  0/1        2026-11-26 15:55 UTC (in 1h50m)  yours       INC-4711\n"
              "12  bob    db-admin  pending  0/1        2026-11-26 15:55 UTC (in 1h50m)  can decide  INC-4711\n"
              "3   alice  db-admin  denied   0/1        -                                yours       INC-4711\n");
}

}  // namespace
}  // namespace elevate::cli
