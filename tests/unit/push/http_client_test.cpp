// HttpClient against a real HTTPS server on 127.0.0.1 (webhook_server.py's
// /test/ helpers): TLS verification, pinning, timeouts, caps, cancel, delay.
#include "daemon/push/http_client.h"
#include "tests/unit/push/test_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <poll.h>

#include <chrono>
#include <optional>

namespace elevate::push::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class HttpClientTest : public HttpsTest {
protected:
    HttpRequest get(const std::string& path) {
        HttpRequest r;
        r.url = server.url(path);
        r.endpoint = endpoint();
        return r;
    }
};

TEST_F(HttpClientTest, GetReturnsStatusBodyAndLowerCasedTrimmedHeaders) {
    start_server({});
    HttpResponse r = fetch(get("/test/echo"));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-test-header"), "Some Value");
    EXPECT_EQ(r.header("content-type"), "application/json");
    auto echo = nlohmann::json::parse(r.body);
    EXPECT_EQ(echo["method"], "GET");
    EXPECT_EQ(echo["path"], "/test/echo");
    EXPECT_TRUE(echo["headers"]["user-agent"].get<std::string>().starts_with("elevated/"));
    EXPECT_EQ(http->in_flight(), 0u);
}

TEST_F(HttpClientTest, PostSendsBodyAndHeadersWithoutExpectContinue) {
    start_server({});
    HttpRequest req = get("/test/echo");
    req.method = "POST";
    req.body = std::string(4000, 'b');  // big enough that libcurl would send Expect: 100-continue
    req.headers = {"Content-Type: application/json", "X-Custom: 42"};
    HttpResponse r = fetch(req);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200);
    auto echo = nlohmann::json::parse(r.body);
    EXPECT_EQ(echo["method"], "POST");
    EXPECT_EQ(echo["body"], req.body);
    EXPECT_EQ(echo["headers"]["x-custom"], "42");
    EXPECT_FALSE(echo["headers"].contains("expect"));
}

TEST_F(HttpClientTest, RedirectIsNotFollowed) {
    start_server({});
    HttpResponse r = fetch(get("/test/redirect"));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 302);
    EXPECT_EQ(r.header("location"), "/test/echo");
}

TEST_F(HttpClientTest, WrongCertificateFailsVerification) {
    start_server({}, "wrong");
    HttpResponse r = fetch(get("/test/echo"));
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.error.starts_with("TLS: ")) << r.error;
    EXPECT_NE(r.error.find("certificate"), std::string::npos) << r.error;
}

TEST_F(HttpClientTest, TestCaIsNotTrustedWithoutCaFile) {
    start_server({});
    HttpRequest req = get("/test/echo");
    req.endpoint.ca_file.clear();  // the system store does not know the test CA
    HttpResponse r = fetch(req);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.error.starts_with("TLS: ")) << r.error;
}

TEST_F(HttpClientTest, PinnedKeyMatches) {
    start_server({});
    HttpRequest req = get("/test/echo");
    req.endpoint.pinned_key = read_file(dir.file("pki/server.pin"));
    HttpResponse r = fetch(req);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200);
}

TEST_F(HttpClientTest, PinnedKeyMismatchFails) {
    start_server({});
    HttpRequest req = get("/test/echo");
    req.endpoint.pinned_key = read_file(dir.file("pki/wrong.pin"));
    HttpResponse r = fetch(req);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.error.starts_with("TLS: ")) << r.error;
    EXPECT_NE(r.error.find("pinned"), std::string::npos) << r.error;
}

TEST_F(HttpClientTest, ConnectionRefusedNamesThePeer) {
    const int port = closed_port();
    HttpRequest req;
    req.url = "https://127.0.0.1:" + std::to_string(port) + "/x";
    req.endpoint = endpoint();
    HttpResponse r = fetch(req);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error, "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_F(HttpClientTest, TotalTimeoutBoundsASlowServer) {
    start_server({});
    HttpRequest req = get("/test/slow?ms=3000");
    req.endpoint.request_timeout_ms = 500;
    const auto t0 = steady_clock::now();
    HttpResponse r = fetch(req);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.error.starts_with("timed out talking to 127.0.0.1:")) << r.error;
    EXPECT_LT(steady_clock::now() - t0, milliseconds(2900));  // did not wait for the server
}

