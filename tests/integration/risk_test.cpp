// Attack detection through the real daemon (docs/RISK.md): a spray of wrong
// codes from one network raises that network's risk and then its attempts
// are refused, while another network still gets in; risk survives kill -9;
// confirm revokes grants, dismiss resets; only admins list, dismiss and
// confirm. Codes from oathtool. The sprayed users are the system's own
// accounts (enrolled only in this test's private state directory).
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace elevate;
using namespace elevate::test;
using nlohmann::json;

namespace {

const char kRoles[] = R"(
[totp]
drift_steps = 1

[[role]]
name = "db-admin"
gid = 61091
eligible_users = ["root"]
)";

const char* const kUsers[] = {"daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp"};

// A code that is not valid now (a valid one an hour from now).
std::string wrong_code(const std::string& secret) {
    return oathtool_code(secret, now() + 3600);
}

// Verify as sshd (a root peer) would: for `user`, from `rhost`.
wire::Reply verify_from(Daemon& daemon, const std::string& user, const std::string& code, const std::string& rhost) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, user);
    w->put_str(wire::Tag::Code, code);
    w->put_str(wire::Tag::Service, "sshd");
    w->put_str(wire::Tag::RemoteHost, rhost);
    auto r = daemon.call(wire::Op::Verify, w.take());
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(*r);
}

json ctl_json(Daemon& daemon, const std::vector<std::string>& args, const RunOptions& options = {}) {
    std::vector<std::string> all = {"--json"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = daemon.ctl(all, options);
    if (r.exit_code != 0) throw std::runtime_error("elevatectl failed: " + r.out + r.err);
    return json::parse(r.out);
}

json network_entry(const json& list, const std::string& network) {
    for (const auto& n : list["networks"])
        if (n["network"] == network) return n;
    return nullptr;
}

TEST(Risk, SprayFromOneNetworkIsThrottledWhileAnotherGetsIn) {
    Daemon daemon(kRoles);
    daemon.start();
    std::vector<std::string> secrets;
    for (const char* u : kUsers) secrets.push_back(daemon.enroll(u));
    const std::string root_secret = daemon.enroll("root");

    // Two rounds of five users failing (spray_users = 5): two spray events.
    for (size_t i = 0; i < 10; ++i) {
        auto r = verify_from(daemon, kUsers[i], wrong_code(secrets[i]), "10.9.9." + std::to_string(i + 1));
        EXPECT_EQ(r.status, wire::Status::Denied);
        EXPECT_EQ(r.message, "wrong verification code");
    }
    json list = ctl_json(daemon, {"risk"});
    json net = network_entry(list, "10.9.9.0/24");
    ASSERT_FALSE(net.is_null()) << list.dump();
    EXPECT_EQ(net["level"], "high") << list.dump();
    EXPECT_EQ(net["score"], 100);

    // A high-risk network is blocked by the built-in policy rule
    // (docs/POLICY.md), whoever is named and whatever the code: even a
    // right one is refused.
    auto right = verify_from(daemon, "root", oathtool_code(root_secret, now()), "10.9.9.7");
    EXPECT_EQ(right.status, wire::Status::Denied);
    EXPECT_EQ(
        right.message,
        "requests from 10.9.9.7 are blocked for now: its network's risk is high (repeated failures for many users)");

    // Another network is not affected.
    auto other = verify_from(daemon, "root", oathtool_code(root_secret, now()), "10.7.7.7");
    EXPECT_EQ(other.status, wire::Status::Ok) << other.message;

    const std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("spray +50 (score 100, level high): 5 users failed from 10.9.9.0/24"), std::string::npos);
    EXPECT_NE(audit.find("rule builtin:high-risk-source"), std::string::npos);
}

