// The Duo push provider: request signing against Duo's own published test
// vectors, then the whole flow (preauth, auth, auth_status polling) over
// real HTTPS against tests/push/duo_server.py, which checks every signature
// the way Duo does and answers per user as its script says.
#include "daemon/push/duo.h"

#include "common/base/clock.h"
#include "daemon/push/http_client.h"
#include "daemon/push/provider.h"
#include "tests/unit/push/test_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace elevate;
using namespace elevate::push;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
namespace pt = elevate::push::test;

namespace {

// ---------------------------------------------------------------------------
// Signing, against the vectors of Duo's Python client
// (duo_client_python tests/test_client.py: TestQueryParameters,
// TestCanonicalize.test_v2, TestSign.test_hmac_sha1 / test_hmac_sha512).

const duo_sign::Params kDuoVectorParams = {
    {"\u469a\u287b\u35d0\u8ef3\u6727\u502a\u0810\ud091\u00c8\uc170",
     "\u0f45\u1a76\u341a\u654c\uc23f\u9b09\uabe2\u8343\u1b27\u60d0"},
    {"\u7449\u7e4b\uccfb\u59ff\ufe5f\u83b7\uadcc\u900c\ucfd1\u7813",
     "\u8db7\u5022\u92d3\u42ef\u207d\u8730\uacfe\u5617\u0946\u4e30"},
    {"\u7470\u9314\u901c\u9eae\u40d8\u4201\u82d8\u8c70\u1d31\ua042",
     "\u17d9\u0ba8\u9358\uaadf\ua42a\u48be\ufb96\u6fe9\ub7ff\u32f3"},
    {"\uc2c5\u2c1d\u2620\u3617\u96b3F\u8605\u20e8\uac21\u5934",
     "\ufba9\u41aa\ubd83\u840b\u2615\u3e6e\u652d\ua8b5\ud56bU"},
};

const char kDuoVectorCanonical[] =
    "Fri, 07 Dec 2012 17:18:00 -0000\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n"
    "%E4%9A%9A%E2%A1%BB%E3%97%90%E8%BB%B3%E6%9C%A7%E5%80%AA%E0%A0%90%ED%82%91%C3%88%EC%85%B0="
    "%E0%BD%85%E1%A9%B6%E3%90%9A%E6%95%8C%EC%88%BF%E9%AC%89%EA%AF%A2%E8%8D%83%E1%AC%A7%E6%83%90&"
    "%E7%91%89%E7%B9%8B%EC%B3%BB%E5%A7%BF%EF%B9%9F%E8%8E%B7%EA%B7%8C%E9%80%8C%EC%BF%91%E7%A0%93="
    "%E8%B6%B7%E5%80%A2%E9%8B%93%E4%8B%AF%E2%81%BD%E8%9C%B0%EA%B3%BE%E5%98%97%E0%A5%86%E4%B8%B0&"
    "%E7%91%B0%E9%8C%94%E9%80%9C%E9%BA%AE%E4%83%98%E4%88%81%E8%8B%98%E8%B1%B0%E1%B4%B1%EA%81%82="
    "%E1%9F%99%E0%AE%A8%E9%8D%98%EA%AB%9F%EA%90%AA%E4%A2%BE%EF%AE%96%E6%BF%A9%EB%9F%BF%E3%8B%B3&"
    "%EC%8B%85%E2%B0%9D%E2%98%A0%E3%98%97%E9%9A%B3F%E8%98%85%E2%83%A8%EA%B0%A1%E5%A4%B4="
    "%EF%AE%A9%E4%86%AA%EB%B6%83%E8%90%8B%E2%98%95%E3%B9%AE%E6%94%AD%EA%A2%B5%ED%95%ABU";

const char kDuoVectorSkey[] = "gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT";

// HMAC-SHA1 computed here with OpenSSL directly (not through duo.cpp).
std::string hmac_sha1_hex(const std::string& key, const std::string& data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), mac, &len);
    std::string hex;
    char b[3];
    for (unsigned int i = 0; i < len; ++i) {
        std::snprintf(b, sizeof b, "%02x", mac[i]);
        hex += b;
    }
    return hex;
}

