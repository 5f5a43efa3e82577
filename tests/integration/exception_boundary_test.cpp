// An exception inside one request handler fails that request alone: an
// internal-error reply and an audit record, and the daemon goes on serving
// everyone else (the handler is made to throw std::bad_alloc by a preload,
// throw_in_lookup.cpp, in the passwd lookup of one user).
#include "harness.h"

#include <gtest/gtest.h>

using namespace elevate::test;

namespace {
const char kConfig[] = R"(
[[role]]
name = "db-admin"
gid = 61041
eligible_users = ["root", "elvt-throw"]
)";
}  // namespace

TEST(ExceptionBoundary, AThrowingHandlerFailsOnlyItsOwnRequest) {
    Daemon daemon(kConfig);
    daemon.set_env(throw_in_lookup_env("elvt-throw"));
    daemon.start();

    auto thrown = daemon.ctl({"explain", "--user", "elvt-throw", "--role", "db-admin", "--service", "sudo"});
    EXPECT_NE(thrown.exit_code, 0) << thrown.out;
    EXPECT_NE(thrown.err.find("internal error; the request was not carried out"), std::string::npos) << thrown.err;
    ASSERT_TRUE(daemon.running()) << daemon.log();
    EXPECT_NE(daemon.log().find("internal error in"), std::string::npos) << daemon.log();
    EXPECT_NE(daemon.log().find("std::bad_alloc"), std::string::npos) << daemon.log();

    // Everyone else goes on, the same kind of request included.
    auto fine = daemon.ctl({"explain", "--user", "root", "--role", "db-admin", "--service", "sudo"});
    EXPECT_EQ(fine.err.find("internal error"), std::string::npos) << fine.err;
    EXPECT_NE(fine.out.find("db-admin"), std::string::npos) << fine.out << fine.err;
    const std::string secret = daemon.enroll("root");
    auto activated = daemon.ctl({"activate", "db-admin"}, {.input = oathtool_code(secret, now()) + "\n"});
    EXPECT_EQ(activated.exit_code, 0) << activated.err;

    const std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("\"event\":\"internal-error\""), std::string::npos) << audit;
    EXPECT_NE(audit.find("std::bad_alloc"), std::string::npos) << audit;
}
