// The approval and push verbs end to end against a scripted daemon
// (fake_daemon.h): what they send, what they print, and how they exit. Also
// their argument tables: request ids, deny's required reason, --wait values.
#include "cli/output.h"
#include "cli/verbs.h"
#include "fake_daemon.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace elevate::cli {
namespace {

using testing::Captured;
using testing::FakeDaemon;
using testing::make_reply;
using testing::StdinText;

// As main.cpp does it: parse with the verb's table, then run.
int run_verb(const Verb& verb, const Context& ctx, const std::vector<std::string>& args) {
    auto parsed = parse_args(verb.spec, args);
    if (!parsed) return report_usage(ctx, verb.name, parsed.error().message);
    return verb.run(ctx, *parsed);
}

std::string parse_error(const Verb& verb, const std::vector<std::string>& args) {
    auto parsed = parse_args(verb.spec, args);
    return parsed.ok() ? "(accepted)" : parsed.error().message;
}

struct RequestSpec {
    std::string state = "pending";
    uint64_t approvals = 0;
    uint64_t needed = 1;
    std::string decided_by;
    bool mine = true;
};

constexpr int64_t kExpires = 1795708500;  // 2026-11-26 15:55 UTC

void put_request(wire::FieldWriter& w, const RequestSpec& s) {
    w.begin_record(wire::Tag::Request);
    w.put_u64(wire::Tag::RequestId, 7);
    w.put_str(wire::Tag::User, "alice");
    w.put_str(wire::Tag::Role, "db-admin");
    w.put_str(wire::Tag::Reason, "INC-4711");
    w.put_u64(wire::Tag::Expires, uint64_t(kExpires));
    w.put_str(wire::Tag::State, s.state);
    w.put_str(wire::Tag::Approvers, "group:sec-leads");
    w.put_u64(wire::Tag::Approvals, s.approvals);
    w.put_u64(wire::Tag::Needed, s.needed);
    if (!s.decided_by.empty()) w.put_str(wire::Tag::DecidedBy, s.decided_by);
    w.put_bool(wire::Tag::Mine, s.mine);
    w.end_record();
}

// A grant for alice's db-admin that started now and lasts 45 minutes.
const int64_t kNow = now_seconds();
void put_grant(wire::FieldWriter& w) {
    w.begin_record(wire::Tag::Grant);
    w.put_str(wire::Tag::GrantId, "1a2b3c4d-5e6f-4a0b-8c0d-000000000000");
    w.put_str(wire::Tag::User, "alice");
    w.put_str(wire::Tag::Role, "db-admin");
    w.put_u64(wire::Tag::Start, uint64_t(kNow));
    w.put_u64(wire::Tag::End, uint64_t(kNow + 2700));
    w.put_str(wire::Tag::State, "active");
    w.end_record();
}

std::vector<uint8_t> request_reply(const RequestSpec& s, bool with_grant = false,
                                   wire::Status status = wire::Status::Ok) {
    return make_reply(status, [&](wire::FieldWriter& w) {
        put_request(w, s);
        if (with_grant) put_grant(w);
    });
}

std::vector<uint8_t> grant_reply() {
    return make_reply(wire::Status::Ok, [](wire::FieldWriter& w) { put_grant(w); });
}

std::vector<uint8_t> push_reply(uint64_t timeout) {
    return make_reply(wire::Status::Ok, [&](wire::FieldWriter& w) {
        w.put_str(wire::Tag::Challenge, "c0ffee00-0000-4000-8000-000000000000");
        w.put_str(wire::Tag::Label, "Pixel 7");
        w.put_u64(wire::Tag::Timeout, timeout);
    });
}

std::string str_field(const testing::Received& r, wire::Tag tag) {
    std::string_view v;
    return r.fields.get_str(tag, &v) ? std::string(v) : "(absent)";
}

uint64_t u64_field(const testing::Received& r, wire::Tag tag) {
    uint64_t v = 0;
    EXPECT_TRUE(r.fields.get_u64(tag, &v)) << "tag " << static_cast<int>(tag);
    return v;
}

const std::string kPendingLine =
    "Request 7 for db-admin is waiting for approval by group:sec-leads (0 of 1 approvals; expires 2026-11-26 15:55 "
    "UTC). See: elevatectl requests";

// --- argument tables ------------------------------------------------------

TEST(VerbArgsTest, RequestIdVerbsTakeExactlyOneId) {
    for (const Verb* verb : {&approve_verb(), &cancel_verb(), &wait_verb()}) {
        SCOPED_TRACE(std::string(verb->name));
        EXPECT_EQ(parse_error(*verb, {}), "missing ID");
        EXPECT_EQ(parse_error(*verb, {"7", "8"}), "unexpected argument '8'");
        EXPECT_EQ(parse_error(*verb, {"7"}), "(accepted)");
        EXPECT_EQ(parse_error(*verb, {"--help"}), "(accepted)");
    }
    EXPECT_EQ(parse_error(deny_verb(), {"--reason", "no"}), "missing ID");
    EXPECT_EQ(parse_error(deny_verb(), {"7", "8", "--reason", "no"}), "unexpected argument '8'");
    EXPECT_EQ(parse_error(unlock_verb(), {}), "missing USER");
    EXPECT_EQ(parse_error(unlock_verb(), {"alice", "bob"}), "unexpected argument 'bob'");
    EXPECT_EQ(parse_error(requests_verb(), {"7"}), "unexpected argument '7'");
}

// A malformed id is a usage error (exit 2) before anything is sent.
TEST(VerbArgsTest, MalformedRequestIdIsAUsageError) {
    FakeDaemon daemon;
    const struct {
        const Verb* verb;
        std::vector<std::string> extra;
    } verbs[] = {{&approve_verb(), {}}, {&deny_verb(), {"--reason", "no"}}, {&cancel_verb(), {}}, {&wait_verb(), {}}};
    for (const auto& v : verbs) {
        for (const std::string id : {"0", "abc", "7x", "1.5", "#7", "99999999999999999999", "--", "-7"}) {
            SCOPED_TRACE(std::string(v.verb->name) + " " + id);
            std::vector<std::string> args = v.extra;
            if (id == "--") {
                args.insert(args.end(), {"--", "-7"});
            } else {
                args.push_back(id);
            }
            Captured io;
            EXPECT_EQ(run_verb(*v.verb, daemon.context(), args), kExitUsage);
            EXPECT_NE(io.err().find("Try 'elevatectl " + std::string(v.verb->name) + " --help'."), std::string::npos);
        }
    }
    EXPECT_TRUE(daemon.received().empty());

    Captured io;
    EXPECT_EQ(run_verb(approve_verb(), daemon.context(), {"x7"}), kExitUsage);
    EXPECT_EQ(io.err(),
              "elevatectl: 'x7' is not a request id (a positive whole number, as elevatectl requests shows)\n"
              "Try 'elevatectl approve --help'.\n");
}

TEST(VerbArgsTest, DenyNeedsAReason) {
    EXPECT_EQ(parse_error(deny_verb(), {"7"}), "option --reason is required");
    EXPECT_EQ(parse_error(deny_verb(), {"7", "--reason"}), "option --reason needs a value");
    EXPECT_EQ(parse_error(deny_verb(), {"7", "--reason="}), "option --reason needs a value");
    EXPECT_EQ(parse_error(deny_verb(), {"7", "--reason", "not during the freeze"}), "(accepted)");
    EXPECT_EQ(parse_error(deny_verb(), {"--help"}), "(accepted)");
    // cancel's reason is optional; approve has none.
    EXPECT_EQ(parse_error(cancel_verb(), {"7"}), "(accepted)");
    EXPECT_EQ(parse_error(approve_verb(), {"7", "--reason", "x"}), "unknown option '--reason'");
}

TEST(VerbArgsTest, WaitValues) {
    auto wait_of = [](const std::vector<std::string>& args) {
        auto parsed = parse_args(activate_verb().spec, args);
        EXPECT_TRUE(parsed.ok()) << parsed.error().message;
        return parsed.ok() && parsed->has("wait") ? parsed->number("wait").value_or(-1) : 0;
    };
    EXPECT_EQ(wait_of({"db"}), 0);
    EXPECT_EQ(wait_of({"db", "--wait"}), -1);  // given, default applies
    EXPECT_EQ(wait_of({"--wait", "db"}), -1);  // db stays the role
    EXPECT_EQ(wait_of({"db", "--wait=60"}), 60);
    EXPECT_EQ(wait_of({"db", "--wait=3600"}), 3600);

    const struct {
        std::vector<std::string> args;
        std::string message;
    } bad[] = {
        {{"db", "--wait=0"}, "invalid value '0' for --wait (whole seconds, 1 to 3600)"},
        {{"db", "--wait=3601"}, "invalid value '3601' for --wait (whole seconds, 1 to 3600)"},
        {{"db", "--wait=5m"}, "invalid value '5m' for --wait (whole seconds, 1 to 3600)"},
        {{"db", "--wait="}, "option --wait needs a value"},
        {{"db", "--wait", "60"}, "unexpected argument '60' (write --wait=60 to give it a value)"},
        {{"db", "--wait", "--wait"}, "option --wait given twice"},
    };
    for (const auto& c : bad) EXPECT_EQ(parse_error(activate_verb(), c.args), c.message);

    EXPECT_EQ(parse_error(wait_verb(), {"7", "--timeout", "60"}), "(accepted)");
    EXPECT_EQ(parse_error(wait_verb(), {"7", "--timeout=0"}),
              "invalid value '0' for --timeout (whole seconds, 1 to 3600)");
    EXPECT_EQ(parse_error(wait_verb(), {"7", "--timeout"}), "option --timeout needs a value");
}

TEST(VerbArgsTest, PushAndCodeAreExclusive) {
    FakeDaemon daemon;
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--push", "--code", "123456"}), kExitUsage);
    EXPECT_NE(io.err().find("choose one of --code and --push"), std::string::npos);
    EXPECT_TRUE(daemon.received().empty());
}

// --- activate -------------------------------------------------------------

TEST(ActivateTest, GrantedAtOnce) {
    FakeDaemon daemon;
    daemon.queue(grant_reply());
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--code", "123456", "--reason", "INC-4711"}),
              kExitOk);
    EXPECT_EQ(io.out(),
              "Granted db-admin until " + format_until(kNow + 2700, now_seconds()) + " (45m), grant 1a2b3c4d\n");
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].op, wire::Op::Activate);
    EXPECT_EQ(str_field(sent[0], wire::Tag::Code), "123456");
    EXPECT_EQ(str_field(sent[0], wire::Tag::Challenge), "(absent)");
    EXPECT_EQ(str_field(sent[0], wire::Tag::Service), "elevatectl");
}