TEST(DuoSign, ParamEncodingFollowsDuo) {
    EXPECT_EQ(duo_sign::canon_params({}), "");
    EXPECT_EQ(duo_sign::canon_params({{"realname", "First Last"}}), "realname=First%20Last");
    EXPECT_EQ(duo_sign::canon_params({{"username", "root"}, {"realname", "First Last"}}),
              "realname=First%20Last&username=root");
    EXPECT_EQ(duo_sign::canon_params({{"foo_bar", "2"}, {"foo", "1"}}), "foo=1&foo_bar=2");
    EXPECT_EQ(duo_sign::canon_params({{"digits", "0123456789"},
                                      {"letters", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"},
                                      {"punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"},
                                      {"whitespace", "\t\n\x0b\x0c\r "}}),
              "digits=0123456789&letters=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ&punctuation=%21%22%"
              "23%24%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~&whitespace=%09%"
              "0A%0B%0C%0D%20");
    // pushinfo is itself URL-encoded, then encoded again as a parameter.
    EXPECT_EQ(duo_sign::canon_params({{"pushinfo", "host=db1&role=db%20admin"}}),
              "pushinfo=host%3Ddb1%26role%3Ddb%2520admin");
}

TEST(DuoSign, CanonicalStringAndSignaturesMatchDuoVectors) {
    const std::string canonical =
        duo_sign::canonical_request("Fri, 07 Dec 2012 17:18:00 -0000", "PoSt", "foO.BAr52.cOm", "/Foo/BaR2/qux",
                                    duo_sign::canon_params(kDuoVectorParams));
    ASSERT_EQ(canonical, kDuoVectorCanonical);

    // The HMAC-SHA1 of the same string: proves the canonical string is the
    // one Duo signs, independently of our HMAC-SHA512 code.
    EXPECT_EQ(hmac_sha1_hex(kDuoVectorSkey, canonical), "f01811cbbf9561623ab45b893096267fd46a5178");

    const std::string sig = duo_sign::hmac_sha512_hex(kDuoVectorSkey, canonical);
    EXPECT_EQ(sig,
              "0508065035a03b2a1de2f453e629e791d180329e157f65df6b3e0f08299d4321e1c5c7a7c7ee6b9e5fc80d1fb6fbf3ad5eb7c"
              "44dd3b3985a02c37aca53ec3698");
    // base64("test_ikey:" + sig), as Duo's test builds it.
    EXPECT_EQ(duo_sign::authorization("test_ikey", "f01811cbbf9561623ab45b893096267fd46a5178"),
              "Basic dGVzdF9pa2V5OmYwMTgxMWNiYmY5NTYxNjIzYWI0NWI4OTMwOTYyNjdmZDQ2YTUxNzg=");
}

// duo_client_python signs the host it is given and connects to the port it
// is given separately; duo_unix cuts ":port" off its host before signing.
TEST(DuoSign, SignedHostIsTheNameWithoutAPort) {
    EXPECT_EQ(duo_sign::host_name("api-XXXXXXXX.duosecurity.com"), "api-xxxxxxxx.duosecurity.com");
    EXPECT_EQ(duo_sign::host_name("API-xxxxxxxx.duosecurity.com:443"), "api-xxxxxxxx.duosecurity.com");
    EXPECT_EQ(duo_sign::host_name("127.0.0.1:8443"), "127.0.0.1");
    EXPECT_EQ(duo_sign::host_name("[::1]:8443"), "::1");
}

TEST(DuoSign, DateIsRfc2822InUtc) {
    EXPECT_EQ(duo_sign::rfc2822_date(1345570158), "Tue, 21 Aug 2012 17:29:18 +0000");
    EXPECT_EQ(duo_sign::rfc2822_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(duo_sign::rfc2822_date(1709164800), "Thu, 29 Feb 2024 00:00:00 +0000");
}

// What one challenge's callbacks reported.
struct Seen {
    int sent_calls = 0;
    int done_calls = 0;
    PushSent sent;
    PushAnswer answer;
    bool finished() const { return done_calls > 0 || (sent_calls > 0 && !sent.ok); }
};

// ---------------------------------------------------------------------------
// The provider against duo_server.py.

class DuoFlow : public pt::HttpsServerTest<pt::DuoServer> {
protected:
    // The server's script: default "approve" plus per-user behaviours.
    static json script(const std::vector<std::pair<std::string, std::string>>& users = {}, int slow_ms = 1500,
                       const std::string& device = "iOS (XXX-XXX-1234)") {
        json j = {{"default", "approve"}, {"device", device}, {"slow_ms", slow_ms}, {"users", json::object()}};
        for (const auto& [user, behaviour] : users) j["users"][user] = behaviour;
        return j;
    }

    void start_server(const json& script, const std::string& cert = "server") {
        HttpsServerTest::start_server(script, cert);
        port_ = server.port();
    }

    config::PushConfig config() const {
        config::PushConfig p;
        p.provider = config::PushProviderKind::Duo;
        p.timeout = 30;
        p.duo.api_host = "127.0.0.1:" + std::to_string(port_);
        p.duo.integration_key = pt::kDuoIkey;
        p.duo.secret_key = pt::kDuoSkey;
        p.duo.endpoint = endpoint();
        p.duo.endpoint.connect_timeout_ms = 2000;
        p.duo.endpoint.request_timeout_ms = 5000;
        p.duo.poll_interval_ms = 100;
        return p;
    }

    void make(const config::PushConfig& p) {
        auto made = make_duo_provider(p, *http, clock_);
        ASSERT_TRUE(made.ok()) << made.error().message;
        provider_ = std::move(made).value();
    }

    PushChallenge challenge(const std::string& user, int64_t expires_in = 30) {
        return pt::sample_challenge(user, clock_, expires_in);
    }

    void start(const PushChallenge& c, Seen& seen) {
        provider_->start(
            c,
            [&seen](PushSent s) {
                ++seen.sent_calls;
                seen.sent = std::move(s);
            },
            [&seen](PushAnswer a) {
                ++seen.done_calls;
                seen.answer = std::move(a);
            });
    }

    // Runs the HttpClient's completions for `ms` whatever happens.
    void pump_for(int ms) {
        drive([] { return false; }, milliseconds(ms));
    }

    // Starts one challenge for `user` and runs it to its end.
    Seen run_one(const std::string& user, int64_t expires_in = 30, int timeout_ms = 15000) {
        Seen seen;
        start(challenge(user, expires_in), seen);
        EXPECT_TRUE(drive([&] { return seen.finished(); }, milliseconds(timeout_ms))) << "no answer for " << user;
        pump_for(150);  // nothing more may arrive
        EXPECT_EQ(seen.sent_calls, 1);
        EXPECT_LE(seen.done_calls, 1);
        if (!seen.sent.ok) {
            EXPECT_EQ(seen.done_calls, 0) << "done after a failed send";
        }
        return seen;
    }

    // The request log, "METHOD PATH USERNAME\n" per request.
    std::string requests() const {
        std::string log;
        for (const auto& line : server.log_lines()) log += line + "\n";
        return log;
    }

    int port_ = 0;
    base::SystemClock clock_;
    std::unique_ptr<PushProvider> provider_;
};

TEST_F(DuoFlow, ConfigNeedsHostAndKeys) {
    start_server(script());
    auto check = [&](const std::function<void(config::PushConfig&)>& edit, const std::string& expect) {
        config::PushConfig p = config();
        edit(p);
        auto made = make_duo_provider(p, *http, clock_);
        ASSERT_FALSE(made.ok()) << expect;
        EXPECT_NE(made.error().message.find(expect), std::string::npos) << made.error().message;
    };
    check([](auto& p) { p.duo.api_host.clear(); }, "api_host is not set");
    check([](auto& p) { p.duo.api_host = "https://api-x.duosecurity.com"; }, "must be a host name");
    check([](auto& p) { p.duo.integration_key.clear(); }, "integration_key is not set");
    check([](auto& p) { p.duo.integration_key = "DI:X"; }, "integration_key");
    check([](auto& p) { p.duo.secret_key.clear(); }, "secret_key is not set");
    make(config());
    EXPECT_STREQ(provider_->name(), "duo");
}

TEST_F(DuoFlow, ApprovedAfterPolling) {
    start_server(script());
    make(config());
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.sent.device, "iOS (XXX-XXX-1234)");
    ASSERT_EQ(seen.done_calls, 1);
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved) << seen.answer.detail;
    EXPECT_EQ(seen.answer.detail, "Success. Logging you in...");

    const std::string log = requests();
    EXPECT_NE(log.find("POST /auth/v2/preauth alice\n"), std::string::npos) << log;
    EXPECT_NE(log.find("POST /auth/v2/auth alice\n"), std::string::npos) << log;
    // The server answers "waiting" first, so there were at least two polls.
    const std::string poll = "GET /auth/v2/auth_status alice\n";
    size_t polls = 0;
    for (size_t at = log.find(poll); at != std::string::npos; at = log.find(poll, at + 1)) ++polls;
    EXPECT_GE(polls, 2u) << log;
    EXPECT_EQ(log.find(pt::kDuoSkey), std::string::npos);
}

