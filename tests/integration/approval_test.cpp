// The approval workflow with real users: a requester activates a role that
// needs approval, an approver (another real user, identified by the kernel)
// approves with their own code, and the grant starts; denial, cancellation,
// expiry, self-approval and durability across kill -9.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <thread>

using namespace elevate::test;
using nlohmann::json;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "prod-db"
gid = 61301
eligible_users = ["elvt-req", "elvt-appr"]
default_duration = "1h"
require_reason = true
approval = { approvers = ["user:elvt-appr", "user:elvt-req"], count = 1, timeout = "1h" }

[[role]]
name = "two-keys"
gid = 61302
eligible_users = ["elvt-req"]
approval = { approvers = ["user:elvt-appr", "user:elvt-appr2"], count = 2, timeout = "1h" }

[[role]]
name = "short-wait"
gid = 61303
eligible_users = ["elvt-req"]
approval = { approvers = ["user:elvt-appr"], timeout = "5s" }
)";

class Approval : public ::testing::Test {
protected:
    void SetUp() override {
        daemon.start();
        for (TestUser* u : {&requester, &approver, &approver2}) secrets.push_back(daemon.enroll(u->name()));
    }

    RunResult as(const TestUser& u, std::vector<std::string> args, const std::string& input = "") {
        RunOptions o;
        o.uid = u.uid();
        o.gid = u.gid();
        o.input = input;
        return daemon.ctl(args, o);
    }
    // A fresh valid code for user i (0 requester, 1 approver, 2 approver2):
    // each call uses another time-step, since a code is accepted only once.
    std::string code(size_t i) { return oathtool_code(secrets[i], now() + 30 * steps[i]++) + "\n"; }

    // Requests `role` as the requester; returns the request id.
    int64_t request(const std::string& role) {
        auto r = as(requester, {"--json", "activate", role, "--reason", "INC-4711"}, code(0));
        EXPECT_EQ(r.exit_code, 8) << r.out << r.err;
        auto j = json::parse(r.out.empty() ? "{}" : r.out);
        return j.contains("request") ? j["request"]["id"].get<int64_t>() : 0;
    }

    json status_of(const TestUser& u) {
        auto r = as(u, {"--json", "status"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return json::parse(r.out);
    }

    TestUser requester{"elvt-req"};
    TestUser approver{"elvt-appr"};
    TestUser approver2{"elvt-appr2"};
    Daemon daemon{kRoles};
    std::vector<std::string> secrets;
    int steps[3] = {-5, -5, -5};
};

}  // namespace

TEST_F(Approval, PendingThenApprovedStartsTheGrant) {
    auto pending = as(requester, {"activate", "prod-db", "--reason", "INC-4711"}, code(0));
    ASSERT_EQ(pending.exit_code, 8) << pending.out << pending.err;
    EXPECT_NE((pending.out + pending.err).find("waiting for approval by user:elvt-appr"), std::string::npos)
        << pending.out << pending.err;
    EXPECT_EQ(status_of(requester)["grants"].size(), 0u);

    auto listed = as(approver, {"--json", "requests"});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    auto requests = json::parse(listed.out)["requests"];
    ASSERT_EQ(requests.size(), 1u) << listed.out;
    EXPECT_EQ(requests[0]["user"], "elvt-req");
    EXPECT_EQ(requests[0]["state"], "pending");
    const int64_t id = requests[0]["id"];

    auto approved = as(approver, {"approve", std::to_string(id)}, code(1));
    ASSERT_EQ(approved.exit_code, 0) << approved.out << approved.err;
    EXPECT_NE(approved.out.find("Approved request " + std::to_string(id)), std::string::npos) << approved.out;

    auto grants = status_of(requester)["grants"];
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0]["role"], "prod-db");
    EXPECT_EQ(grants[0]["reason"], "INC-4711");

    // The snapshot (what NSS serves) lists the requester in the role's group.
    std::string snapshot = read_file(daemon.snapshot_path());
    EXPECT_NE(snapshot.find("elvt-req"), std::string::npos);

    std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("\"event\":\"approve\""), std::string::npos);
    EXPECT_NE(audit.find("approved with totp"), std::string::npos) << audit;
    EXPECT_NE(audit.find("by approval of request " + std::to_string(id)), std::string::npos) << audit;
}

TEST_F(Approval, ApproverCannotApproveOwnRequestAndOthersCannotApprove) {
    const int64_t id = request("prod-db");
    ASSERT_GT(id, 0);
    // The requester is listed among the approvers, but never for themself.
    auto own = as(requester, {"approve", std::to_string(id)}, code(0));
    EXPECT_EQ(own.exit_code, 4) << own.err;
    EXPECT_NE(own.err.find("your own request"), std::string::npos) << own.err;
    auto stranger = as(approver2, {"approve", std::to_string(id)}, code(2));
    EXPECT_EQ(stranger.exit_code, 4) << stranger.err;
    EXPECT_NE(stranger.err.find("is not one of them"), std::string::npos) << stranger.err;
    EXPECT_EQ(status_of(requester)["grants"].size(), 0u);
}

