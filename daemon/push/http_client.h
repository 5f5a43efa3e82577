// HTTPS for the daemon: push providers and notifications. One worker thread
// runs a libcurl multi handle, so the single-threaded event loop never waits
// on the network; finished transfers are handed back to the loop through an
// eventfd and their callbacks run there, on the main thread.
//
// TLS peer and host verification are always on (system CA store or the
// endpoint's ca_file, optional public-key pinning); connect and total
// timeouts are always bounded; only https:// URLs are accepted, with no
// exception (the tests, too, run against a real HTTPS server).
#pragma once

#include "common/base/result.h"
#include "common/config/config.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elevate::push {

struct HttpRequest {
    std::string method = "GET";  // "GET" or "POST"
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;
    config::HttpEndpoint endpoint;  // TLS, proxy and timeouts (url ignored)
    int64_t delay_ms = 0;           // start no earlier than this (polling, retry backoff)
};

struct HttpResponse {
    long status = 0;    // HTTP status; 0 when the transfer failed
    std::string error;  // transport error (DNS, connect, TLS, timeout, body too large); empty on success
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
    std::string body;                                          // at most kMaxResponseBody bytes

    bool ok() const { return error.empty(); }
    // Value of the first header with this (lower-case) name, or "".
    std::string header(std::string_view name) const;
};

constexpr size_t kMaxResponseBody = 1 << 20;

class HttpClient {
public:
    using Done = std::function<void(HttpResponse)>;

    // Starts the worker thread.
    static base::Result<std::unique_ptr<HttpClient>> create();
    // Stops the worker; callbacks of unfinished transfers never run.
    ~HttpClient();

    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Main thread only. Queues a transfer; `done` runs exactly once, on the
    // main thread inside run_completions(), unless cancelled first.
    uint64_t submit(HttpRequest request, Done done);
    // Main thread only. After this, the transfer's `done` never runs.
    void cancel(uint64_t id);

    // Readable (level-triggered) while completions are waiting.
    int wake_fd() const;
    // Main thread only: runs the callbacks of finished transfers.
    void run_completions();

    // Transfers submitted and not yet completed or cancelled.
    size_t in_flight() const;

private:
    HttpClient();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace elevate::push