TEST_F(DuoFlow, Denied) {
    start_server(script({{"bob", "deny"}}));
    make(config());
    Seen seen = run_one("bob");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Denied);
    EXPECT_EQ(seen.answer.detail, "Login request denied.");
}

TEST_F(DuoFlow, Fraud) {
    start_server(script({{"carol", "fraud"}}));
    make(config());
    Seen seen = run_one("carol");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Fraud);
    EXPECT_FALSE(seen.answer.unavailable);
}

TEST_F(DuoFlow, TimeoutWhenNoAnswerByExpires) {
    start_server(script({{"dave", "timeout"}}));
    make(config());
    const auto t0 = steady_clock::now();
    Seen seen = run_one("dave", /*expires_in=*/2, /*timeout_ms=*/8000);
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Timeout) << seen.answer.detail;
    EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(DuoFlow, DuosOwnPushTimeoutIsTimeout) {
    start_server(script({{"dave", "duo_timeout"}}));
    make(config());
    Seen seen = run_one("dave");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Timeout);
    EXPECT_EQ(seen.answer.detail, "Login timed out.");
}

TEST_F(DuoFlow, DeviceLabelLosesControlCharacters) {
    start_server(script({}, 1500, "iPhone\x1b[2J\n(XXX-XXX-1234)"));
    make(config());
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.sent.device, "iPhone?[2J?(XXX-XXX-1234)");
}

