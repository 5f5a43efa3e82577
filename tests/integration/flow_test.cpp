// The just-in-time flow end to end: enroll, activate with a code from
// oathtool, status, replay, lockout, expiry, revoke, drop.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

using namespace elevate::test;
using nlohmann::json;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 10

[lockout]
max_failures = 3
window = "10m"
duration = "10m"

[[role]]
name = "db-admin"
gid = 61001
eligible_users = ["root", "elvt-alice"]
default_duration = "45m"
max_duration = "2h"
require_reason = true

[[role]]
name = "quick"
gid = 61002
eligible_users = ["root"]
default_duration = "2s"
max_duration = "1h"
)";

class Flow : public ::testing::Test {
protected:
    void SetUp() override {
        daemon.start();
        secret = daemon.enroll("root");
    }
    // Code for the time-step `offset` steps from now; distinct offsets give
    // distinct, individually valid codes (drift_steps = 10).
    std::string code(int offset = 0) { return oathtool_code(secret, now() + offset * 30); }

    json status() {
        auto r = daemon.ctl({"--json", "status"});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        return json::parse(r.out);
    }

    Daemon daemon{kRoles};
    std::string secret;
};

}  // namespace

TEST_F(Flow, EnrollPrintsUriOnceAndRefusesReenrollWithoutForce) {
    auto again = daemon.ctl({"enroll", "root", "--no-qr"});
    EXPECT_EQ(again.exit_code, 7) << again.out << again.err;
    EXPECT_NE(again.err.find("already enrolled"), std::string::npos) << again.err;

    auto forced = daemon.ctl({"--json", "enroll", "root", "--force", "--no-qr"});
    ASSERT_EQ(forced.exit_code, 0) << forced.err;
    std::string fresh = uri_secret(json::parse(forced.out)["uri"].get<std::string>());
    EXPECT_NE(fresh, secret);
}

TEST_F(Flow, ActivateWithCodeCreatesGrantAndStatusShowsIt) {
    auto r = daemon.ctl({"activate", "db-admin", "--for", "30m", "--reason", "INC-4711"}, {.input = code() + "\n"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("db-admin"), std::string::npos) << r.out;

    json s = status();
    ASSERT_EQ(s["grants"].size(), 1u) << s.dump();
    const json& g = s["grants"][0];
    EXPECT_EQ(g["role"], "db-admin");
    EXPECT_EQ(g["user"], "root");
    EXPECT_EQ(g["reason"], "INC-4711");
    EXPECT_EQ(g["state"], "active");
    EXPECT_EQ(g["end"].get<int64_t>() - g["start"].get<int64_t>(), 30 * 60);
    EXPECT_EQ(g["id"].get<std::string>().size(), 36u);

    // The audit trail has the activation, without the code.
    std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("\"event\":\"activate\""), std::string::npos) << audit;
    EXPECT_EQ(audit.find(code()), std::string::npos);
    EXPECT_EQ(audit.find(secret), std::string::npos);
}