TEST(ActivateTest, ApprovalNeededExitsPending) {
    FakeDaemon daemon;
    daemon.queue(request_reply({}));
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--code", "123456"}), kExitPending);
    EXPECT_EQ(kExitPending, 8);
    EXPECT_EQ(io.out(), kPendingLine + "\n");
    EXPECT_EQ(io.err(), "");
}

TEST(ActivateTest, ApprovalNeededJson) {
    FakeDaemon daemon;
    daemon.queue(request_reply({}));
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(true), {"db-admin", "--code", "123456"}), kExitPending);
    auto j = nlohmann::json::parse(io.out());
    EXPECT_EQ(j["request"]["id"], 7);
    EXPECT_EQ(j["request"]["state"], "pending");
    EXPECT_EQ(j["request"]["approvers"], "group:sec-leads");
    EXPECT_FALSE(j.contains("grant"));
}

TEST(ActivateTest, AlreadyPendingIsAConflictThatNamesTheRequest) {
    FakeDaemon daemon;
    daemon.queue(make_reply(
        wire::Status::Conflict, [](wire::FieldWriter& w) { put_request(w, {}); },
        "you already have a pending request for db-admin"));
    {
        Captured io;
        EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--code", "123456"}), kExitConflict);
        EXPECT_EQ(io.out(), "");
        EXPECT_EQ(io.err(), "elevatectl: " + kPendingLine + "\n");
    }
    // Without a request record a conflict is reported as before.
    daemon.queue(make_reply(wire::Status::Conflict, {}, "a grant appeared meanwhile"));
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(true), {"db-admin", "--code", "123456"}), kExitConflict);
    auto j = nlohmann::json::parse(io.out());
    EXPECT_EQ(j["status"], "conflict");
    EXPECT_EQ(j["error"], "a grant appeared meanwhile");
}