TEST_F(Approval, ApproverMustPassTheirOwnFactor) {
    const int64_t id = request("prod-db");
    auto wrong = as(approver, {"approve", std::to_string(id)}, "000000\n");
    EXPECT_EQ(wrong.exit_code, 1) << wrong.err;
    // The requester's code is not the approver's.
    auto borrowed = as(approver, {"approve", std::to_string(id)}, code(0));
    EXPECT_EQ(borrowed.exit_code, 1) << borrowed.err;
    EXPECT_EQ(status_of(requester)["grants"].size(), 0u);
    auto ok = as(approver, {"approve", std::to_string(id)}, code(1));
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(Approval, TwoApprovalsNeededFromDistinctApprovers) {
    const int64_t id = request("two-keys");
    auto first = as(approver, {"approve", std::to_string(id)}, code(1));
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.out.find("waiting for 1 more approval"), std::string::npos) << first.out;
    auto again = as(approver, {"approve", std::to_string(id)}, code(1));
    EXPECT_EQ(again.exit_code, 7) << again.err;  // already approved by them
    EXPECT_EQ(status_of(requester)["grants"].size(), 0u);
    auto second = as(approver2, {"approve", std::to_string(id)}, code(2));
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(status_of(requester)["grants"].size(), 1u);
}

TEST_F(Approval, DeniedWithReasonAndWaitingRequesterIsTold) {
    const int64_t id = request("prod-db");
    // The requester waits (parked in the daemon) while the approver denies.
    auto waiting = std::async(std::launch::async, [&] { return as(requester, {"wait", std::to_string(id)}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto no_reason = as(approver, {"deny", std::to_string(id)});
    EXPECT_EQ(no_reason.exit_code, 2) << no_reason.err;
    auto denied = as(approver, {"deny", std::to_string(id), "--reason", "not during the freeze"});
    ASSERT_EQ(denied.exit_code, 0) << denied.err;
    auto waited = waiting.get();
    EXPECT_EQ(waited.exit_code, 1) << waited.out << waited.err;
    EXPECT_NE((waited.out + waited.err).find("denied"), std::string::npos) << waited.out << waited.err;
    EXPECT_EQ(status_of(requester)["grants"].size(), 0u);
    // Decided is decided.
    EXPECT_EQ(as(approver, {"approve", std::to_string(id)}, code(1)).exit_code, 7);
}

TEST_F(Approval, WaitingRequesterWakesWhenApproved) {
    const int64_t id = request("prod-db");
    const auto t0 = std::chrono::steady_clock::now();
    auto waiting = std::async(std::launch::async, [&] { return as(requester, {"wait", std::to_string(id)}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_EQ(as(approver, {"approve", std::to_string(id)}, code(1)).exit_code, 0);
    auto waited = waiting.get();
    EXPECT_EQ(waited.exit_code, 0) << waited.out << waited.err;
    // Woken by the approval, not by its own 300 s limit.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
}

TEST_F(Approval, RequesterCancelsAndOnlyOnePendingPerRole) {
    const int64_t id = request("prod-db");
    auto twice = as(requester, {"activate", "prod-db", "--reason", "again"}, code(0));
    EXPECT_EQ(twice.exit_code, 7) << twice.err;
    EXPECT_NE(twice.err.find("is waiting for approval"), std::string::npos) << twice.err;
    EXPECT_EQ(as(approver, {"cancel", std::to_string(id)}).exit_code, 4);
    auto cancelled = as(requester, {"cancel", std::to_string(id), "--reason", "fixed otherwise"});
    ASSERT_EQ(cancelled.exit_code, 0) << cancelled.err;
    EXPECT_EQ(as(approver, {"approve", std::to_string(id)}, code(1)).exit_code, 7);
}

TEST_F(Approval, UndecidedRequestExpires) {
    const int64_t id = request("short-wait");
    ASSERT_GT(id, 0);
    std::this_thread::sleep_for(std::chrono::seconds(7));
    auto late = as(approver, {"approve", std::to_string(id)}, code(1));
    EXPECT_EQ(late.exit_code, 7) << late.err;
    EXPECT_NE(late.err.find("expired"), std::string::npos) << late.err;
    EXPECT_NE(read_file(daemon.audit_path()).find("request-expire"), std::string::npos);
}

TEST_F(Approval, ApprovalSurvivesKill9) {
    const int64_t id = request("prod-db");
    ASSERT_EQ(as(approver, {"approve", std::to_string(id)}, code(1)).exit_code, 0);
    daemon.kill9();
    daemon.start();
    auto grants = status_of(requester)["grants"];
    ASSERT_EQ(grants.size(), 1u);
    EXPECT_EQ(grants[0]["role"], "prod-db");
    auto all = as(requester, {"--json", "requests", "--all"});
    ASSERT_EQ(all.exit_code, 0) << all.err;
    EXPECT_NE(all.out.find("\"approved\""), std::string::npos) << all.out;
}