TEST_F(DuoFlow, NotEnrolled) {
    start_server(script({{"erin", "enroll"}}));
    make(config());
    Seen seen = run_one("erin");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_FALSE(seen.sent.unavailable);
    EXPECT_EQ(seen.sent.error, "erin is not enrolled in Duo");
}

TEST_F(DuoFlow, NoPushCapableDevice) {
    start_server(script({{"alice", "nodevice"}}));
    make(config());
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_FALSE(seen.sent.unavailable);
    EXPECT_EQ(seen.sent.error, "no Duo push device for alice");
    EXPECT_EQ(requests().find("/auth/v2/auth "), std::string::npos) << "no push without a device";
}

TEST_F(DuoFlow, PreauthDenyCarriesDuoMessage) {
    start_server(script({{"mallory", "locked"}}));
    make(config());
    Seen seen = run_one("mallory");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_FALSE(seen.sent.unavailable);
    EXPECT_EQ(seen.sent.error, "Duo denied mallory: Your account is disabled.");
}

TEST_F(DuoFlow, PreauthAllowIsABypassApproval) {
    start_server(script({{"svc", "bypass"}}));
    make(config());
    Seen seen = run_one("svc");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    ASSERT_EQ(seen.done_calls, 1);
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved);
    EXPECT_EQ(seen.answer.detail, "Duo bypass: Allowing unknown user");
    EXPECT_EQ(requests().find("/auth/v2/auth "), std::string::npos) << "no push for a bypass";
}

