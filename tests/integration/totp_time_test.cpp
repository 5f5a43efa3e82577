// TOTP and time, through the real daemon: a code older than one already
// used is refused (RFC 6238 section 5.2), a clock that runs ahead and is
// corrected does not reopen used codes, and the RFC 6238 Appendix B vectors
// hold end to end. The daemon's clock is moved with Debian's libfaketime
// (the production binary has only the system clock); oathtool computes the
// codes independently.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

using namespace elevate;
using namespace elevate::test;

namespace {

const char kDefaults[] = R"(
[lockout]
max_failures = 100
)";

// Sleeps past the first seconds of a step when the current one is about to
// end, so a sequence of codes around `now` stays inside one window.
void avoid_step_boundary() {
    const int64_t into = now() % 30;
    if (into > 22) std::this_thread::sleep_for(std::chrono::seconds(31 - into));
}

// Status and message of a verify, or a gtest failure if the call failed.
std::pair<wire::Status, std::string> verify(Daemon& d, const std::string& code) {
    auto r = d.verify(code);
    if (!r) {
        ADD_FAILURE() << r.error().message;
        return {wire::Status::Internal, r.error().message};
    }
    return {r->status, r->message};
}

// The time the daemon stamped on its latest audit record (the file is
// written before the reply goes out).
int64_t last_audit_time(Daemon& d) {
    std::string trail = read_file(d.audit_path());
    while (!trail.empty() && trail.back() == '\n') trail.pop_back();
    const auto j = nlohmann::json::parse(trail.substr(trail.rfind('\n') + 1), nullptr, false);
    if (!j.is_object() || !j.contains("time")) {
        ADD_FAILURE() << "no audit record: " << trail;
        return 0;
    }
    return j["time"].get<int64_t>();
}

}  // namespace

// Issue #8 item 2: with the default drift_steps = 1, the code of step t-1
// (seen over a shoulder, relayed by a phishing page) must not work once
// the code of step t was accepted.
TEST(TotpTime, CodeOlderThanOneAlreadyUsedIsRefused) {
    Daemon daemon(kDefaults);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    avoid_step_boundary();
    const int64_t t = now();

    auto [status, message] = verify(daemon, oathtool_code(secret, t));
    ASSERT_EQ(status, wire::Status::Ok) << message;

    std::tie(status, message) = verify(daemon, oathtool_code(secret, t - 30));
    EXPECT_EQ(status, wire::Status::Denied) << message;
    EXPECT_EQ(message, "this code is older than one already used");

    // The exact code again is still told apart from an older one.
    std::tie(status, message) = verify(daemon, oathtool_code(secret, t));
    EXPECT_EQ(status, wire::Status::Denied) << message;
    EXPECT_NE(message.find("already used"), std::string::npos) << message;
    EXPECT_EQ(message.find("older"), std::string::npos) << message;

    // Time moves forward: the next step's code works.
    std::tie(status, message) = verify(daemon, oathtool_code(secret, t + 30));
    EXPECT_EQ(status, wire::Status::Ok) << message;
    // And the refusals were audited without the codes.
    const std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("this code is older than one already used"), std::string::npos) << audit;
    EXPECT_EQ(audit.find(oathtool_code(secret, t - 30)), std::string::npos);
}