TEST(ActivateTest, WaitFollowsTheRequestUntilApproved) {
    FakeDaemon daemon;
    daemon.queue(request_reply({}));
    RequestSpec approved;
    approved.state = "approved";
    approved.approvals = 1;
    approved.decided_by = "bob";
    daemon.queue(request_reply(approved, true));
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--code", "123456", "--wait"}), kExitOk);
    EXPECT_EQ(io.err(),
              "Request 7 for db-admin needs approval by group:sec-leads (0 of 1 approvals); waiting up to 300 s...\n");
    EXPECT_EQ(io.out(), "Request 7 approved by bob: granted db-admin to alice until " +
                            format_until(kNow + 2700, now_seconds()) + " (45m), grant 1a2b3c4d\n");
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[1].op, wire::Op::RequestWait);
    EXPECT_EQ(u64_field(sent[1], wire::Tag::RequestId), 7u);
    EXPECT_EQ(u64_field(sent[1], wire::Tag::Wait), 300u);
}

// Waits longer than the daemon's 600 s per call are several calls.
TEST(ActivateTest, LongWaitIsSplitIntoCallsOfAtMost600Seconds) {
    FakeDaemon daemon;
    daemon.queue(request_reply({}));
    daemon.queue(request_reply({}));  // answered early, still pending
    RequestSpec denied;
    denied.state = "denied";
    denied.decided_by = "bob";
    daemon.queue(request_reply(denied));
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--code", "1", "--wait=900"}), kExitDenied);
    EXPECT_EQ(io.out(), "");
    EXPECT_NE(io.err().find("elevatectl: request 7 for db-admin was denied by bob\n"), std::string::npos);
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(u64_field(sent[1], wire::Tag::Wait), 600u);
    EXPECT_LE(u64_field(sent[2], wire::Tag::Wait), 600u);
}

TEST(ActivateTest, StillPendingWhenTheWaitRunsOut) {
    FakeDaemon daemon;
    daemon.queue(request_reply({}));
    daemon.queue(request_reply({}), 1100);  // the daemon waited `wait` = 1 s
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--code", "1", "--wait=1"}), kExitPending);
    EXPECT_EQ(io.out(), kPendingLine + "\n");
    EXPECT_EQ(daemon.received().size(), 2u);
}