TEST_F(DuoFlow, MalformedPreauthIsADefiniteFailure) {
    start_server(script({{"alice", "malformed"}}));
    make(config());
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_FALSE(seen.sent.unavailable);
    EXPECT_NE(seen.sent.error.find("malformed response to /auth/v2/preauth"), std::string::npos) << seen.sent.error;
}

TEST_F(DuoFlow, MalformedStatusIsADefiniteFailure) {
    start_server(script({{"alice", "malformed_status"}}));
    make(config());
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Failed);
    EXPECT_FALSE(seen.answer.unavailable);
    EXPECT_NE(seen.answer.detail.find("malformed"), std::string::npos) << seen.answer.detail;
}

TEST_F(DuoFlow, ServerErrorIsUnavailable) {
    start_server(script({{"alice", "error500"}}));
    make(config());
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_TRUE(seen.sent.unavailable);
    EXPECT_EQ(seen.sent.error.rfind("Duo unreachable: HTTP 500", 0), 0u) << seen.sent.error;
}

TEST_F(DuoFlow, WrongSecretKeyIsRejectedBySignatureCheck) {
    start_server(script());
    config::PushConfig p = config();
    p.duo.secret_key = "not-the-secret-key-the-server-knows-at-all";
    make(p);
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_FALSE(seen.sent.unavailable);
    EXPECT_EQ(seen.sent.error,
              "Duo rejected the request: code 40103: Invalid signature in request credentials (check "
              "integration_key/secret_key)");
    EXPECT_EQ(seen.sent.error.find(p.duo.secret_key), std::string::npos);
}

TEST_F(DuoFlow, WrongIntegrationKeyIsRejected) {
    start_server(script());
    config::PushConfig p = config();
    p.duo.integration_key = "DIXXXXXXXXXXXXXXXXXX";
    make(p);
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_NE(seen.sent.error.find("Duo rejected the request"), std::string::npos) << seen.sent.error;
    EXPECT_NE(seen.sent.error.find("check integration_key/secret_key"), std::string::npos);
}

TEST_F(DuoFlow, CertificateFromAnotherCaIsRefused) {
    start_server(script(), "wrong");
    make(config());
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_TRUE(seen.sent.unavailable);
    EXPECT_EQ(seen.sent.error.rfind("Duo unreachable: ", 0), 0u) << seen.sent.error;
    EXPECT_EQ(requests().find("preauth"), std::string::npos) << "no request may pass a refused handshake";
}

TEST_F(DuoFlow, PinnedKeyIsEnforced) {
    start_server(script());
    config::PushConfig p = config();
    p.duo.endpoint.pinned_key = pt::read_file(dir.file("pki/wrong.pin"));
    make(p);
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_TRUE(seen.sent.unavailable);

    p.duo.endpoint.pinned_key = pt::read_file(dir.file("pki/server.pin"));
    make(p);
    seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved);
}

TEST_F(DuoFlow, ServerDownIsUnavailable) {
    port_ = pt::closed_port();
    make(config());
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_TRUE(seen.sent.unavailable);
    EXPECT_EQ(seen.sent.error.rfind("Duo unreachable: ", 0), 0u) << seen.sent.error;
}

TEST_F(DuoFlow, ServerGoneWhilePollingIsUnavailable) {
    start_server(script({{"alice", "timeout"}}));
    make(config());
    Seen seen;
    start(challenge("alice"), seen);
    ASSERT_TRUE(drive([&] { return seen.sent_calls > 0; }, milliseconds(10000)));
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    server.stop();
    ASSERT_TRUE(drive([&] { return seen.done_calls > 0; }, milliseconds(10000)));
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Failed);
    EXPECT_TRUE(seen.answer.unavailable);
    EXPECT_EQ(seen.answer.detail.rfind("Duo unreachable: ", 0), 0u) << seen.answer.detail;
}

