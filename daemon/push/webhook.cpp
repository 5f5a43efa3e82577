#include "daemon/push/webhook.h"

#include "daemon/core/log.h"
#include "daemon/push/rate_limit.h"
#include "daemon/push/signature.h"
#include "daemon/push/text.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

namespace elevate::push {

namespace {

using nlohmann::json;

// Polls that fail in a row (transport, TLS, 5xx) before the provider is
// declared unreachable; a single blip only delays the next poll.
constexpr int kMaxPollFailures = 3;
// A poll sent just before expiry may take this long beyond it.
constexpr int64_t kPollGraceMs = 2000;
// Replies are a few hundred bytes; a bigger one is not parsed at all.
constexpr size_t kMaxReplyBody = 64 * 1024;

struct CurlUrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStringDeleter {
    void operator()(char* s) const { curl_free(s); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// An id goes into a URL path unescaped; PushService ids are UUIDs.
bool valid_challenge_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    return std::all_of(id.begin(), id.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
               ch == '_' || ch == '.';
    });
}

std::string dump(const json& j) {
    // Fields such as the reason are user input: invalid UTF-8 must not throw.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The body as a JSON object, or an error saying why not.
base::Result<json> parse_object(const std::string& body) {
    if (body.size() > kMaxReplyBody) return base::make_error("reply too large");
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return base::make_error("reply is not valid JSON");
    if (!j.is_object()) return base::make_error("reply is not a JSON object");
    return j;
}

std::string string_field(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The "error" text of a signed 4xx reply, when there is one.
std::string server_error_text(const HttpResponse& r) {
    auto j = parse_object(r.body);
    std::string text = j ? string_field(*j, "error") : std::string();
    return text.empty() ? "HTTP " + std::to_string(r.status) : provider_text(text);
}

std::string unreachable(const HttpResponse& r) {
    return "push provider unreachable: " + (r.ok() ? "HTTP " + std::to_string(r.status) : r.error);
}

}  // namespace

struct WebhookProvider::Challenge {
    PushChallenge c;
    Sent sent;
    Done done;
    std::string nonce;        // per-challenge value sent in the start body
    uint64_t transfer = 0;    // the one HTTP request in flight for it
    std::string local_error;  // a failure found before sending (see submit())
    int failures = 0;         // polls failed in a row
    RateLimitBackoff backoff;
};

WebhookProvider::WebhookProvider(const config::WebhookConfig& config, HttpClient& http, const base::Clock& clock)
    : endpoint_(config.endpoint),
      secret_(config.secret),
      poll_interval_ms_(config.poll_interval_ms),
      http_(http),
      clock_(clock) {}

base::Result<std::unique_ptr<WebhookProvider>> WebhookProvider::create(const config::WebhookConfig& config,
                                                                       HttpClient& http, const base::Clock& clock) {
    if (config.secret.size() < 32) return base::make_error("push.webhook.secret must be at least 32 bytes");
    if (config.poll_interval_ms <= 0) return base::make_error("push.webhook.poll_interval must be positive");

    std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
    if (!u) return base::make_error("out of memory");
    const std::string& url = config.endpoint.url;
    if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return base::make_error("push.webhook.url is not a valid URL");
    }
    char* raw = nullptr;
    if (curl_url_get(u.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK) {
        return base::make_error("push.webhook.url is not a valid URL");
    }
    if (std::string_view(CurlString(raw).get()) != "https") {
        return base::make_error("push.webhook.url must be an https:// URL");
    }
    // The base path is extended with /challenges; a query or fragment would
    // end up in the middle of it.
    if (curl_url_get(u.get(), CURLUPART_QUERY, &raw, 0) == CURLUE_OK) {
        curl_free(raw);
        return base::make_error("push.webhook.url must not have a query string");
    }
    if (curl_url_get(u.get(), CURLUPART_FRAGMENT, &raw, 0) == CURLUE_OK) {
        curl_free(raw);
        return base::make_error("push.webhook.url must not have a fragment");
    }
    if (curl_url_get(u.get(), CURLUPART_URL, &raw, 0) != CURLUE_OK) {
        return base::make_error("push.webhook.url is not a valid URL");
    }
    std::string normalized = CurlString(raw).get();
    if (curl_url_get(u.get(), CURLUPART_PATH, &raw, 0) != CURLUE_OK) {
        return base::make_error("push.webhook.url is not a valid URL");
    }
    std::string path = CurlString(raw).get();
    while (!normalized.empty() && normalized.back() == '/') normalized.pop_back();
    while (!path.empty() && path.back() == '/') path.pop_back();

    std::unique_ptr<WebhookProvider> p(new WebhookProvider(config, http, clock));
    p->base_url_ = std::move(normalized);
    p->base_path_ = std::move(path);
    return p;
}

WebhookProvider::~WebhookProvider() {
    for (auto& [id, ch] : challenges_) http_.cancel(ch->transfer);
}

void WebhookProvider::start(const PushChallenge& c, Sent sent, Done done) {
    if (auto old = challenges_.find(c.id); old != challenges_.end()) {
        // Ids are fresh UUIDs; a repeat is a caller bug. The old one is dropped.
        daemon::log_error("webhook: challenge " + provider_text(c.id) + " started twice; dropping the first");
        cancel(c.id);
    }
    auto ch = std::make_unique<Challenge>();
    ch->c = c;
    ch->sent = std::move(sent);
    ch->done = std::move(done);
    if (!valid_challenge_id(c.id)) {
        ch->local_error = "invalid challenge id";
    } else if (auto nonce = random_hex(16); nonce) {
        ch->nonce = std::move(*nonce);
    } else {
        ch->local_error = nonce.error().message;
    }
    Challenge& ref = *ch;
    challenges_[c.id] = std::move(ch);
    submit(ref, Step::Start, 0);
}

void WebhookProvider::cancel(const std::string& challenge_id) {
    auto it = challenges_.find(challenge_id);
    if (it == challenges_.end()) return;
    http_.cancel(it->second->transfer);
    challenges_.erase(it);
}

void WebhookProvider::submit(Challenge& ch, Step step, int64_t delay_ms) {
    HttpRequest req;
    req.endpoint = endpoint_;
    req.delay_ms = delay_ms;
    std::string suffix;
    if (step == Step::Start) {
        req.method = "POST";
        suffix = "/challenges";
        const PushChallenge& c = ch.c;
        req.body = dump(json{{"challenge_id", c.id},
                             {"user", c.user},
                             {"host", c.host},
                             {"service", c.service},
                             {"remote_host", c.remote_host},
                             {"tty", c.tty},
                             {"role", c.role},
                             {"reason", c.reason},
                             {"created", c.created},
                             {"expires", c.expires},
                             {"nonce", ch.nonce}});
        req.headers.push_back("Content-Type: application/json");
    } else {
        req.method = "GET";
        suffix = "/challenges/" + ch.c.id;
        // A poll sent near expiry must not hold the answer back for a whole
        // request timeout: done() runs shortly after expires.
        const int64_t left_ms = std::max<int64_t>(ch.c.expires - clock_.now(), 0) * 1000 - delay_ms;
        const int64_t budget = std::max<int64_t>(left_ms, 0) + kPollGraceMs;
        req.endpoint.request_timeout_ms = std::min(req.endpoint.request_timeout_ms, budget);
        req.endpoint.connect_timeout_ms = std::min(req.endpoint.connect_timeout_ms, budget);
    }
    req.headers.push_back("Accept: application/json");
    req.url = base_url_ + suffix;

    std::string request_nonce;
    if (ch.local_error.empty()) {
        // Stamped with the time the request will actually leave (after its delay).
        const int64_t sent_at = clock_.now() + (delay_ms + 500) / 1000;
        auto signed_request = sign_request(secret_.view(), req.method, base_path_ + suffix, sent_at, req.body);
        if (signed_request) {
            request_nonce = std::move(signed_request->nonce);
            for (auto& h : signed_request->headers) req.headers.push_back(std::move(h));
        } else {
            ch.local_error = signed_request.error().message;
        }
    }
    if (!ch.local_error.empty()) {
        // Nothing is sent: an empty URL fails at once inside HttpClient, so the
        // error still reaches the callbacks from run_completions().
        req = HttpRequest{};
    }
    const std::string id = ch.c.id;
    ch.transfer = http_.submit(std::move(req), [this, id, step, request_nonce](HttpResponse r) {
        on_reply(id, step, request_nonce, std::move(r));
    });
}

void WebhookProvider::on_reply(const std::string& id, Step step, const std::string& request_nonce, HttpResponse r) {
    auto it = challenges_.find(id);
    if (it == challenges_.end()) return;
    Challenge& ch = *it->second;
    ch.transfer = 0;
    if (!ch.local_error.empty()) {
        r = HttpResponse{};
        r.error = ch.local_error;
    }
    // Unsigned, like any gateway's 429: it can only delay the challenge, and
    // never beyond its deadline.
    if (r.ok() && r.status == 429) return on_rate_limited(ch, step, r);
    ch.backoff.reset();
    if (step == Step::Start) {
        on_start_reply(ch, request_nonce, r);
    } else {
        on_poll_reply(ch, request_nonce, r);
    }
}

void WebhookProvider::on_rate_limited(Challenge& ch, Step step, const HttpResponse& r) {
    const auto delay = ch.backoff.next_delay_ms(r, clock_.now(), rate_limit_deadline(ch.c, step == Step::Start));
    if (delay) return submit(ch, step, *delay);
    std::string why = rate_limited_text("the push provider", ch.backoff.wait_seconds());
    if (step == Step::Start) return report_start(ch, PushSent{false, {}, std::move(why), false});
    finish(ch, PushAnswer{PushOutcome::Failed, std::move(why), false});
}

void WebhookProvider::on_start_reply(Challenge& ch, const std::string& request_nonce, const HttpResponse& r) {
    const std::string id = ch.c.id;
    PushSent result;
    if (!ch.local_error.empty()) {
        result.error = "push: " + ch.local_error;
    } else if (!r.ok() || r.status >= 500) {
        result.error = unreachable(r);
        result.unavailable = true;
    } else if (auto v = verify_response(secret_.view(), r.status, r.header("x-elevate-timestamp"),
                                        r.header("x-elevate-signature"), r.body, request_nonce, clock_.now());
               !v) {
        result.error =
            "push provider reply rejected: " + v.error().message + " (HTTP " + std::to_string(r.status) + ")";
    } else if (r.status == 404) {
        result.error = "no push device for " + provider_text(ch.c.user) + ": " + server_error_text(r);
    } else if (r.status >= 400) {
        result.error = "push provider refused the challenge: " + server_error_text(r);
    } else if (r.status != 200 && r.status != 201) {
        result.error = "push provider reply rejected: unexpected HTTP status " + std::to_string(r.status);
    } else if (auto j = parse_object(r.body); !j) {
        result.error = "push provider reply rejected: " + j.error().message;
    } else if (string_field(*j, "challenge_id") != id) {
        result.error = "push provider reply rejected: challenge_id does not match";
    } else if (string_field(*j, "status") != "pending") {
        result.error = "push provider reply rejected: status is not \"pending\"";
    } else {
        result.ok = true;
        result.device = provider_text(string_field(*j, "device"));
    }
    report_start(ch, std::move(result));
}

void WebhookProvider::report_start(Challenge& ch, PushSent result) {
    const std::string id = ch.c.id;
    Sent sent = std::move(ch.sent);
    const Challenge* self = &ch;
    const bool ok = result.ok;
    if (!ok) challenges_.erase(id);  // done() never runs after a failed send (PushService logs why)
    if (sent) sent(std::move(result));
    // sent() may have cancelled the challenge (or started others): look again.
    if (!ok) return;
    auto it = challenges_.find(id);
    if (it != challenges_.end() && it->second.get() == self) schedule_poll(*it->second);
}

void WebhookProvider::on_poll_reply(Challenge& ch, const std::string& request_nonce, const HttpResponse& r) {
    PushAnswer answer;
    if (!ch.local_error.empty()) {
        answer.detail = "push: " + ch.local_error;
        return finish(ch, std::move(answer));
    }
    if (!r.ok() || r.status >= 500) {
        if (++ch.failures < kMaxPollFailures) return schedule_poll(ch);
        answer.detail = unreachable(r);
        answer.unavailable = true;
        return finish(ch, std::move(answer));
    }
    auto v = verify_response(secret_.view(), r.status, r.header("x-elevate-timestamp"), r.header("x-elevate-signature"),
                             r.body, request_nonce, clock_.now());
    if (!v) {
        answer.detail =
            "push provider reply rejected: " + v.error().message + " (HTTP " + std::to_string(r.status) + ")";
        return finish(ch, std::move(answer));
    }
    if (r.status != 200) {
        answer.detail = r.status >= 400
                            ? "push provider refused the challenge: " + server_error_text(r)
                            : "push provider reply rejected: unexpected HTTP status " + std::to_string(r.status);
        return finish(ch, std::move(answer));
    }
    auto j = parse_object(r.body);
    if (!j) {
        answer.detail = "push provider reply rejected: " + j.error().message;
        return finish(ch, std::move(answer));
    }
    if (string_field(*j, "challenge_id") != ch.c.id) {
        answer.detail = "push provider reply rejected: challenge_id does not match";
        return finish(ch, std::move(answer));
    }
    const std::string status = string_field(*j, "status");
    if (status == "pending") {
        ch.failures = 0;
        return schedule_poll(ch);
    }
    if (status == "approved") {
        answer.outcome = PushOutcome::Approved;
        answer.detail = "approved on the push device";
    } else if (status == "denied") {
        answer.outcome = PushOutcome::Denied;
        answer.detail = "denied on the push device";
    } else if (status == "fraud") {
        answer.outcome = PushOutcome::Fraud;
        answer.detail = "reported as fraud on the push device";
    } else if (status == "expired") {
        answer.outcome = PushOutcome::Timeout;
        answer.detail = "no answer before the challenge expired";
    } else {
        answer.detail = "push provider reply rejected: unknown status \"" + provider_text(status) + "\"";
    }
    finish(ch, std::move(answer));
}

void WebhookProvider::schedule_poll(Challenge& ch) {
    const int64_t now = clock_.now();
    if (now >= ch.c.expires) {
        return finish(ch, PushAnswer{PushOutcome::Timeout, "no answer before the challenge expired", false});
    }
    // Never sleep past the expiry: the last poll goes out at expires.
    const int64_t delay = std::min(poll_interval_ms_, (ch.c.expires - now) * 1000);
    submit(ch, Step::Poll, delay);
}

void WebhookProvider::finish(Challenge& ch, PushAnswer answer) {
    const std::string id = ch.c.id;
    Done done = std::move(ch.done);
    http_.cancel(ch.transfer);
    challenges_.erase(id);  // before done(): it may start or cancel others
    if (done) done(std::move(answer));
}

}  // namespace elevate::push