TEST_F(HttpClientTest, BodyIsCappedAtOneMebibyte) {
    start_server({});
    HttpResponse at_cap = fetch(get("/test/big?bytes=" + std::to_string(kMaxResponseBody)));
    ASSERT_TRUE(at_cap.ok()) << at_cap.error;
    EXPECT_EQ(at_cap.body.size(), kMaxResponseBody);
    HttpResponse over = fetch(get("/test/big?bytes=" + std::to_string(kMaxResponseBody + 1)));
    EXPECT_FALSE(over.ok());
    EXPECT_EQ(over.error, "response larger than 1 MiB");
    EXPECT_TRUE(over.body.empty());
}

TEST_F(HttpClientTest, OnlyHttpsUrls) {
    HttpRequest req;
    req.url = "http://127.0.0.1:1/x";
    req.endpoint = endpoint();
    HttpResponse r = fetch(req);
    EXPECT_EQ(r.error, "only https:// URLs are allowed (not http://)");
    req.url = "not a url";
    EXPECT_EQ(fetch(req).error, "malformed URL");
}

TEST_F(HttpClientTest, HeaderWithLineBreakIsRefused) {
    start_server({});
    HttpRequest req = get("/test/echo");
    req.headers = {"X-Ok: 1\r\nX-Smuggled: 2"};
    HttpResponse r = fetch(req);
    EXPECT_EQ(r.error, "invalid request header");
    EXPECT_TRUE(server.log_lines().empty());  // nothing was sent
}

TEST_F(HttpClientTest, CancelledTransferNeverCallsBack) {
    start_server({});
    bool called = false;
    const uint64_t id = http->submit(get("/test/slow?ms=300"), [&](HttpResponse) { called = true; });
    EXPECT_EQ(http->in_flight(), 1u);
    http->cancel(id);
    EXPECT_EQ(http->in_flight(), 0u);
    drive([] { return false; }, milliseconds(800));
    EXPECT_FALSE(called);
}

TEST_F(HttpClientTest, CancelAfterCompletionBeforeCallbackNeverCallsBack) {
    start_server({});
    bool called = false;
    const uint64_t id = http->submit(get("/test/echo"), [&](HttpResponse) { called = true; });
    // Wait until the completion is queued, without running it.
    pollfd p{http->wake_fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 10000), 1);
    http->cancel(id);
    http->run_completions();
    EXPECT_FALSE(called);
    EXPECT_EQ(http->in_flight(), 0u);
}

TEST_F(HttpClientTest, DelayIsHonoured) {
    start_server({});
    std::optional<steady_clock::time_point> delayed_done, prompt_done;
    const auto t0 = steady_clock::now();
    HttpRequest delayed = get("/test/echo");
    delayed.delay_ms = 700;
    http->submit(delayed, [&](HttpResponse r) {
        EXPECT_TRUE(r.ok()) << r.error;
        delayed_done = steady_clock::now();
    });
    // Submitted later, not delayed: must not wait behind the delayed one.
    http->submit(get("/test/echo"), [&](HttpResponse r) {
        EXPECT_TRUE(r.ok()) << r.error;
        prompt_done = steady_clock::now();
    });
    ASSERT_TRUE(drive([&] { return delayed_done && prompt_done; }));
    EXPECT_GE(*delayed_done - t0, milliseconds(700));
    EXPECT_LT(*prompt_done, *delayed_done);
    // The delayed request reached the server once, after the prompt one.
    EXPECT_EQ(server.log_lines().size(), 2u);
}

TEST_F(HttpClientTest, DestructorDoesNotWaitForTransfers) {
    start_server({});
    bool called = false;
    http->submit(get("/test/slow?ms=5000"), [&](HttpResponse) { called = true; });
    HttpRequest later = get("/test/echo");
    later.delay_ms = 60000;
    http->submit(later, [&](HttpResponse) { called = true; });
    drive([] { return false; }, milliseconds(200));
    const auto t0 = steady_clock::now();
    http.reset();
    EXPECT_LT(steady_clock::now() - t0, milliseconds(2000));
    EXPECT_FALSE(called);
}

TEST_F(HttpClientTest, ManyConcurrentTransfers) {
    start_server({});
    int ok = 0;
    for (int i = 0; i < 50; ++i) {
        http->submit(get("/test/echo"), [&](HttpResponse r) {
            EXPECT_TRUE(r.ok()) << r.error;
            if (r.ok() && r.status == 200) ++ok;
        });
    }
    EXPECT_EQ(http->in_flight(), 50u);
    ASSERT_TRUE(drive([&] { return http->in_flight() == 0; }));
    EXPECT_EQ(ok, 50);
}

}  // namespace
}  // namespace elevate::push::test