TEST_F(DuoFlow, SlowServerPastRequestTimeoutIsUnavailable) {
    start_server(script({{"alice", "slow"}}, /*slow_ms=*/3000));
    config::PushConfig p = config();
    p.duo.endpoint.request_timeout_ms = 500;
    make(p);
    const auto t0 = steady_clock::now();
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_TRUE(seen.sent.unavailable);
    EXPECT_LT(steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(DuoFlow, SlowServerWithinTimeoutStillAnswers) {
    start_server(script({{"alice", "slow"}}, /*slow_ms=*/300));
    make(config());
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved);
}

TEST_F(DuoFlow, CancelStopsPollingAndCallbacks) {
    start_server(script({{"alice", "timeout"}}));
    make(config());
    Seen seen;
    const PushChallenge c = challenge("alice");
    start(c, seen);
    ASSERT_TRUE(drive([&] { return seen.sent_calls > 0; }, milliseconds(10000)));
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    pump_for(300);
    provider_->cancel(c.id);
    pump_for(200);  // a poll already on the wire may still arrive
    const std::string before = requests();
    pump_for(600);
    EXPECT_EQ(requests(), before) << "polling went on after cancel";
    EXPECT_EQ(seen.done_calls, 0);
    provider_->cancel(c.id);  // twice is harmless
}

TEST_F(DuoFlow, HundredConcurrentPushes) {
    std::vector<std::pair<std::string, std::string>> users;
    for (int i = 0; i < 100; ++i) {
        static const char* kinds[] = {"approve", "deny", "fraud", "enroll"};
        users.emplace_back("user" + std::to_string(i), kinds[i % 4]);
    }
    start_server(script(users));
    config::PushConfig p = config();
    p.duo.endpoint.request_timeout_ms = 20000;
    p.duo.poll_interval_ms = 200;
    make(p);

    std::deque<Seen> seen(users.size());
    for (size_t i = 0; i < users.size(); ++i) start(challenge(users[i].first), seen[i]);
    ASSERT_TRUE(drive(
        [&] {
            for (const Seen& s : seen) {
                if (!s.finished()) return false;
            }
            return true;
        },
        milliseconds(40000)));
    for (size_t i = 0; i < users.size(); ++i) {
        const Seen& s = seen[i];
        EXPECT_EQ(s.sent_calls, 1) << users[i].first;
        const std::string& kind = users[i].second;
        if (kind == "enroll") {
            EXPECT_FALSE(s.sent.ok) << users[i].first;
            EXPECT_EQ(s.done_calls, 0) << users[i].first;
            continue;
        }
        ASSERT_TRUE(s.sent.ok) << users[i].first << ": " << s.sent.error;
        ASSERT_EQ(s.done_calls, 1) << users[i].first;
        const PushOutcome want = kind == "approve" ? PushOutcome::Approved
                                 : kind == "deny"  ? PushOutcome::Denied
                                                   : PushOutcome::Fraud;
        EXPECT_EQ(s.answer.outcome, want) << users[i].first << ": " << s.answer.detail;
    }
}

// Duo signs the host name alone (duo_unix, duo_client_python): a port in
// api_host goes into the connection, never into the canonical string, and
// the name is compared in lower case. duo_server.py checks it that way.
TEST_F(DuoFlow, ApiHostWithAPortIsSignedWithoutThePort) {
    start_server(script());
    config::PushConfig p = config();
    p.duo.api_host = "LocalHost:" + std::to_string(port_);
    make(p);
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved) << seen.answer.detail;
}

size_t count_lines(const std::vector<std::string>& lines, const std::string& line) {
    return size_t(std::count(lines.begin(), lines.end(), line));
}