TEST(Risk, SurvivesKill9AndRestart) {
    Daemon daemon(kRoles);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    std::vector<std::string> secrets;
    for (size_t i = 0; i < 5; ++i) secrets.push_back(daemon.enroll(kUsers[i]));
    for (int i = 0; i < 4; ++i) verify_from(daemon, "root", wrong_code(secret), "192.0.2.1");  // 40: medium
    for (size_t i = 0; i < 5; ++i) verify_from(daemon, kUsers[i], wrong_code(secrets[i]), "10.9.9.1");
    daemon.kill9();  // right after the answers

    daemon.start();
    json show = ctl_json(daemon, {"risk", "show", "root"});
    EXPECT_EQ(show["level"], "medium") << show.dump();
    EXPECT_EQ(show["score"], 40);
    ASSERT_EQ(show["events"].size(), 4u);
    EXPECT_EQ(show["events"][0]["type"], "wrong-code");
    EXPECT_EQ(show["events"][0]["network"], "192.0.2.0/24");
    EXPECT_EQ(ctl_json(daemon, {"status"})["risk"], "medium");
    json net = network_entry(ctl_json(daemon, {"risk"}), "10.9.9.0/24");
    ASSERT_FALSE(net.is_null());
    EXPECT_EQ(net["level"], "medium");
}

TEST(Risk, ConfirmRevokesGrantsAndDismissResets) {
    Daemon daemon(kRoles);
    daemon.start();
    const std::string secret = daemon.enroll("root");
    auto a =
        daemon.ctl({"--json", "activate", "db-admin", "--for", "1h"}, {.input = oathtool_code(secret, now()) + "\n"});
    ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
    const std::string id = json::parse(a.out)["grant"]["id"];

    auto missing = daemon.ctl({"risk", "confirm", "root"});
    EXPECT_EQ(missing.exit_code, 2) << missing.err;
    EXPECT_NE(missing.err.find("a reason is required"), std::string::npos) << missing.err;

    json c = ctl_json(daemon, {"risk", "confirm", "root", "--reason", "INC-4711: phished"});
    EXPECT_EQ(c["level"], "high");
    ASSERT_EQ(c["revoked"].size(), 1u) << c.dump();
    EXPECT_EQ(c["revoked"][0]["id"], id);
    json s = ctl_json(daemon, {"status"});
    EXPECT_TRUE(s["grants"].empty()) << s.dump();
    EXPECT_EQ(s["risk"], "high");
    auto text = daemon.ctl({"status"});
    EXPECT_NE(text.out.find("Risk:      high\n"), std::string::npos) << text.out;

    json d = ctl_json(daemon, {"risk", "dismiss", "root", "--reason", "INC-4711 closed"});
    EXPECT_EQ(d["level"], "none");
    EXPECT_EQ(ctl_json(daemon, {"status"})["risk"], "none");
    json show = ctl_json(daemon, {"risk", "show", "root"});
    ASSERT_GE(show["events"].size(), 2u);
    EXPECT_EQ(show["events"][0]["type"], "dismissed");
    EXPECT_EQ(show["events"][1]["type"], "confirmed");

    const std::string audit = read_file(daemon.audit_path());
    EXPECT_NE(audit.find("risk confirmed by root: INC-4711: phished"), std::string::npos);
    EXPECT_NE(audit.find("dismissed by root: INC-4711 closed"), std::string::npos);
    EXPECT_NE(audit.find("\"event\":\"risk-level\""), std::string::npos);
}

TEST(Risk, OnlyAdminsListDismissAndConfirm) {
    Daemon daemon(kRoles);
    daemon.start();
    const RunOptions nobody{.uid = 65534, .gid = 65534};
    for (const std::vector<std::string>& args : {std::vector<std::string>{"risk"},
                                                 {"risk", "dismiss", "root", "--reason", "x"},
                                                 {"risk", "confirm", "root", "--reason", "x"},
                                                 {"risk", "show", "root"}}) {
        auto r = daemon.ctl(args, nobody);
        EXPECT_EQ(r.exit_code, 4) << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": " << r.out << r.err;
    }
    // Their own risk, they may see.
    auto own = daemon.ctl({"--json", "risk", "show", "nobody"}, nobody);
    ASSERT_EQ(own.exit_code, 0) << own.err;
    EXPECT_EQ(json::parse(own.out)["level"], "none");
    EXPECT_EQ(ctl_json(daemon, {"risk", "show", "root"})["level"], "none");  // nothing was confirmed
}

}  // namespace
