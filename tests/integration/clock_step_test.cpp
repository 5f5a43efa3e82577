// The wall clock of a running elevated set back under libfaketime (its
// boot clock left alone): a grant still ends when its time has passed, in
// the daemon's own answers, not an hour later.
#include "harness.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

using namespace elevate;
using namespace elevate::test;

namespace {

const char kRoles[] = R"(
[[role]]
name = "quick"
gid = 61091
eligible_users = ["root"]
default_duration = "4s"
max_duration = "1h"
on_expiry = "keep"
)";

wire::Reply account(Daemon& daemon) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, "root");
    w->put_str(wire::Tag::Roles, "quick");
    w->put_str(wire::Tag::Service, "sudo");
    auto r = daemon.call(wire::Op::Account, w.take());
    EXPECT_TRUE(r) << r.error().message;
    return std::move(r).value();
}

}  // namespace

TEST(ClockStep, WallClockSetBackDoesNotLengthenAGrant) {
    Daemon daemon{kRoles};
    const std::string clock_file = daemon.dir() + "/faketime.rc";
    write_file(clock_file, "+0\n");
    daemon.set_env(faketime_env("", clock_file));
    daemon.start();
    const std::string secret = daemon.enroll("root");
    auto activated = daemon.ctl({"activate", "quick"}, {.input = oathtool_code(secret, now()) + "\n"});
    ASSERT_EQ(activated.exit_code, 0) << activated.err;
    const auto started = std::chrono::steady_clock::now();

    write_file(clock_file, "-1h\n");  // the daemon's wall clock now runs an hour behind
    EXPECT_EQ(account(daemon).status, wire::Status::Ok) << "the grant is still within its 4 s";

    // Its 4 s pass on the boot clock; an hour is still left on the wall clock.
    wire::Status last = wire::Status::Ok;
    while (std::chrono::steady_clock::now() - started < std::chrono::seconds(20)) {
        last = account(daemon).status;
        if (last != wire::Status::Ok) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    EXPECT_EQ(last, wire::Status::Denied) << daemon.log();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    const std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("used up its time on the daemon's monotonic clock"), std::string::npos) << audit;
}