TEST_F(DuoFlow, RateLimitedPreauthIsRetriedAfterRetryAfterSeconds) {
    start_server(pt::rate_limited("/auth/v2/preauth", 2, 1));
    make(config());
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved) << seen.answer.detail;
    EXPECT_EQ(count_lines(server.log_lines(), "POST /auth/v2/preauth alice"), 3u) << requests();
}

TEST_F(DuoFlow, RateLimitedPushIsRetriedAfterAnHttpDate) {
    start_server(pt::rate_limited("/auth/v2/auth", 1, 2, "date"));
    make(config());
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved) << seen.answer.detail;
    EXPECT_EQ(count_lines(server.log_lines(), "POST /auth/v2/auth alice"), 2u) << requests();
}

TEST_F(DuoFlow, RateLimitedPollHonoursXRetryAfter) {
    start_server(pt::rate_limited("/auth/v2/auth_status", 3, 1, "seconds", "X-Retry-After"));
    make(config());
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved) << seen.answer.detail;
}

TEST_F(DuoFlow, RateLimitWithoutRetryAfterBacksOff) {
    start_server(pt::rate_limited("/auth/v2/preauth", 2, 0, "none"));
    make(config());
    Seen seen = run_one("alice");
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Approved) << seen.answer.detail;
    EXPECT_EQ(count_lines(server.log_lines(), "POST /auth/v2/preauth alice"), 3u) << requests();
}

// Rate-limited until the push's deadline: a denial with its own message,
// never "unavailable" (which failmode=open would let through).
TEST_F(DuoFlow, RateLimitedPastTheDeadlineIsADenialNotUnavailable) {
    start_server(pt::rate_limited("/auth/v2/auth_status", -1, 1));
    make(config());
    Seen seen = run_one("alice", /*expires_in=*/3, /*timeout_ms=*/10000);
    ASSERT_TRUE(seen.sent.ok) << seen.sent.error;
    EXPECT_EQ(seen.answer.outcome, PushOutcome::Failed);
    EXPECT_FALSE(seen.answer.unavailable);
    EXPECT_EQ(seen.answer.detail, "Duo is rate-limiting requests; try again in 1 s");
}

TEST_F(DuoFlow, RateLimitLongerThanTheDeadlineIsNotWaitedFor) {
    start_server(pt::rate_limited("/auth/v2/preauth", -1, 120));
    make(config());
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_FALSE(seen.sent.unavailable);
    EXPECT_EQ(seen.sent.error, "Duo is rate-limiting requests; try again in 120 s");
    EXPECT_EQ(count_lines(server.log_lines(), "POST /auth/v2/preauth alice"), 1u) << requests();
}

// A 401 from a server whose clock is ten minutes ahead names the clock,
// not the keys.
TEST_F(DuoFlow, ClockSkewIsNamedWhenDuoRefuses) {
    json s = script();
    s["clock_offset"] = 600;
    start_server(s);
    make(config());
    Seen seen = run_one("alice");
    EXPECT_FALSE(seen.sent.ok);
    EXPECT_FALSE(seen.sent.unavailable);
    const std::string& e = seen.sent.error;
    EXPECT_TRUE(e.find("the clock of this host differs from Duo's by 599 s") != std::string::npos ||
                e.find("the clock of this host differs from Duo's by 600 s") != std::string::npos ||
                e.find("the clock of this host differs from Duo's by 601 s") != std::string::npos)
        << e;
    EXPECT_EQ(e.find("check integration_key/secret_key"), std::string::npos) << e;
}

TEST_F(DuoFlow, DestroyingTheProviderMidFlightIsSafe) {
    start_server(script({{"alice", "timeout"}}));
    make(config());
    Seen seen[5];
    for (Seen& s : seen) start(challenge("alice"), s);
    pump_for(300);
    provider_.reset();
    pump_for(500);
    for (const Seen& s : seen) EXPECT_EQ(s.done_calls, 0);
}

}  // namespace