// The activate call that presents a push challenge may take the push's
// timeout on top of the usual deadline (1 s here).
TEST(ActivateTest, PushExtendsTheDeadlineOfTheActivateCall) {
    FakeDaemon daemon;
    daemon.queue(push_reply(2));
    daemon.queue(grant_reply(), 1500);  // the user takes 1.5 s to answer
    Context ctx = daemon.context();
    ctx.client.timeout_ms = 1000;
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), ctx, {"db-admin", "--push", "--reason", "INC-4711"}), kExitOk);
    EXPECT_EQ(io.err(), "Push sent to Pixel 7, waiting up to 2 s...\n");
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].op, wire::Op::PushStart);
    EXPECT_EQ(str_field(sent[0], wire::Tag::Role), "db-admin");
    EXPECT_EQ(str_field(sent[0], wire::Tag::Reason), "INC-4711");
    EXPECT_EQ(sent[1].op, wire::Op::Activate);
    EXPECT_EQ(str_field(sent[1], wire::Tag::Challenge), "c0ffee00-0000-4000-8000-000000000000");
    EXPECT_EQ(str_field(sent[1], wire::Tag::Code), "(absent)");
}

// The control for the test above: without a push the same delay misses the
// 1 s deadline.
TEST(ActivateTest, CodeKeepsTheUsualDeadline) {
    FakeDaemon daemon;
    daemon.queue(grant_reply(), 1500);
    Context ctx = daemon.context();
    ctx.client.timeout_ms = 1000;
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), ctx, {"db-admin", "--code", "123456"}), kExitUnreachable);
}

TEST(ActivateTest, PushWithJsonPrintsNoProgress) {
    FakeDaemon daemon;
    daemon.queue(push_reply(60));
    daemon.queue(grant_reply());
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(true), {"db-admin", "--push"}), kExitOk);
    EXPECT_EQ(io.err(), "");
    EXPECT_EQ(nlohmann::json::parse(io.out())["grant"]["role"], "db-admin");
}

TEST(ActivateTest, PushOutcomes) {
    const struct {
        wire::Status status;
        const char* message;
        int exit_code;
    } cases[] = {
        {wire::Status::Denied, "push denied on Pixel 7", kExitDenied},
        {wire::Status::Locked, "you reported this push as not yours; ask an administrator to unlock you", kExitDenied},
        {wire::Status::Unavailable, "the push provider did not answer", kExitDaemonError},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.message);
        FakeDaemon daemon;
        daemon.queue(push_reply(60));
        daemon.queue(make_reply(c.status, {}, c.message));
        Captured io;
        EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--push"}), c.exit_code);
        EXPECT_EQ(io.err(),
                  "Push sent to Pixel 7, waiting up to 60 s...\nelevatectl: " + std::string(c.message) + "\n");
    }
    // push_start itself can fail: no device, provider down.
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Unavailable, {}, "cannot reach the push provider"));
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--push"}), kExitDaemonError);
    EXPECT_EQ(io.err(), "elevatectl: cannot reach the push provider\n");
    EXPECT_EQ(daemon.received().size(), 1u);
}

TEST(ActivateTest, PushReplyWithoutChallengeIsMalformed) {
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Ok, [](wire::FieldWriter& w) { w.put_u64(wire::Tag::Timeout, 60); }));
    Captured io;
    EXPECT_EQ(run_verb(activate_verb(), daemon.context(), {"db-admin", "--push"}), kExitUnreachable);
    EXPECT_EQ(daemon.received().size(), 1u);
}

// --- approve, deny, cancel, wait, requests, unlock --------------------------

TEST(ApproveTest, ReadsTheApproversCodeFromStdin) {
    FakeDaemon daemon;
    RequestSpec partly;
    partly.approvals = 1;
    partly.needed = 2;
    partly.mine = false;
    daemon.queue(request_reply(partly));
    StdinText code("654321\n");
    Captured io;
    EXPECT_EQ(run_verb(approve_verb(), daemon.context(), {"7"}), kExitOk);
    EXPECT_EQ(io.out(), "Approved request 7 (1 of 2); waiting for 1 more approval\n");
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].op, wire::Op::RequestDecide);
    EXPECT_EQ(u64_field(sent[0], wire::Tag::RequestId), 7u);
    EXPECT_EQ(str_field(sent[0], wire::Tag::Decision), "approve");
    EXPECT_EQ(str_field(sent[0], wire::Tag::Code), "654321");
}

