// The operations pam_elevate uses, at the protocol level: what the daemon
// answers in each situation (the PAM-stack tests drive the same through the
// real module).
#include "harness.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace elevate;
using namespace elevate::test;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "db-admin"
gid = 61051
eligible_users = ["root", "elvt-carol"]
require_reason = true

[[role]]
name = "web-admin"
gid = 61052
eligible_users = ["root"]
)";

class PamOps : public ::testing::Test {
protected:
    void SetUp() override { daemon.start(); }

    wire::Reply ask(wire::Op op, const std::string& user, const std::string& role = "", bool roles = false) {
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, user);
        if (!role.empty()) w->put_str(roles ? wire::Tag::Roles : wire::Tag::Role, role);
        w->put_str(wire::Tag::Service, "sudo");
        w->put_str(wire::Tag::Tty, "pts/7");
        auto r = daemon.call(op, w.take());
        EXPECT_TRUE(r) << r.error().message;
        return std::move(r).value();
    }
    static bool flag(const wire::Reply& r, wire::Tag t) {
        bool b = false;
        return r.fields.get_bool(t, &b) && b;
    }

    Daemon daemon{kRoles};
};

}  // namespace

TEST_F(PamOps, AuthorizeWithoutEnrollmentSaysHowToEnroll) {
    auto r = ask(wire::Op::Authorize, "root", "db-admin");
    EXPECT_EQ(r.status, wire::Status::NotEnrolled);
    EXPECT_NE(r.message.find("elevatectl enroll root"), std::string::npos) << r.message;
}

// A plain second factor (no role) with push not configured: an unknown user
// is told so, and an unenrolled one how to enroll, never that push is
// missing.
TEST_F(PamOps, AuthorizeWithoutRoleNamesTheUnknownUser) {
    auto r = ask(wire::Op::Authorize, "elvt-nobody-here");
    EXPECT_EQ(r.status, wire::Status::NotFound);
    EXPECT_EQ(r.message, "no such user: elvt-nobody-here");
}

TEST_F(PamOps, AuthorizeWithoutRoleAndWithoutEnrollmentSaysHowToEnroll) {
    auto r = ask(wire::Op::Authorize, "root");
    EXPECT_EQ(r.status, wire::Status::NotEnrolled);
    EXPECT_EQ(r.message, "No second factor is enrolled for root. Ask an administrator to run: elevatectl enroll root");
    const std::string secret = daemon.enroll("root");
    auto enrolled = ask(wire::Op::Authorize, "root");
    EXPECT_EQ(enrolled.status, wire::Status::Ok) << enrolled.message;
    EXPECT_TRUE(flag(enrolled, wire::Tag::NeedCode));
}

TEST_F(PamOps, AuthorizeAsksForReasonAndCodeThenGrantCoversIt) {
    const std::string secret = daemon.enroll("root");
    auto first = ask(wire::Op::Authorize, "root", "db-admin");
    ASSERT_EQ(first.status, wire::Status::Ok) << first.message;
    EXPECT_TRUE(flag(first, wire::Tag::NeedCode));
    EXPECT_TRUE(flag(first, wire::Tag::NeedReason));
    EXPECT_FALSE(flag(first, wire::Tag::Granted));

    auto plain = ask(wire::Op::Authorize, "root", "web-admin");
    EXPECT_FALSE(flag(plain, wire::Tag::NeedReason));

    ASSERT_EQ(
        daemon.ctl({"activate", "db-admin", "--reason", "x"}, {.input = oathtool_code(secret, now()) + "\n"}).exit_code,
        0);
    auto covered = ask(wire::Op::Authorize, "root", "db-admin");
    ASSERT_EQ(covered.status, wire::Status::Ok);
    EXPECT_TRUE(flag(covered, wire::Tag::Granted));
    EXPECT_FALSE(flag(covered, wire::Tag::NeedCode));
}

TEST_F(PamOps, AuthorizeReauthAsksForCodeEvenWithGrant) {
    const std::string secret = daemon.enroll("root");
    ASSERT_EQ(daemon.ctl({"activate", "web-admin"}, {.input = oathtool_code(secret, now()) + "\n"}).exit_code, 0);
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, "root");
    w->put_str(wire::Tag::Role, "web-admin");
    w->put_bool(wire::Tag::Reauth, true);
    auto r = daemon.call(wire::Op::Authorize, w.take());
    ASSERT_TRUE(r);
    EXPECT_TRUE(flag(*r, wire::Tag::Granted));
    EXPECT_TRUE(flag(*r, wire::Tag::NeedCode));
}

TEST_F(PamOps, AuthorizeDeniesIneligibleAndUnknownRole) {
    TestUser dave("elvt-dave");
    daemon.enroll("elvt-dave");
    auto r = ask(wire::Op::Authorize, "elvt-dave", "db-admin");
    EXPECT_EQ(r.status, wire::Status::Denied);
    EXPECT_NE(r.message.find("not eligible"), std::string::npos) << r.message;
    auto unknown = ask(wire::Op::Authorize, "root", "nope");
    EXPECT_EQ(unknown.status, wire::Status::NotFound);
}

TEST_F(PamOps, AccountNeedsAnActiveGrantAndSaysHowToGetOne) {
    const std::string secret = daemon.enroll("root");
    auto denied = ask(wire::Op::Account, "root", "db-admin,web-admin", true);
    EXPECT_EQ(denied.status, wire::Status::Denied);
    EXPECT_NE(denied.message.find("No active grant for db-admin or web-admin"), std::string::npos) << denied.message;
    EXPECT_NE(denied.message.find("elevatectl activate db-admin --reason"), std::string::npos) << denied.message;

    ASSERT_EQ(daemon.ctl({"activate", "web-admin"}, {.input = oathtool_code(secret, now()) + "\n"}).exit_code, 0);
    auto ok = ask(wire::Op::Account, "root", "db-admin,web-admin", true);
    EXPECT_EQ(ok.status, wire::Status::Ok) << ok.message;
    EXPECT_TRUE(ok.fields.has(wire::Tag::Grant));
}

TEST_F(PamOps, NonRootCallerOnlyGetsAnswersForItself) {
    TestUser carol("elvt-carol");
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(carol.gid()) || setuid(carol.uid())) _exit(10);
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, "root");
        w->put_str(wire::Tag::Roles, "db-admin");
        auto other = daemon.call(wire::Op::Account, w.take());
        if (!other || other->status != wire::Status::Forbidden) _exit(1);
        wire::BufferWriter b;
        b->put_str(wire::Tag::User, "elvt-carol");
        auto glass = daemon.call(wire::Op::BreakGlass, b.take());
        if (!glass || glass->status != wire::Status::Forbidden) _exit(2);
        wire::BufferWriter own;
        own->put_str(wire::Tag::Roles, "db-admin");
        auto mine = daemon.call(wire::Op::Account, own.take());
        _exit(mine && mine->status == wire::Status::Denied ? 0 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << WEXITSTATUS(status);
}

TEST_F(PamOps, BreakGlassIsAudited) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, "root");
    w->put_str(wire::Tag::Service, "sshd");
    w->put_str(wire::Tag::Reason, "break-glass user");
    auto r = daemon.call(wire::Op::BreakGlass, w.take());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, wire::Status::Ok);
    EXPECT_NE(read_file(daemon.audit_path()).find("EMERGENCY ACCESS"), std::string::npos);
}
