#include "daemon/notify/notifier.h"

#include "common/base/secure_buffer.h"
#include "daemon/core/log.h"
#include "daemon/push/signature.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>

namespace elevate::notify {

namespace {

using nlohmann::json;

// Events kept (waiting, in flight or waiting for a retry); beyond, dropped.
constexpr size_t kMaxQueued = 10000;
// Events sent at the same time; the rest wait their turn in order.
constexpr size_t kMaxInFlight = 4;
constexpr int64_t kFirstBackoffMs = 1000;

struct Event {
    std::string id;
    std::string type;
    std::string body;
    int attempts = 0;
    uint64_t transfer = 0;
};

// RFC 4122 version 4 (random) UUID, lower-case.
std::optional<std::string> new_uuid() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return std::nullopt;
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(digits[b[i] >> 4]);
        out.push_back(digits[b[i] & 0xf]);
    }
    return out;
}

std::string local_hostname() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "localhost";
    return name;
}

struct CurlUrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// The request target that is signed: path, plus "?query" when there is one.
std::optional<std::string> request_target(const std::string& url) {
    std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
    if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
    char* raw = nullptr;
    if (curl_url_get(u.get(), CURLUPART_PATH, &raw, 0) != CURLUE_OK) return std::nullopt;
    std::string target = raw;
    curl_free(raw);
    if (curl_url_get(u.get(), CURLUPART_QUERY, &raw, 0) == CURLUE_OK) {
        target.append("?").append(raw);
        curl_free(raw);
    }
    return target;
}

}  // namespace

struct Notifier::Impl {
    push::HttpClient& http;
    const base::Clock& clock;
    const std::string host = local_hostname();

    bool enabled = false;
    config::HttpEndpoint endpoint;
    std::string target;  // signed request target of endpoint.url
    base::SecureBuffer secret;
    int max_attempts = 1;
    int64_t max_backoff_ms = kFirstBackoffMs;

    std::deque<Event> waiting;                   // not sent yet, oldest first
    std::unordered_map<uint64_t, Event> active;  // in flight or waiting for a retry
    uint64_t next_key = 1;
    uint64_t delivered = 0;
    uint64_t dropped = 0;
    uint64_t dropped_full = 0;  // of which: the queue was full

    Impl(push::HttpClient& h, const base::Clock& c) : http(h), clock(c) {}

    void drop_all(const char* why);
    void pump();
    void attempt(uint64_t key, int64_t delay_ms);
    void on_reply(uint64_t key, const push::HttpResponse& r);
};

void Notifier::Impl::drop_all(const char* why) {
    const size_t n = waiting.size() + active.size();
    for (auto& [key, ev] : active) http.cancel(ev.transfer);
    active.clear();
    waiting.clear();
    if (n == 0) return;
    dropped += n;
    daemon::log_warning("notify: dropped " + std::to_string(n) + " queued events (" + why + ")");
}

void Notifier::Impl::pump() {
    while (enabled && active.size() < kMaxInFlight && !waiting.empty()) {
        const uint64_t key = next_key++;
        active.emplace(key, std::move(waiting.front()));
        waiting.pop_front();
        attempt(key, 0);
    }
}

void Notifier::Impl::attempt(uint64_t key, int64_t delay_ms) {
    Event& ev = active.at(key);
    push::HttpRequest req;
    req.method = "POST";
    req.url = endpoint.url;
    req.endpoint = endpoint;
    req.delay_ms = delay_ms;
    req.body = ev.body;
    req.headers.push_back("Content-Type: application/json");
    // Stamped with the time the request will actually leave (after its
    // backoff), so a receiver's 60 s window holds for late retries too.
    const int64_t sent_at = clock.now() + (delay_ms + 500) / 1000;
    auto signed_request = push::sign_request(secret.view(), req.method, target, sent_at, req.body);
    if (!signed_request) {
        // Never sent unsigned: an empty URL fails at once inside HttpClient
        // and the failure takes the normal retry path.
        req = push::HttpRequest{};
    } else {
        for (auto& h : signed_request->headers) req.headers.push_back(std::move(h));
    }
    ev.transfer = http.submit(std::move(req), [this, key](push::HttpResponse r) { on_reply(key, r); });
}