TEST(ApproveTest, WithPushCompletesTheRequest) {
    FakeDaemon daemon;
    daemon.queue(push_reply(2));
    RequestSpec done;
    done.state = "approved";
    done.approvals = 1;
    done.mine = false;
    daemon.queue(request_reply(done, true), 1200);
    Context ctx = daemon.context();
    ctx.client.timeout_ms = 1000;
    Captured io;
    EXPECT_EQ(run_verb(approve_verb(), ctx, {"7", "--push"}), kExitOk);
    EXPECT_EQ(io.err(), "Push sent to Pixel 7, waiting up to 2 s...\n");
    EXPECT_EQ(io.out(), "Approved request 7 (1 of 1): grant for alice db-admin is active until " +
                            format_until(kNow + 2700, now_seconds()) + "\n");
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(str_field(sent[0], wire::Tag::Role), "(absent)");  // an approver's push names no role
    EXPECT_EQ(str_field(sent[1], wire::Tag::Challenge), "c0ffee00-0000-4000-8000-000000000000");
    EXPECT_EQ(str_field(sent[1], wire::Tag::Code), "(absent)");
}

TEST(ApproveTest, OwnRequestIsForbidden) {
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Forbidden, {}, "you may not approve your own request"));
    StdinText code("654321\n");
    Captured io;
    EXPECT_EQ(run_verb(approve_verb(), daemon.context(), {"7"}), kExitForbidden);
    EXPECT_EQ(io.err(), "elevatectl: permission denied: you may not approve your own request\n");
}

TEST(DenyTest, SendsTheReasonAndNoFactor) {
    FakeDaemon daemon;
    RequestSpec denied;
    denied.state = "denied";
    denied.decided_by = "bob";
    denied.mine = false;
    daemon.queue(request_reply(denied));
    Captured io;
    EXPECT_EQ(run_verb(deny_verb(), daemon.context(), {"7", "--reason", "not during the freeze"}), kExitOk);
    EXPECT_EQ(io.out(), "Denied request 7 (alice, db-admin)\n");
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(str_field(sent[0], wire::Tag::Decision), "deny");
    EXPECT_EQ(str_field(sent[0], wire::Tag::Reason), "not during the freeze");
    EXPECT_EQ(str_field(sent[0], wire::Tag::Code), "(absent)");
}

TEST(CancelTest, Cancels) {
    FakeDaemon daemon;
    RequestSpec cancelled;
    cancelled.state = "cancelled";
    daemon.queue(request_reply(cancelled));
    Captured io;
    EXPECT_EQ(run_verb(cancel_verb(), daemon.context(), {"7"}), kExitOk);
    EXPECT_EQ(io.out(), "Cancelled request 7 for db-admin\n");
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].op, wire::Op::RequestCancel);
    EXPECT_EQ(str_field(sent[0], wire::Tag::Reason), "(absent)");
}

TEST(WaitTest, ReportsHowTheRequestEnded) {
    const struct {
        const char* state;
        int exit_code;
        const char* err;
    } cases[] = {
        {"expired", kExitDenied,
         "elevatectl: request 7 for db-admin expired at 2026-11-26 15:55 UTC with 0 of 1 approvals\n"},
        {"cancelled", kExitDenied, "elevatectl: request 7 for db-admin was cancelled\n"},
        {"escalated", kExitDaemonError, "elevatectl: request 7 for db-admin is in state 'escalated'\n"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.state);
        FakeDaemon daemon;
        RequestSpec s;
        s.state = c.state;
        daemon.queue(request_reply(s));
        Captured io;
        EXPECT_EQ(run_verb(wait_verb(), daemon.context(), {"7", "--timeout", "60"}), c.exit_code);
        EXPECT_EQ(io.err(), "Waiting up to 60 s for a decision on request 7...\n" + std::string(c.err));
        auto sent = daemon.received();
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(u64_field(sent[0], wire::Tag::Wait), 60u);
    }
}

TEST(WaitTest, JsonCarriesTheRequest) {
    FakeDaemon daemon;
    RequestSpec denied;
    denied.state = "denied";
    denied.decided_by = "bob";
    daemon.queue(request_reply(denied));
    Captured io;
    EXPECT_EQ(run_verb(wait_verb(), daemon.context(true), {"7"}), kExitDenied);
    EXPECT_EQ(io.err(), "");
    auto j = nlohmann::json::parse(io.out());
    EXPECT_EQ(j["status"], "denied");
    EXPECT_EQ(j["request"]["decided_by"], "bob");
    EXPECT_EQ(u64_field(daemon.received()[0], wire::Tag::Wait), 300u);
}

