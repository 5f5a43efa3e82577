// Test support for the HTTPS tests: a temporary directory with a test PKI
// (tests/push/make_test_ca.sh), the scriptable test servers of tests/push
// (webhook_server.py, duo_server.py) as child processes, and a loop that
// drives an HttpClient the way the daemon's event loop does.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "daemon/push/http_client.h"
#include "daemon/push/provider.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace elevate::push::test {

// The secret shared by the daemon side and the webhook server in these tests.
inline constexpr char kSecret[] = "test-secret-0123456789abcdef-0123456789";
// The Duo integration and secret keys duo_server.py checks signatures with.
inline constexpr char kDuoIkey[] = "DIWJ8X6AEYOR5OMC6TQ1";
inline constexpr char kDuoSkey[] = "elevateDuoTestSecretKey0123456789abcdefgh";

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// One of the test servers of tests/push run by python3, following the
// contract of tests/push/test_https.py: it serves HTTPS with a certificate
// of the PKI in `dir` (make_test_pki), re-reads its script (dir/script.json)
// on every request, logs each request to dir/requests.log, prints "PORT <n>"
// once it listens, and exits when its stdin closes (so also when the test
// process dies). Stopped and reaped by stop() or on destruction.
class ScriptServer {
public:
    ScriptServer() = default;
    ~ScriptServer();
    ScriptServer(const ScriptServer&) = delete;
    ScriptServer& operator=(const ScriptServer&) = delete;

    // Writes `script` and runs tests/push/`program` with the certificate
    // `cert` ("server" or "wrong") and the server's own `args`; returns once
    // it listens. Its stderr goes to dir/server.stderr.
    base::Result<void> start(const TempDir& dir, const std::string& program, const nlohmann::json& script,
                             const std::string& cert, const std::vector<std::string>& args);
    void stop();

    void set_script(const nlohmann::json& script);
    int port() const { return port_; }
    // The request log, one line per request (the format is the server's).
    std::vector<std::string> log_lines() const;

protected:
    const TempDir* dir_ = nullptr;

private:
    pid_t pid_ = -1;
    int stdin_fd_ = -1;  // the server exits when this closes
    int port_ = 0;
};

// webhook_server.py, with kSecret (dir/secret, written by make_test_pki).
class WebhookServer : public ScriptServer {
public:
    base::Result<void> start(const TempDir& dir, const nlohmann::json& script, const std::string& cert = "server");

    std::string url(const std::string& path) const;
    // The notification events it received, in order.
    std::vector<nlohmann::json> events() const;
};

// duo_server.py, checking signatures against kDuoIkey and kDuoSkey.
// Its request log lines are "METHOD PATH USERNAME".
class DuoServer : public ScriptServer {
public:
    base::Result<void> start(const TempDir& dir, const nlohmann::json& script, const std::string& cert = "server");

    // What [push.duo] api_host names it by: "127.0.0.1:PORT".
    std::string api_host() const;
};

// A test with a PKI, a secret file and a real HttpClient. Fails (never
// skips) when openssl or python3 is missing.
class HttpsFixture : public ::testing::Test {
protected:
    void SetUp() override;

    // An endpoint that trusts the test CA.
    config::HttpEndpoint endpoint() const;

    // Runs completions until `done()` or `limit`; false on timeout.
    bool drive(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(20));

    // Performs one request and returns its response.
    HttpResponse fetch(HttpRequest request);

    TempDir dir;
    std::unique_ptr<HttpClient> http;
};

// HttpsFixture with a test server of type `Server` (WebhookServer,
// DuoServer).
template <typename Server>
class HttpsServerTest : public HttpsFixture {
protected:
    // Starts `server` with `script`; fails the test if it does not come up.
    void start_server(const nlohmann::json& script, const std::string& cert = "server") {
        auto started = server.start(dir, script, cert);
        ASSERT_TRUE(started.ok()) << started.error().message;
    }

    Server server;
};

using HttpsTest = HttpsServerTest<WebhookServer>;

// A loopback TCP port with nothing listening on it.
int closed_port();

// Writes the test PKI (make_test_ca.sh) to dir/pki and the shared secret to
// dir/secret; unsets proxy variables so nothing leaves loopback.
base::Result<void> make_test_pki(const TempDir& dir);

std::string read_file(const std::string& path);

// A test server script (default "approve") whose rate_limit rule answers
// `path` with HTTP 429 `count` times (-1: always), the wait given as `form`
// ("seconds", "date" or "none") in `header` (tests/push/test_https.py).
nlohmann::json rate_limited(const std::string& path, int count, int retry_after, const std::string& form = "seconds",
                            const std::string& header = "Retry-After");

// A sudo challenge for `user` with a new id ("5b1d7f4e-0000-4000-8000-..."),
// made at clock.now() and expiring `expires_in` seconds later: role
// "db admin", reason "INC-1234", from 192.0.2.7 on pts/3 of db1.example.com.
PushChallenge sample_challenge(const std::string& user, const base::Clock& clock, int64_t expires_in = 30);

}  // namespace elevate::push::test
