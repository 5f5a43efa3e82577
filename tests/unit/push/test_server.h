// Test support for the HTTPS tests: a temporary directory with a test PKI
// (tests/push/make_test_ca.sh), the scriptable webhook server
// (tests/push/webhook_server.py) as a child process, and a loop that drives
// an HttpClient the way the daemon's event loop does.
#pragma once

#include "common/base/result.h"
#include "daemon/push/http_client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace elevate::push::test {

// The secret shared by the daemon side and the server in these tests.
inline constexpr char kSecret[] = "test-secret-0123456789abcdef-0123456789";

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

// The webhook test server, running until destroyed.
class WebhookServer {
public:
    WebhookServer() = default;
    ~WebhookServer();
    WebhookServer(const WebhookServer&) = delete;
    WebhookServer& operator=(const WebhookServer&) = delete;

    // Writes `script` and starts the server with the certificate `cert`
    // ("server" or "wrong") from the PKI in `dir`.
    base::Result<void> start(const TempDir& dir, const nlohmann::json& script, const std::string& cert = "server");
    void stop();

    void set_script(const nlohmann::json& script);
    int port() const { return port_; }
    std::string url(const std::string& path) const;

    std::vector<std::string> log_lines() const;
    std::vector<nlohmann::json> events() const;

private:
    const TempDir* dir_ = nullptr;
    pid_t pid_ = -1;
    int stdin_fd_ = -1;  // the server exits when this closes
    int port_ = 0;
};

// A test with a PKI, a secret file and a real HttpClient. Fails (never
// skips) when openssl or python3 is missing.
class HttpsTest : public ::testing::Test {
protected:
    void SetUp() override;

    // Starts `server` with `script`; fails the test if it does not come up.
    void start_server(const nlohmann::json& script, const std::string& cert = "server");

    // An endpoint that trusts the test CA.
    config::HttpEndpoint endpoint() const;

    // Runs completions until `done()` or `limit`; false on timeout.
    bool drive(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(20));

    // Performs one request and returns its response.
    HttpResponse fetch(HttpRequest request);

    TempDir dir;
    WebhookServer server;
    std::unique_ptr<HttpClient> http;
};

// A loopback TCP port with nothing listening on it.
int closed_port();

// Writes the test PKI (make_test_ca.sh) to dir/pki and the shared secret to
// dir/secret; unsets proxy variables so nothing leaves loopback.
base::Result<void> make_test_pki(const TempDir& dir);

std::string read_file(const std::string& path);

}  // namespace elevate::push::test