void Notifier::Impl::on_reply(uint64_t key, const push::HttpResponse& r) {
    auto it = active.find(key);
    if (it == active.end()) return;
    Event& ev = it->second;
    ++ev.attempts;
    if (r.ok() && r.status >= 200 && r.status < 300) {
        ++delivered;
        active.erase(it);
        return pump();
    }
    const std::string why = r.ok() ? "HTTP " + std::to_string(r.status) : r.error;
    if (ev.attempts >= max_attempts) {
        ++dropped;
        daemon::log_warning("notify: dropped event " + ev.type + " " + ev.id + " after " + std::to_string(ev.attempts) +
                            " attempts: " + why);
        active.erase(it);
        return pump();
    }
    const int shift = std::min(ev.attempts - 1, 30);
    const int64_t backoff = std::min(kFirstBackoffMs << shift, max_backoff_ms);
    daemon::log_debug("notify: event " + ev.type + " " + ev.id + " attempt " + std::to_string(ev.attempts) +
                      " failed (" + why + "); retrying in " + std::to_string(backoff) + " ms");
    attempt(key, backoff);
}

Notifier::Notifier(push::HttpClient& http, const base::Clock& clock) : impl_(std::make_unique<Impl>(http, clock)) {}

Notifier::~Notifier() {
    for (auto& [key, ev] : impl_->active) impl_->http.cancel(ev.transfer);
}

void Notifier::configure(const config::NotifyConfig& config) {
    Impl& d = *impl_;
    if (config.endpoint.url.empty()) {
        d.enabled = false;
        d.drop_all("notifications disabled");
        return;
    }
    auto target = request_target(config.endpoint.url);
    if (!target) {
        daemon::log_error("notify: url is not a valid URL; notifications disabled");
    } else if (config.secret.empty()) {
        daemon::log_error("notify: no secret; notifications disabled");
    }
    if (!target || config.secret.empty()) {
        d.enabled = false;
        d.drop_all("notifications disabled");
        return;
    }
    // Events already in flight finish against the previous endpoint.
    d.enabled = true;
    d.endpoint = config.endpoint;
    d.target = std::move(*target);
    d.secret = base::SecureBuffer(config.secret);
    d.max_attempts = std::max(config.max_attempts, 1);
    d.max_backoff_ms = std::max<int64_t>(config.max_backoff_ms, 1);
    d.pump();
}

void Notifier::send(const std::string& type, const nlohmann::json& fields) {
    Impl& d = *impl_;
    if (!d.enabled) return;
    if (d.waiting.size() + d.active.size() >= kMaxQueued) {
        // One line per thousand, not one per event, while the queue stays full.
        if (d.dropped_full % 1000 == 0) {
            daemon::log_warning("notify: queue full (" + std::to_string(kMaxQueued) + " events); dropping event " +
                                type + " (" + std::to_string(d.dropped_full + 1) + " dropped so far)");
        }
        ++d.dropped_full;
        ++d.dropped;
        return;
    }
    auto id = new_uuid();
    if (!id) {
        ++d.dropped;
        daemon::log_error("notify: OpenSSL random generator failed; dropping event " + type);
        return;
    }
    json event = fields.is_object() ? fields : json::object();
    if (!fields.is_object() && !fields.is_null()) event["data"] = fields;
    // type, id and time win over fields of the same name; a caller may name
    // the host itself (the configured push hostname, say).
    event["type"] = type;
    event["id"] = *id;
    event["time"] = d.clock.now();
    if (!event.contains("host") || !event["host"].is_string()) event["host"] = d.host;
    Event ev;
    ev.id = std::move(*id);
    ev.type = type;
    // Fields carry user input (reasons): invalid UTF-8 is replaced, not thrown.
    ev.body = event.dump(-1, ' ', false, json::error_handler_t::replace);
    d.waiting.push_back(std::move(ev));
    d.pump();
}

size_t Notifier::queued() const {
    return impl_->waiting.size() + impl_->active.size();
}

uint64_t Notifier::delivered() const {
    return impl_->delivered;
}

uint64_t Notifier::dropped() const {
    return impl_->dropped;
}

}  // namespace elevate::notify