TEST(RequestsTest, ListsPendingByDefaultAndAllOnRequest) {
    auto reply = [] {
        return make_reply(wire::Status::Ok, [](wire::FieldWriter& w) {
            put_request(w, {});
            RequestSpec old;
            old.state = "denied";
            put_request(w, old);
            w.put_u64(wire::Tag::Total, 2);
        });
    };
    FakeDaemon daemon;
    daemon.queue(reply());
    daemon.queue(reply());
    daemon.queue(reply());
    {
        Captured io;
        EXPECT_EQ(run_verb(requests_verb(), daemon.context(), {}), kExitOk);
        // EXPIRES has a relative part ("in 1h", "3d ago"), so its width varies.
        EXPECT_EQ(io.out().rfind("ID  USER   ROLE      STATE    APPROVALS  EXPIRES  ", 0), 0u) << io.out();
        EXPECT_NE(io.out().find("YOU    REASON\n"), std::string::npos);
        EXPECT_NE(io.out().find("\n7   alice  db-admin  pending  0/1        2026-11-26 15:55 UTC ("),
                  std::string::npos);
        EXPECT_EQ(io.out().find("denied"), std::string::npos);
        EXPECT_NE(io.out().find("(1 decided in the last 24 h not shown; see --all)"), std::string::npos);
    }
    {
        Captured io;
        EXPECT_EQ(run_verb(requests_verb(), daemon.context(), {"--all"}), kExitOk);
        EXPECT_NE(io.out().find("denied"), std::string::npos);
    }
    Captured io;
    EXPECT_EQ(run_verb(requests_verb(), daemon.context(true), {"--all"}), kExitOk);
    auto j = nlohmann::json::parse(io.out());
    ASSERT_EQ(j["requests"].size(), 2u);
    EXPECT_EQ(j["total"], 2);
    EXPECT_EQ(j["requests"][0]["mine"], true);
    EXPECT_EQ(daemon.received()[0].op, wire::Op::RequestList);
}

TEST(RequestsTest, Empty) {
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Ok, [](wire::FieldWriter& w) { w.put_u64(wire::Tag::Total, 0); }));
    daemon.queue(make_reply(wire::Status::Ok));
    {
        Captured io;
        EXPECT_EQ(run_verb(requests_verb(), daemon.context(), {}), kExitOk);
        EXPECT_EQ(io.out(), "No approval requests.\n");
    }
    Captured io;
    EXPECT_EQ(run_verb(requests_verb(), daemon.context(true), {}), kExitOk);
    EXPECT_EQ(io.out(), "{\"requests\":[],\"total\":0}\n");
}

TEST(UnlockTest, Unlocks) {
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Ok));
    daemon.queue(make_reply(wire::Status::Forbidden, {}, "only administrators may unlock users"));
    {
        Captured io;
        EXPECT_EQ(run_verb(unlock_verb(), daemon.context(), {"alice"}), kExitOk);
        EXPECT_EQ(io.out(), "Unlocked alice: elevation is allowed again\n");
    }
    Captured io;
    EXPECT_EQ(run_verb(unlock_verb(), daemon.context(), {"alice"}), kExitForbidden);
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].op, wire::Op::Unlock);
    EXPECT_EQ(str_field(sent[0], wire::Tag::User), "alice");
}

}  // namespace
// --- risk ---------------------------------------------------------------------

TEST(RiskVerbTest, ListPrintsUsersAndNetworks) {
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Ok, [](wire::FieldWriter& w) {
        w.begin_record(wire::Tag::RiskEntry);
        w.put_str(wire::Tag::User, "alice");
        w.put_str(wire::Tag::RiskLevel, "high");
        w.put_u64(wire::Tag::RiskScore, 100);
        w.put_u64(wire::Tag::Time, uint64_t(kNow));
        w.put_str(wire::Tag::EventType, "fraud");
        w.put_str(wire::Tag::Evidence, "push reported as fraud");
        w.end_record();
        w.begin_record(wire::Tag::RiskEntry);
        w.put_str(wire::Tag::Network, "10.9.9.0/24");
        w.put_str(wire::Tag::RiskLevel, "medium");
        w.put_u64(wire::Tag::RiskScore, 50);
        w.put_u64(wire::Tag::Time, uint64_t(kNow));
        w.end_record();
    }));
    Captured io;
    EXPECT_EQ(run_verb(risk_verb(), daemon.context(true), {}), kExitOk);
    auto j = nlohmann::json::parse(io.out());
    ASSERT_EQ(j["users"].size(), 1u);
    EXPECT_EQ(j["users"][0]["user"], "alice");
    EXPECT_EQ(j["users"][0]["level"], "high");
    EXPECT_EQ(j["users"][0]["latest"]["type"], "fraud");
    ASSERT_EQ(j["networks"].size(), 1u);
    EXPECT_EQ(j["networks"][0]["network"], "10.9.9.0/24");
    EXPECT_EQ(j["networks"][0]["score"], 50);
    EXPECT_EQ(daemon.received().at(0).op, wire::Op::RiskList);
}

TEST(RiskVerbTest, ShowPrintsTheEvents) {
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Ok, [](wire::FieldWriter& w) {
        w.put_str(wire::Tag::User, "alice");
        w.put_str(wire::Tag::RiskLevel, "low");
        w.put_u64(wire::Tag::RiskScore, 10);
        w.begin_record(wire::Tag::RiskEvent);
        w.put_str(wire::Tag::EventType, "wrong-code");
        w.put_u64(wire::Tag::Time, uint64_t(kNow));
        w.put_u64(wire::Tag::Weight, 10);
        w.put_str(wire::Tag::Network, "192.0.2.0/24");
        w.put_str(wire::Tag::Evidence, "wrong verification code from 192.0.2.0/24");
        w.end_record();
    }));
    Captured io;
    EXPECT_EQ(run_verb(risk_verb(), daemon.context(), {"show", "alice"}), kExitOk);
    EXPECT_NE(io.out().find("Risk:   low (score 10)\n"), std::string::npos) << io.out();
    EXPECT_NE(io.out().find("wrong-code"), std::string::npos) << io.out();
    EXPECT_NE(io.out().find("+10"), std::string::npos) << io.out();
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].op, wire::Op::RiskShow);
    EXPECT_EQ(str_field(sent[0], wire::Tag::User), "alice");
}