// The reproduction of the issue, with elevatectl: accept the current code,
// then the one of 30 seconds ago is refused.
TEST(TotpTime, ElevatectlSaysTheCodeIsOlder) {
    Daemon daemon(std::string(kDefaults) + R"(
[[role]]
name = "db-admin"
gid = 61301
eligible_users = ["root"]
default_duration = "10m"
max_duration = "1h"
)");
    daemon.start();
    const std::string secret = daemon.enroll("root");
    avoid_step_boundary();
    const int64_t t = now();
    auto first = daemon.ctl({"activate", "db-admin"}, {.input = oathtool_code(secret, t) + "\n"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_EQ(daemon.ctl({"drop", "db-admin"}).exit_code, 0);

    auto older = daemon.ctl({"activate", "db-admin"}, {.input = oathtool_code(secret, t - 30) + "\n"});
    EXPECT_EQ(older.exit_code, 1) << older.out << older.err;
    EXPECT_NE(older.err.find("this code is older than one already used"), std::string::npos) << older.err;
}

// Issue #8 item 3: a clock that runs a day ahead (a bad RTC at boot) and is
// then corrected (NTP) must not make a used code valid again. The running
// daemon's clock is moved through libfaketime's timestamp file; its
// housekeeping timer runs on every turn of the event loop.
TEST(TotpTime, UsedCodeStaysUsedAfterTheClockRunsAheadAndIsCorrected) {
    Daemon daemon(kDefaults);
    const std::string clock_file = daemon.dir() + "/faketime.rc";
    write_file(clock_file, "+0\n");
    daemon.set_env(faketime_env("", clock_file));
    daemon.start();
    const std::string secret = daemon.enroll("root");
    avoid_step_boundary();
    const int64_t t = now();
    const std::string code = oathtool_code(secret, t);
    auto [status, message] = verify(daemon, code);
    ASSERT_EQ(status, wire::Status::Ok) << message;

    write_file(clock_file, "+1d\n");
    ASSERT_EQ(daemon.ctl({"unlock", "root"}).exit_code, 0);  // a request: the daemon lives at t + 1 day
    ASSERT_GE(last_audit_time(daemon), t + 86400 - 60) << "the daemon's clock did not move";

    write_file(clock_file, "+0\n");
    ASSERT_EQ(daemon.ctl({"unlock", "root"}).exit_code, 0);
    ASSERT_LT(last_audit_time(daemon), t + 3600) << "the daemon's clock did not come back";
    std::tie(status, message) = verify(daemon, code);
    EXPECT_EQ(status, wire::Status::Denied) << message;
    EXPECT_NE(message.find("already used"), std::string::npos) << message;

    // The same after a restart (the high-water mark is durable).
    daemon.stop();
    daemon.start();
    std::tie(status, message) = verify(daemon, code);
    EXPECT_EQ(status, wire::Status::Denied) << message;
    // The next code works: the user is not locked out by the excursion.
    std::tie(status, message) = verify(daemon, oathtool_code(secret, t + 30));
    EXPECT_EQ(status, wire::Status::Ok) << message;
}

namespace {

// RFC 6238 Appendix B: seeds (ASCII) and the expected 8-digit codes, copied
// from the RFC's table.
struct Seed {
    const char* algorithm;
    const char* ascii;
};
constexpr Seed kSeeds[] = {
    {"sha1", "12345678901234567890"},
    {"sha256", "12345678901234567890123456789012"},
    {"sha512", "1234567890123456789012345678901234567890123456789012345678901234"},
};
struct Vector {
    int64_t time;
    const char* codes[3];  // sha1, sha256, sha512
};
constexpr Vector kVectors[] = {
    {59, {"94287082", "46119246", "90693936"}},         {1111111109, {"07081804", "68084774", "25091201"}},
    {1111111111, {"14050471", "67062674", "99943326"}}, {1234567890, {"89005924", "91819424", "93441116"}},
    {2000000000, {"69279037", "90698825", "38618901"}}, {20000000000, {"65353130", "77737706", "47863826"}},
};

std::string base32_of(const std::string& ascii) {
    auto r = run({"/usr/bin/base32", "-w0"}, {.input = ascii});
    if (r.exit_code != 0) throw std::runtime_error("base32: " + r.err);
    return r.out;
}

}  // namespace

// Issue #8 item 17: the RFC 6238 Appendix B vectors through the wire, with
// the real daemon's clock stopped at each of the RFC's times (drift 0, so
// only the step of that very time is accepted).
TEST(TotpTime, Rfc6238AppendixBVectorsThroughTheWire) {
    for (const Vector& v : kVectors) {
        SCOPED_TRACE("time " + std::to_string(v.time));
        Daemon daemon(std::string(kDefaults) + R"(
[totp]
digits = 8
drift_steps = 0
)");
        daemon.set_env(faketime_env(faketime_date(v.time)));
        daemon.start();
        for (size_t i = 0; i < std::size(kSeeds); ++i) {
            const Seed& s = kSeeds[i];
            SCOPED_TRACE(s.algorithm);
            const std::string seed = s.ascii;
            const std::string base32 = base32_of(seed);
            // The table and oathtool agree, so the test proves elevate, not a typo.
            ASSERT_EQ(oathtool_code(base32, v.time, s.algorithm, 8), v.codes[i]);

            wire::BufferWriter enroll;
            enroll->put_str(wire::Tag::User, "root");
            enroll->put_bool(wire::Tag::Force, true);
            enroll->put_bytes(wire::Tag::Secret, seed.data(), seed.size());
            enroll->put_str(wire::Tag::Algorithm, s.algorithm);
            enroll->put_u64(wire::Tag::Digits, 8);
            enroll->put_u64(wire::Tag::Period, 30);
            auto enrolled = daemon.call(wire::Op::Enroll, enroll.take());
            ASSERT_TRUE(enrolled.ok()) << enrolled.error().message;
            ASSERT_EQ(enrolled->status, wire::Status::Ok) << enrolled->message;

            // The next step's code is refused: the daemon's clock is at the
            // RFC's time, not merely near it.
            auto [status, message] = verify(daemon, oathtool_code(base32, v.time + 30, s.algorithm, 8));
            EXPECT_EQ(status, wire::Status::Denied) << message;
            EXPECT_EQ(message, "wrong verification code");

            std::tie(status, message) = verify(daemon, v.codes[i]);
            EXPECT_EQ(status, wire::Status::Ok) << message;
            std::tie(status, message) = verify(daemon, v.codes[i]);
            EXPECT_EQ(status, wire::Status::Denied) << message;
            EXPECT_NE(message.find("already used"), std::string::npos) << message;
        }
    }
}
