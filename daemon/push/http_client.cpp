#include "daemon/push/http_client.h"

#include "common/base/unique_fd.h"
#include "daemon/push/text.h"

#include <curl/curl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace elevate::push {

std::string HttpResponse::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (key == name) return value;
    }
    return {};
}

namespace {

using SteadyClock = std::chrono::steady_clock;

struct CurlEasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlMultiDeleter {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct CurlSlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct CurlUrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStringDeleter {
    void operator()(char* s) const { curl_free(s); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlMulti = std::unique_ptr<CURLM, CurlMultiDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// Defaults when an endpoint leaves a timeout unset: a transfer is never unbounded.
constexpr int64_t kDefaultConnectTimeoutMs = 5000;
constexpr int64_t kDefaultRequestTimeoutMs = 10000;
// A reply has a handful of headers; this bounds memory against a hostile peer.
constexpr size_t kMaxResponseHeaders = 100;
// The worker wakes at least this often even with nothing to do (defensive only:
// every event that matters wakes it through curl_multi_wakeup).
constexpr int kIdlePollMs = 10000;

const char kTooLarge[] = "response larger than 1 MiB";

// One transfer, owned by the worker thread from submit to completion.
struct Transfer {
    uint64_t id = 0;
    HttpRequest request;
    SteadyClock::time_point start_at;
    std::string peer;  // "host:port", for messages
    CurlEasy easy;
    CurlSlist headers;
    HttpResponse response;
    bool too_large = false;
    char error[CURL_ERROR_SIZE] = {};
};

struct Completion {
    uint64_t id = 0;
    HttpResponse response;
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

std::string os_error_text(long code) {
    char buffer[128];
    // GNU strerror_r: thread-safe, returns the message (maybe not in buffer).
    return strerror_r(static_cast<int>(code), buffer, sizeof buffer);
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    if (t->response.body.size() + n > kMaxResponseBody) {
        t->too_large = true;
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    t->response.body.append(data, n);
    return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    const std::string_view line(data, n);
    // A new status line (after a proxy CONNECT or a 1xx) starts a new header set.
    if (line.starts_with("HTTP/")) {
        t->response.headers.clear();
        return n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return n;
    if (t->response.headers.size() >= kMaxResponseHeaders) return n;
    t->response.headers.emplace_back(ascii_lower(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
    return n;
}

bool is_tls_error(CURLcode rc) {
    switch (rc) {
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_USE_SSL_FAILED:
            return true;
        default:
            return false;
    }
}

// A sysadmin-readable reason for a failed transfer.
std::string describe_failure(CURLcode rc, const Transfer& t) {
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) return kTooLarge;
    const std::string detail = t.error[0] != '\0' ? std::string(t.error) : std::string(curl_easy_strerror(rc));
    if (rc == CURLE_COULDNT_CONNECT) {
        long os_errno = 0;
        if (curl_easy_getinfo(t.easy.get(), CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0) {
            return "cannot connect to " + t.peer + ": " + os_error_text(os_errno);
        }
        return "cannot connect to " + t.peer + ": " + detail;
    }
    if (rc == CURLE_COULDNT_RESOLVE_HOST) return "cannot resolve " + t.peer + ": " + detail;
    if (rc == CURLE_COULDNT_RESOLVE_PROXY) return "cannot resolve proxy: " + detail;
    if (rc == CURLE_OPERATION_TIMEDOUT) return "timed out talking to " + t.peer + ": " + detail;
    if (is_tls_error(rc)) return "TLS: " + detail + " (" + t.peer + ")";
    if (rc == CURLE_UNSUPPORTED_PROTOCOL) return "only https:// URLs are allowed";
    return detail + " (" + t.peer + ")";
}

// Sets the easy options for `t`; the first failing option is the error.
// Security options are checked: a libcurl that cannot honour one (pinning
// not built in, say) must fail the transfer, not silently skip it.
class OptionSetter {
public:
    explicit OptionSetter(CURL* easy) : easy_(easy) {}

    template <typename T>
    void set(CURLoption option, T value, const char* what) {
        if (!error_.empty()) return;
        const CURLcode rc = curl_easy_setopt(easy_, option, value);
        if (rc != CURLE_OK) error_ = std::string("cannot set ") + what + ": " + curl_easy_strerror(rc);
    }
    const std::string& error() const { return error_; }

private:
    CURL* easy_;
    std::string error_;
};

// "host:port" of an https URL, or an error when the URL is not one.
base::Result<std::string> https_peer(const std::string& url) {
    CurlUrl u(curl_url());
    if (!u) return base::make_error("out of memory");
    if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return base::make_error("malformed URL");
    char* raw = nullptr;
    if (curl_url_get(u.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK) return base::make_error("malformed URL");
    CurlString scheme(raw);
    if (std::string_view(scheme.get()) != "https") {
        return base::make_error(std::string("only https:// URLs are allowed (not ") + scheme.get() + "://)");
    }
    if (curl_url_get(u.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK) return base::make_error("URL has no host");
    CurlString host(raw);
    if (curl_url_get(u.get(), CURLUPART_PORT, &raw, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        return base::make_error("URL has no port");
    }
    CurlString port(raw);
    return std::string(host.get()) + ":" + port.get();
}

}  // namespace

struct HttpClient::Impl {
    // Created before the worker starts; destroyed after it has stopped.
    CurlMulti multi;
    base::UniqueFd wake;

    // Shared between the main thread and the worker, under `mu`.
    std::mutex mu;
    std::vector<std::unique_ptr<Transfer>> submitted;
    std::vector<uint64_t> cancelled;
    std::vector<Completion> completed;
    bool stopping = false;

    // Main thread only.
    uint64_t next_id = 1;
    std::unordered_map<uint64_t, Done> callbacks;

    // Worker only.
    std::unordered_map<uint64_t, std::unique_ptr<Transfer>> transfers;  // waiting or running
    std::multimap<SteadyClock::time_point, uint64_t> start_queue;       // waiting, by start time
    std::vector<Completion> finished;                                   // not yet handed over

    std::thread worker;

    void run();
    void start_due(SteadyClock::time_point now);
    void start(Transfer& t);
    void fail(Transfer& t, std::string error);
    void collect_done();
    void hand_over();
    void drop(uint64_t id);
    int poll_timeout_ms(SteadyClock::time_point now) const;
};

void HttpClient::Impl::run() {
    for (;;) {
        std::vector<std::unique_ptr<Transfer>> incoming;
        std::vector<uint64_t> cancels;
        {
            std::lock_guard lock(mu);
            if (stopping) break;
            incoming.swap(submitted);
            cancels.swap(cancelled);
        }
        for (uint64_t id : cancels) drop(id);
        for (auto& t : incoming) {
            const uint64_t id = t->id;
            start_queue.emplace(t->start_at, id);
            transfers.emplace(id, std::move(t));
        }
        start_due(SteadyClock::now());
        int running = 0;
        curl_multi_perform(multi.get(), &running);
        collect_done();
        hand_over();
        // The poll timeout honours delayed starts; libcurl shortens it
        // further for its own timers (connect and transfer timeouts).
        curl_multi_poll(multi.get(), nullptr, 0, poll_timeout_ms(SteadyClock::now()), nullptr);
    }
    for (auto& [id, t] : transfers) {
        if (t->easy) curl_multi_remove_handle(multi.get(), t->easy.get());
    }
    transfers.clear();
}

int HttpClient::Impl::poll_timeout_ms(SteadyClock::time_point now) const {
    if (start_queue.empty()) return kIdlePollMs;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(start_queue.begin()->first - now).count();
    return static_cast<int>(std::clamp<int64_t>(wait, 0, kIdlePollMs));
}

void HttpClient::Impl::start_due(SteadyClock::time_point now) {
    while (!start_queue.empty() && start_queue.begin()->first <= now) {
        const uint64_t id = start_queue.begin()->second;
        start_queue.erase(start_queue.begin());
        auto it = transfers.find(id);
        if (it == transfers.end()) continue;  // cancelled while waiting
        start(*it->second);
    }
}

void HttpClient::Impl::start(Transfer& t) {
    const HttpRequest& r = t.request;
    const config::HttpEndpoint& e = r.endpoint;
    auto peer = https_peer(r.url);
    if (!peer) return fail(t, peer.error().message);
    t.peer = std::move(*peer);
    if (r.method != "GET" && r.method != "POST") return fail(t, "unsupported HTTP method " + r.method);

    curl_slist* list = nullptr;
    for (const std::string& h : r.headers) {
        // A CR or LF would let a value smuggle extra headers into the request.
        if (h.find_first_of("\r\n") != std::string::npos) return fail(t, "invalid request header");
        curl_slist* next = curl_slist_append(list, h.c_str());
        if (!next) {
            curl_slist_free_all(list);
            return fail(t, "out of memory");
        }
        list = next;
    }
    // No "Expect: 100-continue" round trip before a POST body.
    if (curl_slist* next = curl_slist_append(list, "Expect:")) list = next;
    t.headers.reset(list);

    t.easy.reset(curl_easy_init());
    if (!t.easy) return fail(t, "cannot create a libcurl handle");
    CURL* c = t.easy.get();
    OptionSetter o(c);
    o.set(CURLOPT_ERRORBUFFER, t.error, "error buffer");
    o.set(CURLOPT_PRIVATE, static_cast<void*>(&t), "private");
    o.set(CURLOPT_URL, r.url.c_str(), "URL");
    o.set(CURLOPT_PROTOCOLS_STR, "https", "protocols");
    o.set(CURLOPT_REDIR_PROTOCOLS_STR, "https", "redirect protocols");
    o.set(CURLOPT_FOLLOWLOCATION, 0L, "no redirects");
    o.set(CURLOPT_NOSIGNAL, 1L, "no signals");
    o.set(CURLOPT_SSL_VERIFYPEER, 1L, "peer verification");
    o.set(CURLOPT_SSL_VERIFYHOST, 2L, "host verification");
    o.set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2), "TLS version");
    if (!e.ca_file.empty()) o.set(CURLOPT_CAINFO, e.ca_file.c_str(), "ca_file");
    if (!e.pinned_key.empty()) o.set(CURLOPT_PINNEDPUBLICKEY, e.pinned_key.c_str(), "pinned_key");
    if (!e.proxy.empty()) o.set(CURLOPT_PROXY, e.proxy.c_str(), "proxy");
    o.set(CURLOPT_CONNECTTIMEOUT_MS,
          static_cast<long>(e.connect_timeout_ms > 0 ? e.connect_timeout_ms : kDefaultConnectTimeoutMs),
          "connect timeout");
    o.set(CURLOPT_TIMEOUT_MS,
          static_cast<long>(e.request_timeout_ms > 0 ? e.request_timeout_ms : kDefaultRequestTimeoutMs),
          "request timeout");
    o.set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxResponseBody), "maximum body size");
    o.set(CURLOPT_WRITEFUNCTION, on_body, "body callback");
    o.set(CURLOPT_WRITEDATA, static_cast<void*>(&t), "body callback data");
    o.set(CURLOPT_HEADERFUNCTION, on_header, "header callback");
    o.set(CURLOPT_HEADERDATA, static_cast<void*>(&t), "header callback data");
    o.set(CURLOPT_USERAGENT, "elevated/" ELEVATE_VERSION, "user agent");
    o.set(CURLOPT_HTTPHEADER, t.headers.get(), "headers");
    if (r.method == "POST") {
        o.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()), "body size");
        o.set(CURLOPT_POSTFIELDS, r.body.data(), "body");  // t.request outlives the transfer
    } else {
        o.set(CURLOPT_HTTPGET, 1L, "GET");
    }
    if (!o.error().empty()) return fail(t, o.error());
    const CURLMcode mrc = curl_multi_add_handle(multi.get(), c);
    if (mrc != CURLM_OK) {
        t.easy.reset();
        return fail(t, std::string("cannot start transfer: ") + curl_multi_strerror(mrc));
    }
}

// Completes a transfer that never reached libcurl.
void HttpClient::Impl::fail(Transfer& t, std::string error) {
    Completion done{t.id, {}};
    done.response.error = std::move(error);
    finished.push_back(std::move(done));
    const uint64_t id = t.id;  // a copy: erase() destroys t
    transfers.erase(id);
}

void HttpClient::Impl::collect_done() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL* easy = msg->easy_handle;
        const CURLcode rc = msg->data.result;
        char* priv = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        auto* t = reinterpret_cast<Transfer*>(priv);
        Completion done{t->id, std::move(t->response)};
        if (rc == CURLE_OK) {
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &done.response.status);
        } else {
            done.response = HttpResponse{};
            done.response.error = describe_failure(rc, *t);
        }
        curl_multi_remove_handle(multi.get(), easy);
        const uint64_t id = done.id;
        finished.push_back(std::move(done));
        transfers.erase(id);
    }
}

void HttpClient::Impl::hand_over() {
    if (finished.empty()) return;
    {
        std::lock_guard lock(mu);
        for (auto& c : finished) completed.push_back(std::move(c));
    }
    finished.clear();
    const uint64_t one = 1;
    // Cannot fail short of a broken fd: the counter cannot overflow here.
    [[maybe_unused]] ssize_t n = ::write(wake.get(), &one, sizeof one);
}

void HttpClient::Impl::drop(uint64_t id) {
    auto it = transfers.find(id);
    if (it == transfers.end()) return;  // already finished (or never started)
    if (it->second->easy) curl_multi_remove_handle(multi.get(), it->second->easy.get());
    transfers.erase(it);  // a stale start_queue entry is skipped by start_due
}

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {}

base::Result<std::unique_ptr<HttpClient>> HttpClient::create() {
    static std::once_flag once;
    static CURLcode global = CURLE_OK;
    std::call_once(once, [] { global = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (global != CURLE_OK) return base::make_error(std::string("libcurl init: ") + curl_easy_strerror(global));

    std::unique_ptr<HttpClient> client(new HttpClient());
    Impl& impl = *client->impl_;
    impl.wake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!impl.wake.ok()) return base::errno_error("eventfd");
    impl.multi.reset(curl_multi_init());
    if (!impl.multi) return base::make_error("cannot create a libcurl multi handle");
    try {
        impl.worker = std::thread([&impl] { impl.run(); });
    } catch (const std::system_error& e) {
        return base::make_error(std::string("cannot start the HTTP worker thread: ") + e.what(), e.code().value());
    }
    return client;
}

HttpClient::~HttpClient() {
    if (!impl_ || !impl_->worker.joinable()) return;
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    curl_multi_wakeup(impl_->multi.get());
    impl_->worker.join();
}

uint64_t HttpClient::submit(HttpRequest request, Done done) {
    auto t = std::make_unique<Transfer>();
    t->id = impl_->next_id++;
    t->start_at = SteadyClock::now() + std::chrono::milliseconds(std::max<int64_t>(request.delay_ms, 0));
    t->request = std::move(request);
    const uint64_t id = t->id;
    impl_->callbacks.emplace(id, std::move(done));
    {
        std::lock_guard lock(impl_->mu);
        impl_->submitted.push_back(std::move(t));
    }
    curl_multi_wakeup(impl_->multi.get());
    return id;
}

void HttpClient::cancel(uint64_t id) {
    // Without its callback, a completion already queued is ignored.
    if (impl_->callbacks.erase(id) == 0) return;
    {
        std::lock_guard lock(impl_->mu);
        impl_->cancelled.push_back(id);
    }
    curl_multi_wakeup(impl_->multi.get());
}

int HttpClient::wake_fd() const {
    return impl_->wake.get();
}

void HttpClient::run_completions() {
    uint64_t count = 0;
    // Drain first, then take the queue: a completion added in between leaves
    // the eventfd readable, so nothing is missed (at worst one empty wake-up).
    while (::read(impl_->wake.get(), &count, sizeof count) < 0 && errno == EINTR) {
    }
    std::vector<Completion> batch;
    {
        std::lock_guard lock(impl_->mu);
        batch.swap(impl_->completed);
    }
    size_t i = 0;
    try {
        for (; i < batch.size(); ++i) {
            auto it = impl_->callbacks.find(batch[i].id);
            if (it == impl_->callbacks.end()) continue;  // cancelled
            Done done = std::move(it->second);
            impl_->callbacks.erase(it);
            done(std::move(batch[i].response));
        }
    } catch (...) {
        // A throwing callback must not swallow the others: requeue the rest.
        {
            std::lock_guard lock(impl_->mu);
            impl_->completed.insert(impl_->completed.begin(), std::make_move_iterator(batch.begin() + i + 1),
                                    std::make_move_iterator(batch.end()));
        }
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(impl_->wake.get(), &one, sizeof one);
        throw;
    }
}

size_t HttpClient::in_flight() const {
    return impl_->callbacks.size();
}

}  // namespace elevate::push