TEST(RiskVerbTest, DismissAndConfirmNeedAReason) {
    FakeDaemon daemon;
    Captured io;
    EXPECT_EQ(run_verb(risk_verb(), daemon.context(), {"confirm", "alice"}), kExitUsage);
    EXPECT_EQ(run_verb(risk_verb(), daemon.context(), {"dismiss"}), kExitUsage);
    EXPECT_EQ(run_verb(risk_verb(), daemon.context(), {"forget", "alice"}), kExitUsage);
    EXPECT_TRUE(daemon.received().empty());
    daemon.queue(make_reply(wire::Status::Ok, [](wire::FieldWriter& w) {
        w.put_str(wire::Tag::User, "alice");
        w.put_str(wire::Tag::RiskLevel, "high");
        put_grant(w);
    }));
    EXPECT_EQ(run_verb(risk_verb(), daemon.context(), {"confirm", "alice", "--reason", "INC-1"}), kExitOk);
    EXPECT_NE(io.out().find("Confirmed alice compromised: level high, elevation blocked\nRevoked grant 1a2b3c4d "
                            "(db-admin)\n"),
              std::string::npos)
        << io.out();
    auto sent = daemon.received();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].op, wire::Op::RiskConfirm);
    EXPECT_EQ(str_field(sent[0], wire::Tag::Reason), "INC-1");
}

TEST(StatusVerbTest, PrintsTheRiskLevel) {
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Ok, [](wire::FieldWriter& w) {
        w.put_str(wire::Tag::User, "alice");
        w.put_bool(wire::Tag::Enrolled, true);
        w.put_str(wire::Tag::RiskLevel, "medium");
    }));
    Captured io;
    EXPECT_EQ(run_verb(status_verb(), daemon.context(), {}), kExitOk);
    EXPECT_NE(io.out().find("Locked:    no\nRisk:      medium\n"), std::string::npos) << io.out();
}

// --- explain ------------------------------------------------------------

namespace {

constexpr int64_t kExplainAt = 1796254200;  // 2026-12-02 23:30 UTC

void put_trace(wire::FieldWriter& w, const std::string& rule, bool matched, const std::string& why,
               const std::string& effect, const std::string& mode = "enforce") {
    w.begin_record(wire::Tag::RuleTrace);
    w.put_str(wire::Tag::RuleName, rule);
    w.put_str(wire::Tag::Mode, mode);
    w.put_bool(wire::Tag::Matched, matched);
    w.put_str(wire::Tag::Why, why);
    w.put_str(wire::Tag::Effect, effect);
    w.end_record();
}

std::vector<uint8_t> explain_reply(const std::string& outcome, bool with_traces = true) {
    const bool denied = outcome == "deny";
    return make_reply(wire::Status::Ok, [&](wire::FieldWriter& w) {
        w.put_str(wire::Tag::User, "alice");
        w.put_str(wire::Tag::Role, "db-admin");
        w.put_str(wire::Tag::Service, "sshd");
        w.put_str(wire::Tag::Source, "10.1.2.3");
        w.put_u64(wire::Tag::At, uint64_t(kExplainAt));
        w.put_str(wire::Tag::RiskLevel, "none");
        w.put_str(wire::Tag::Outcome, outcome);
        w.put_str(wire::Tag::RuleName, denied ? "off-hours" : "default");
        w.put_str(wire::Tag::Effect, denied ? "not outside business hours" : "ask for a verification code");
        w.put_str(wire::Tag::Why, denied ? "" : "user alice is listed in eligible_users");
        if (!with_traces) return;
        put_trace(w, "trial", true, "all conditions hold", "deny: trial", "report-only");
        put_trace(w, "off-hours", denied, denied ? "all conditions hold" : "the time is inside schedule business",
                  "deny: not outside business hours");
    });
}

}  // namespace

TEST(ExplainVerbTest, SendsTheDescribedRequest) {
    FakeDaemon daemon;
    daemon.queue(explain_reply("factor"));
    Captured io;
    EXPECT_EQ(run_verb(explain_verb(), daemon.context(),
                       {"--user", "alice", "--role", "db-admin", "--service", "sshd", "--from", "10.1.2.3", "--at",
                        "2026-12-02T23:30Z", "--tty"}),
              kExitOk);
    auto got = daemon.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].op, wire::Op::Explain);
    EXPECT_EQ(str_field(got[0], wire::Tag::User), "alice");
    EXPECT_EQ(str_field(got[0], wire::Tag::Role), "db-admin");
    EXPECT_EQ(str_field(got[0], wire::Tag::Service), "sshd");
    EXPECT_EQ(str_field(got[0], wire::Tag::RemoteHost), "10.1.2.3");
    EXPECT_EQ(u64_field(got[0], wire::Tag::At), uint64_t(kExplainAt));
    bool tty = false;
    EXPECT_TRUE(got[0].fields.get_bool(wire::Tag::HasTty, &tty) && tty);
}