TEST_F(Flow, DurationIsClampedToRoleMaximum) {
    auto r = daemon.ctl({"--json", "activate", "db-admin", "--for", "8h", "--reason", "x"}, {.input = code() + "\n"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    json g = status()["grants"][0];
    EXPECT_EQ(g["end"].get<int64_t>() - g["start"].get<int64_t>(), 2 * 3600);
}

TEST_F(Flow, ReasonRequiredWhenRoleSaysSo) {
    auto r = daemon.ctl({"activate", "db-admin"}, {.input = code() + "\n"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("requires a reason"), std::string::npos) << r.err;
    EXPECT_TRUE(status()["grants"].empty());
}

TEST_F(Flow, UnknownRoleAndIneligibleUserAreRefused) {
    auto r = daemon.ctl({"activate", "no-such-role"}, {.input = code() + "\n"});
    EXPECT_EQ(r.exit_code, 5) << r.err;
    EXPECT_NE(r.err.find("no such role"), std::string::npos) << r.err;
}

TEST_F(Flow, ReplayedCodeIsRejectedEvenWithinItsStep) {
    const std::string c = code();
    auto first = daemon.ctl({"activate", "db-admin", "--reason", "a"}, {.input = c + "\n"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_EQ(daemon.ctl({"drop", "db-admin"}).exit_code, 0);

    auto replay = daemon.ctl({"activate", "db-admin", "--reason", "b"}, {.input = c + "\n"});
    EXPECT_EQ(replay.exit_code, 1) << replay.out << replay.err;
    EXPECT_NE(replay.err.find("already used"), std::string::npos) << replay.err;
    EXPECT_TRUE(status()["grants"].empty());
}

TEST_F(Flow, WrongCodesLockTheUserOutWithClearMessage) {
    const std::string good = code();
    const std::string wrong = good == "000000" ? "111111" : "000000";
    for (int i = 0; i < 2; ++i) {
        auto r = daemon.ctl({"activate", "db-admin", "--reason", "x"}, {.input = wrong + "\n"});
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find("wrong verification code"), std::string::npos) << r.err;
    }
    auto third = daemon.ctl({"activate", "db-admin", "--reason", "x"}, {.input = wrong + "\n"});
    EXPECT_EQ(third.exit_code, 1);
    EXPECT_NE(third.err.find("locked until"), std::string::npos) << third.err;

    // Locked: even the right code is refused now.
    auto locked = daemon.ctl({"activate", "db-admin", "--reason", "x"}, {.input = good + "\n"});
    EXPECT_EQ(locked.exit_code, 1);
    EXPECT_NE(locked.err.find("locked until"), std::string::npos) << locked.err;
    EXPECT_TRUE(status()["grants"].empty());
    EXPECT_TRUE(status().contains("locked_until"));
}

TEST_F(Flow, GrantExpiresByItselfAndIsAudited) {
    auto r = daemon.ctl({"activate", "quick"}, {.input = code() + "\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(status()["grants"].size(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    EXPECT_TRUE(status()["grants"].empty());
    std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("\"event\":\"expire\""), std::string::npos) << audit;
}

TEST_F(Flow, RevokeEndsAGrant) {
    auto r = daemon.ctl({"--json", "activate", "db-admin", "--reason", "x"}, {.input = code() + "\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string id = status()["grants"][0]["id"];

    auto list = daemon.ctl({"--json", "list"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(json::parse(list.out)["grants"].size(), 1u);

    auto revoked = daemon.ctl({"revoke", id, "--reason", "left the incident"});
    EXPECT_EQ(revoked.exit_code, 0) << revoked.err;
    EXPECT_TRUE(status()["grants"].empty());
    auto again = daemon.ctl({"revoke", id});
    EXPECT_EQ(again.exit_code, 5) << again.err;
    EXPECT_NE(read_file(daemon.audit_path()).find("left the incident"), std::string::npos);
}

TEST_F(Flow, DropEndsOwnGrantByRoleOrId) {
    ASSERT_EQ(daemon.ctl({"activate", "db-admin", "--reason", "x"}, {.input = code(0) + "\n"}).exit_code, 0);
    EXPECT_EQ(daemon.ctl({"drop", "db-admin"}).exit_code, 0);
    EXPECT_TRUE(status()["grants"].empty());

    ASSERT_EQ(daemon.ctl({"activate", "db-admin", "--reason", "y"}, {.input = code(1) + "\n"}).exit_code, 0);
    std::string id = status()["grants"][0]["id"];
    EXPECT_EQ(daemon.ctl({"drop", id}).exit_code, 0);
    EXPECT_TRUE(status()["grants"].empty());
    EXPECT_EQ(daemon.ctl({"drop", "db-admin"}).exit_code, 5);
}

TEST_F(Flow, SecondActivationOfActiveRoleIsAConflict) {
    ASSERT_EQ(daemon.ctl({"activate", "db-admin", "--reason", "x"}, {.input = code(0) + "\n"}).exit_code, 0);
    auto r = daemon.ctl({"activate", "db-admin", "--reason", "x"}, {.input = code(1) + "\n"});
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_NE(r.err.find("already active"), std::string::npos) << r.err;
}

TEST_F(Flow, ImportedGoogleAuthenticatorSecretKeepsWorking) {
    // The secret a user already has in their app: RFC 6238's test seed.
    const std::string b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    write_file(daemon.dir() + "/ga",
               b32 + "\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n");
    auto r = daemon.ctl({"enroll", "root", "--force", "--import-google-authenticator", daemon.dir() + "/ga"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto a = daemon.ctl({"activate", "db-admin", "--reason", "x"}, {.input = oathtool_code(b32, now()) + "\n"});
    EXPECT_EQ(a.exit_code, 0) << a.err;
}

TEST_F(Flow, ImportedOathUsersfileSecretKeepsWorking) {
    const std::string hex = "3132333435363738393031323334353637383930";
    write_file(daemon.dir() + "/users.oath",
               "# pam_oath users\nHOTP/T30/6 someone - 00112233445566778899\n"
               "HOTP/T30/6 root - " +
                   hex + "\n");
    auto r = daemon.ctl({"enroll", "root", "--force", "--import-oath-usersfile", daemon.dir() + "/users.oath"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto a = daemon.ctl({"activate", "db-admin", "--reason", "x"},
                        {.input = oathtool_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", now()) + "\n"});
    EXPECT_EQ(a.exit_code, 0) << a.err;
}

// elevatectl reads import files as root from paths users control: no
// symbolic link anywhere on the path, only regular files owned by whoever
// may write them (docs/man/elevatectl.1, "Importing secrets").
const char kGaFile[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n";
const char kUsersfile[] = "HOTP/T30/6 root - 3132333435363738393031323334353637383930\n";

TEST_F(Flow, ImportRefusesASymlinkedParentDirectory) {
    ASSERT_EQ(mkdir((daemon.dir() + "/real").c_str(), 0700), 0);
    write_file(daemon.dir() + "/real/ga", kGaFile);
    write_file(daemon.dir() + "/real/users.oath", kUsersfile);
    ASSERT_EQ(symlink("real", (daemon.dir() + "/link").c_str()), 0);
    for (const char* option : {"--import-google-authenticator", "--import-oath-usersfile"}) {
        const std::string file = std::string(option) == "--import-oath-usersfile" ? "users.oath" : "ga";
        auto r = daemon.ctl({"enroll", "root", "--force", option, daemon.dir() + "/link/" + file});
        EXPECT_EQ(r.exit_code, 2) << option << r.out << r.err;
        EXPECT_NE(r.err.find("link is a symbolic link"), std::string::npos) << r.err;
        // The real path works.
        auto ok = daemon.ctl({"enroll", "root", "--force", option, daemon.dir() + "/real/" + file});
        EXPECT_EQ(ok.exit_code, 0) << option << ok.err;
    }
}

TEST_F(Flow, ImportRefusesAFileOwnedBySomeoneElse) {
    TestUser other("elvt-imp");
    const std::string ga = daemon.dir() + "/ga";
    const std::string oath = daemon.dir() + "/users.oath";
    write_file(ga, kGaFile);
    write_file(oath, kUsersfile);
    ASSERT_EQ(chown(ga.c_str(), other.uid(), other.gid()), 0);
    ASSERT_EQ(chown(oath.c_str(), other.uid(), other.gid()), 0);

    // A google-authenticator file must belong to the user being enrolled.
    auto r = daemon.ctl({"enroll", "root", "--force", "--import-google-authenticator", ga});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("owned by elvt-imp, not by root"), std::string::npos) << r.err;
    auto own = daemon.ctl({"enroll", other.name(), "--force", "--import-google-authenticator", ga});
    EXPECT_EQ(own.exit_code, 0) << own.err;

    // A pam_oath usersfile holds everyone's secrets: root's alone.
    auto u = daemon.ctl({"enroll", "root", "--force", "--import-oath-usersfile", oath});
    EXPECT_EQ(u.exit_code, 2) << u.out << u.err;
    EXPECT_NE(u.err.find("owned by elvt-imp, not by root"), std::string::npos) << u.err;

    // Writable by others: refused whoever owns it.
    ASSERT_EQ(chown(ga.c_str(), 0, 0), 0);
    ASSERT_EQ(chmod(ga.c_str(), 0620), 0);
    auto w = daemon.ctl({"enroll", "root", "--force", "--import-google-authenticator", ga});
    EXPECT_EQ(w.exit_code, 2) << w.out << w.err;
    EXPECT_NE(w.err.find("writable by others"), std::string::npos) << w.err;
}

TEST_F(Flow, ImportRefusesAFifoOrDeviceWithoutHanging) {
    const std::string fifo = daemon.dir() + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    for (const std::string& path : {fifo, std::string("/dev/zero")}) {
        auto r =
            daemon.ctl({"enroll", "root", "--force", "--import-google-authenticator", path}, {.timeout_ms = 10000});
        EXPECT_EQ(r.exit_code, 2) << path << r.out << r.err;
        EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
    }
}

TEST_F(Flow, ImportErrorRepeatsNothingOfTheFile) {
    const std::string ga = daemon.dir() + "/ga";
    write_file(ga, "root:$y$j9T$secrethash:19000:0:99999:7:::\n");
    auto r = daemon.ctl({"enroll", "root", "--force", "--import-google-authenticator", ga});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_EQ(r.err, "elevatectl: " + ga + ": line 1 is not a valid base32 secret\n");

    const std::string oath = daemon.dir() + "/users.oath";
    write_file(oath, "secrethash root - 00\n");
    auto u = daemon.ctl({"enroll", "root", "--force", "--import-oath-usersfile", oath});
    EXPECT_EQ(u.exit_code, 2) << u.out << u.err;
    EXPECT_EQ(u.err.find("secrethash"), std::string::npos) << u.err;
}

TEST(FlowNoDaemon, CliFailsFastWithSocketAndErrno) {
    TempDir dir;
    auto r = run({elevatectl_bin(), "--socket", dir.path() + "/nothing.sock", "status"}, {.timeout_ms = 5000});
    EXPECT_EQ(r.exit_code, 69) << r.err;
    EXPECT_NE(r.err.find(dir.path() + "/nothing.sock"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
}
