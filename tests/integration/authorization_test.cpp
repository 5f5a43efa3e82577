// Identity comes from SO_PEERCRED: an unprivileged user (a real account
// created for the test) can only see and act on its own state.
#include "harness.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace elevate;
using namespace elevate::test;
using nlohmann::json;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 10

[[role]]
name = "db-admin"
gid = 61011
eligible_users = ["root", "elvt-alice"]
)";

class Authorization : public ::testing::Test {
protected:
    void SetUp() override {
        daemon.start();
        root_secret = daemon.enroll("root");
        auto r = daemon.ctl({"activate", "db-admin"}, {.input = oathtool_code(root_secret, now()) + "\n"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        auto s = daemon.ctl({"--json", "status"});
        root_grant = json::parse(s.out)["grants"][0]["id"];
    }
    RunResult as(const TestUser& u, const std::vector<std::string>& args, std::string input = "") {
        return daemon.ctl(args, {.input = std::move(input), .uid = u.uid(), .gid = u.gid()});
    }

    TestUser alice{"elvt-alice"};
    TestUser bob{"elvt-bob"};
    Daemon daemon{kRoles};
    std::string root_secret;
    std::string root_grant;
};

}  // namespace

TEST_F(Authorization, UserSeesOnlyOwnStatus) {
    auto own = as(alice, {"--json", "status"});
    ASSERT_EQ(own.exit_code, 0) << own.err;
    EXPECT_EQ(json::parse(own.out)["user"], "elvt-alice");
    EXPECT_TRUE(json::parse(own.out)["grants"].empty());

    auto other = as(alice, {"status", "root"});
    EXPECT_EQ(other.exit_code, 4) << other.out << other.err;
    EXPECT_NE(other.err.find("administrator"), std::string::npos) << other.err;
}

TEST_F(Authorization, MessageContentDoesNotDecideIdentity) {
    // A hand-made request naming root, sent by alice's process: refused.
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, "root");
    auto payload = w.take();
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(alice.gid()) || setuid(alice.uid())) _exit(10);
        auto r = daemon.call(wire::Op::Status, payload);
        _exit(r && r->status == wire::Status::Forbidden ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(Authorization, UserCannotListRevokeOrEnrollOthers) {
    EXPECT_EQ(as(alice, {"list"}).exit_code, 4);
    auto revoke = as(alice, {"revoke", root_grant});
    EXPECT_EQ(revoke.exit_code, 4) << revoke.err;
    EXPECT_EQ(as(alice, {"enroll", "elvt-bob", "--no-qr"}).exit_code, 4);

    // The grant is untouched.
    auto s = daemon.ctl({"--json", "status"});
    EXPECT_EQ(json::parse(s.out)["grants"].size(), 1u);
}

TEST_F(Authorization, UserCannotDropAnotherUsersGrant) {
    auto r = as(alice, {"drop", root_grant});
    EXPECT_EQ(r.exit_code, 5) << r.err;
    auto s = daemon.ctl({"--json", "status"});
    EXPECT_EQ(json::parse(s.out)["grants"].size(), 1u);
}

TEST_F(Authorization, SelfEnrollOnceThenOnlyAdminMayReplace) {
    auto first = as(alice, {"--json", "enroll", "elvt-alice", "--no-qr"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    std::string secret = uri_secret(json::parse(first.out)["uri"]);
    auto replace = as(alice, {"enroll", "elvt-alice", "--force", "--no-qr"});
    EXPECT_EQ(replace.exit_code, 4) << replace.err;

    // Alice activates her own grant with her own code.
    auto a = as(alice, {"activate", "db-admin"}, oathtool_code(secret, now()) + "\n");
    EXPECT_EQ(a.exit_code, 0) << a.err;
    auto s = as(alice, {"--json", "status"});
    EXPECT_EQ(json::parse(s.out)["grants"].size(), 1u);
}

TEST_F(Authorization, IneligibleUserIsDenied) {
    auto enrolled = as(bob, {"--json", "enroll", "elvt-bob", "--no-qr"});
    ASSERT_EQ(enrolled.exit_code, 0) << enrolled.err;
    std::string secret = uri_secret(json::parse(enrolled.out)["uri"]);
    auto r = as(bob, {"activate", "db-admin"}, oathtool_code(secret, now()) + "\n");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("not eligible"), std::string::npos) << r.err;
}

TEST_F(Authorization, UserCannotReadTheDatabase) {
    auto r = run({"/bin/cat", daemon.state_dir() + "/elevate.db"}, {.uid = alice.uid(), .gid = alice.gid()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
    struct stat st;
    ASSERT_EQ(stat((daemon.state_dir() + "/elevate.db").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
}

TEST_F(Authorization, AdminGroupMemberMayList) {
    run({"/usr/sbin/groupdel", "elvt-admins"});
    ASSERT_EQ(run({"/usr/sbin/groupadd", "elvt-admins"}).exit_code, 0);
    ASSERT_EQ(run({"/usr/sbin/usermod", "-aG", "elvt-admins", "elvt-bob"}).exit_code, 0);
    // Supplementary groups as a login would set them (initgroups).
    auto r = run({"/usr/bin/setpriv", "--reuid=elvt-bob", "--regid=elvt-bob", "--init-groups", daemon.ctl_path(),
                  "--socket", daemon.socket(), "--json", "list"});
    run({"/usr/sbin/groupdel", "elvt-admins"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["grants"].size(), 1u);
}