TEST(ExplainVerbTest, PrintsEachRuleAndTheOutcome) {
    FakeDaemon daemon;
    daemon.queue(explain_reply("factor"));
    Captured io;
    EXPECT_EQ(run_verb(explain_verb(), daemon.context(), {"--role", "db-admin"}), kExitOk);
    EXPECT_EQ(io.out(),
              "Request:  alice as db-admin through sshd from 10.1.2.3 at 2026-12-02 23:30 UTC\n"
              "Risk:     none\n"
              "\n"
              "  match   trial (report-only): all conditions hold\n"
              "          deny: trial\n"
              "  no      off-hours: the time is inside schedule business\n"
              "\n"
              "Decided by: default\n"
              "Because:    user alice is listed in eligible_users\n"
              "Outcome:    factor: ask for a verification code\n");
}

TEST(ExplainVerbTest, ADenialExitsOneAndJsonCarriesTheRules) {
    FakeDaemon daemon;
    daemon.queue(explain_reply("deny"));
    daemon.queue(explain_reply("deny"));
    {
        Captured io;
        EXPECT_EQ(run_verb(explain_verb(), daemon.context(), {}), kExitDenied);
        EXPECT_NE(io.out().find("Outcome:    deny: not outside business hours\n"), std::string::npos) << io.out();
        EXPECT_EQ(io.out().find("Because:"), std::string::npos) << io.out();
    }
    Captured io;
    EXPECT_EQ(run_verb(explain_verb(), daemon.context(true), {}), kExitDenied);
    auto j = nlohmann::json::parse(io.out());
    EXPECT_EQ(j["outcome"], "deny");
    EXPECT_EQ(j["rule"], "off-hours");
    EXPECT_EQ(j["at"], kExplainAt);
    ASSERT_EQ(j["rules"].size(), 2u);
    EXPECT_EQ(j["rules"][0]["mode"], "report-only");
    EXPECT_EQ(j["rules"][1]["matched"], true);
}

TEST(ExplainVerbTest, WithoutRulesSaysSo) {
    FakeDaemon daemon;
    daemon.queue(explain_reply("factor", false));
    Captured io;
    EXPECT_EQ(run_verb(explain_verb(), daemon.context(), {}), kExitOk);
    EXPECT_NE(io.out().find("No rules are configured.\n"), std::string::npos) << io.out();
}

TEST(ExplainVerbTest, ABadTimeIsAUsageErrorAndNothingIsSent) {
    FakeDaemon daemon;
    Captured io;
    EXPECT_EQ(run_verb(explain_verb(), daemon.context(), {"--at", "tomorrow\x1b[2J"}), kExitUsage);
    EXPECT_NE(io.err().find("is not a time (use 2026-12-02T23:30Z, UTC, or @EPOCH)"), std::string::npos) << io.err();
    EXPECT_EQ(io.err().find('\x1b'), std::string::npos);  // the argument is shown printable
    EXPECT_TRUE(daemon.received().empty());
}

TEST(ExplainVerbTest, ATraceWithoutARuleNameIsAMalformedReply) {
    FakeDaemon daemon;
    daemon.queue(make_reply(wire::Status::Ok, [](wire::FieldWriter& w) {
        w.put_str(wire::Tag::Outcome, "allow");
        w.begin_record(wire::Tag::RuleTrace);
        w.put_bool(wire::Tag::Matched, true);
        w.end_record();
    }));
    Captured io;
    EXPECT_EQ(run_verb(explain_verb(), daemon.context(), {}), kExitUnreachable);
    EXPECT_NE(io.err().find("has no name"), std::string::npos) << io.err();
    EXPECT_TRUE(io.out().empty());
}

TEST(ExplainVerbTest, TimesItAccepts) {
    EXPECT_EQ(parse_explain_time("2026-12-02T23:30Z"), kExplainAt);
    EXPECT_EQ(parse_explain_time("2026-12-02T23:30:00Z"), kExplainAt);
    EXPECT_EQ(parse_explain_time("2026-12-02 23:30"), kExplainAt);
    EXPECT_EQ(parse_explain_time("@1796254200"), kExplainAt);
    for (const char* bad : {"", "@", "@-1", "@99999999999999", "2026-13-02T23:30Z", "2026-12-02T23:30+01:00", "23:30",
                            "2026-12-02T23:30Zjunk"})
        EXPECT_FALSE(parse_explain_time(bad)) << bad;
}

}  // namespace elevate::cli
