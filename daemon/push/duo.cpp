// Duo Auth API v2 push provider; see duo.h for the flow and set-up.
//
// Signature variant: HMAC-SHA512 over Duo's "v2" canonical string
// (date, method, host, path, params). Duo's own clients do exactly this:
// duo_unix lib/https.c (https_send: EVP_sha512 over "date\nmethod\nhost\n
// path\nparams", sent with X-Duo-Date) and duo_client_python
// tests/test_client.py (test_hmac_sha512 with sig_version=2, whose vector
// tests/unit/duo/duo_test.cpp reproduces). The older HMAC-SHA1 form of the
// same string is still accepted by Duo but is not used here.
#include "daemon/push/duo.h"

#include "common/base/secure_buffer.h"
#include "common/base/text.h"
#include "daemon/push/rate_limit.h"
#include "daemon/push/text.h"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unordered_map>

namespace elevate::push {

namespace duo_sign {

std::string encode(std::string_view s) {
    return base::percent_encode(s);
}

std::string canon_params(Params params) {
    for (auto& [key, value] : params) {
        key = encode(key);
        value = encode(value);
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto& [key, value] : params) {
        if (!out.empty()) out.push_back('&');
        out += key;
        out.push_back('=');
        out += value;
    }
    return out;
}

std::string rfc2822_date(int64_t epoch_seconds) {
    // Fixed English names: strftime's %a/%b follow the locale, and Duo
    // compares the exact bytes it was sent.
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const time_t t = static_cast<time_t>(epoch_seconds);
    struct tm tm {};
    if (!::gmtime_r(&t, &tm)) return {};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7], tm.tm_mday,
                  kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string host_name(std::string_view api_host) {
    if (api_host.starts_with('[')) {
        // An IPv6 literal: "[::1]:8443" is signed as "::1".
        const size_t close = api_host.find(']');
        if (close != std::string_view::npos) return ascii_lower(api_host.substr(1, close - 1));
    }
    const size_t colon = api_host.find(':');
    if (colon != std::string_view::npos && api_host.find(':', colon + 1) == std::string_view::npos) {
        api_host = api_host.substr(0, colon);
    }
    return ascii_lower(api_host);
}

std::string canonical_request(std::string_view date, std::string_view method, std::string_view host,
                              std::string_view path, std::string_view canon_params) {
    std::string out;
    out.reserve(date.size() + method.size() + host.size() + path.size() + canon_params.size() + 4);
    out.append(date).append("\n");
    out.append(ascii_upper(method)).append("\n");
    out.append(ascii_lower(host)).append("\n");
    out.append(path).append("\n");
    out.append(canon_params);
    return out;
}

std::string hmac_sha512_hex(std::string_view secret_key, std::string_view canonical) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha512(), secret_key.data(), static_cast<int>(secret_key.size()),
              reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), mac, &mac_len)) {
        return {};
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(mac_len * 2);
    for (unsigned int i = 0; i < mac_len; ++i) {
        out.push_back(kHex[mac[i] >> 4]);
        out.push_back(kHex[mac[i] & 0x0f]);
    }
    return out;
}

std::string authorization(std::string_view integration_key, std::string_view signature_hex) {
    std::string user_pass;
    user_pass.append(integration_key).append(":").append(signature_hex);
    std::string b64(4 * ((user_pass.size() + 2) / 3) + 1, '\0');
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                        reinterpret_cast<const unsigned char*>(user_pass.data()), static_cast<int>(user_pass.size()));
    b64.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return "Basic " + b64;
}

}  // namespace duo_sign

namespace {

using nlohmann::json;

constexpr std::string_view kPreauthPath = "/auth/v2/preauth";
constexpr std::string_view kAuthPath = "/auth/v2/auth";
constexpr std::string_view kStatusPath = "/auth/v2/auth_status";

// Consecutive failed polls (transport, 5xx) before giving up early.
constexpr int kMaxPollFailures = 3;
// A refused request whose reply is dated this far from our clock was most
// likely refused for the date: Duo checks the signed date against its own.
constexpr int64_t kClockSkewHintSeconds = 60;
const json* member(const json& obj, std::string_view key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

std::string string_member(const json& obj, std::string_view key) {
    const json* v = member(obj, key);
    return v && v->is_string() ? v->get_ref<const std::string&>() : std::string();
}

// A classified Duo reply: the "response" object, or why there is none.
struct Reply {
    bool ok = false;
    json response;
    std::string error;
    bool unavailable = false;
};

Reply failure(std::string message, bool unavailable) {
    Reply r;
    r.error = std::move(message);
    r.unavailable = unavailable;
    return r;
}

// "message (message_detail)" of a {"stat":"FAIL"} body, or "".
std::string fail_message(const json& body) {
    std::string msg = provider_text(string_member(body, "message"));
    const std::string detail = provider_text(string_member(body, "message_detail"));
    if (!detail.empty()) msg += (msg.empty() ? "" : " ") + ("(" + detail + ")");
    if (const json* code = member(body, "code"); code && code->is_number_integer()) {
        msg = "code " + std::to_string(code->get<int64_t>()) + (msg.empty() ? "" : ": " + msg);
    }
    return msg;
}

// What a 401 most likely means: a clock that is off (the reply's Date
// against ours, `now`), else the keys.
std::string refusal_hint(const HttpResponse& r, int64_t now) {
    if (auto duo_time = parse_http_date(r.header("date"))) {
        const int64_t skew = *duo_time - now;
        if (skew > kClockSkewHintSeconds || skew < -kClockSkewHintSeconds) {
            return "the clock of this host differs from Duo's by " + std::to_string(skew < 0 ? -skew : skew) +
                   " s; check its time synchronisation";
        }
    }
    return "check integration_key/secret_key";
}

// Transport errors and 5xx mean "Duo could not be asked" (unavailable);
// 401 means our credentials (or our clock) are wrong; any other refusal or
// a body that is not Duo's envelope is a definite failure. (A 429 never
// gets here: DuoProvider::call() retries it.)
Reply read_reply(std::string_view path, const HttpResponse& r, int64_t now) {
    if (!r.ok()) return failure("Duo unreachable: " + provider_text(r.error), true);
    const json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    const std::string msg = body.is_object() ? fail_message(body) : std::string();
    const std::string suffix = msg.empty() ? "" : ": " + msg;
    if (r.status == 401) {
        return failure(
            "Duo rejected the request" + (msg.empty() ? ": HTTP 401" : suffix) + " (" + refusal_hint(r, now) + ")",
            false);
    }
    if (r.status >= 500) {
        return failure("Duo unreachable: HTTP " + std::to_string(r.status) + suffix, true);
    }
    if (r.status != 200) {
        return failure("Duo refused " + std::string(path) + ": HTTP " + std::to_string(r.status) + suffix, false);
    }
    const std::string stat = string_member(body, "stat");
    if (stat == "FAIL") return failure("Duo refused " + std::string(path) + suffix, false);
    const json* response = member(body, "response");
    if (stat != "OK" || !response || !response->is_object()) {
        return failure("Duo sent a malformed response to " + std::string(path), false);
    }
    Reply ok;
    ok.ok = true;
    ok.response = *response;
    return ok;
}

// The name Duo Mobile users know the device by.
std::string device_label(const json& device) {
    for (const char* key : {"display_name", "name", "number"}) {
        std::string label = provider_text(string_member(device, key));
        if (!label.empty()) return label;
    }
    return "Duo device";
}

bool can_push(const json& device) {
    const json* caps = member(device, "capabilities");
    if (!caps || !caps->is_array()) return false;
    return std::any_of(caps->begin(), caps->end(), [](const json& c) { return c.is_string() && c == "push"; });
}

// What Duo Mobile shows under the request: URL-encoded pairs, itself sent
// as one (encoded again) parameter, as the Auth API documents.
std::string pushinfo(const PushChallenge& c) {
    std::string out;
    auto add = [&out](std::string_view key, std::string_view value) {
        if (value.empty()) return;
        if (!out.empty()) out.push_back('&');
        out.append(key).append("=").append(duo_sign::encode(value));
    };
    add("host", c.host);
    add("service", c.service);
    add("role", c.role);
    add("remote_host", c.remote_host);
    return out;
}

class DuoProvider final : public PushProvider {
public:
    DuoProvider(const config::DuoConfig& duo, HttpClient& http, const base::Clock& clock)
        : api_host_(duo.api_host),
          ikey_(duo.integration_key),
          skey_(duo.secret_key),
          endpoint_(duo.endpoint),
          poll_interval_ms_(duo.poll_interval_ms),
          http_(http),
          clock_(clock) {
        // As Duo's own clients sign it: the name alone; a port in api_host
        // is only where to connect.
        sign_host_ = duo_sign::host_name(api_host_);
    }

    // Transfers still queued would call back into a destroyed provider.
    ~DuoProvider() override {
        for (auto& [id, ch] : pending_) {
            if (ch.transfer) http_.cancel(ch.transfer);
        }
    }

    const char* name() const override { return "duo"; }

    void start(const PushChallenge& c, Sent sent, Done done) override {
        if (pending_.count(c.id)) {
            PushSent s;
            s.error = "challenge " + c.id + " is already being sent";
            sent(std::move(s));
            return;
        }
        Challenge& ch = pending_[c.id];
        ch.c = c;
        ch.sent = std::move(sent);
        ch.done = std::move(done);
        ch.seq = ++next_seq_;
        // No ipaddr parameter: remote_host comes from the requesting client,
        // and Duo's "authorized networks" policy would let a claimed address
        // skip the push. It is shown to the user in pushinfo instead.
        call(ch, "POST", kPreauthPath, {{"username", c.user}}, 0, &DuoProvider::on_preauth);
    }

    void cancel(const std::string& challenge_id) override {
        auto it = pending_.find(challenge_id);
        if (it == pending_.end()) return;
        if (it->second.transfer) http_.cancel(it->second.transfer);
        pending_.erase(it);
    }

private:
    struct Challenge {
        PushChallenge c;
        Sent sent;
        Done done;
        uint64_t seq = 0;       // tells this start() from an earlier one with the same id
        uint64_t transfer = 0;  // the HttpClient transfer in flight
        std::string device_label;
        std::string txid;
        bool delivered = false;  // `sent` has run: the push is out (or Duo's bypass said allow)
        RateLimitBackoff backoff;
        int poll_failures = 0;
        std::chrono::steady_clock::time_point poll_sent{};
        int64_t poll_timeout_ms = 0;
    };
    using Handler = void (DuoProvider::*)(Challenge&, HttpResponse);

    HttpRequest signed_request(std::string_view method, std::string_view path, const duo_sign::Params& params) const {
        const std::string date = duo_sign::rfc2822_date(clock_.now());
        const std::string canon = duo_sign::canon_params(params);
        const std::string signature =
            duo_sign::hmac_sha512_hex(skey_.view(), duo_sign::canonical_request(date, method, sign_host_, path, canon));

        HttpRequest req;
        req.method = std::string(method);
        req.url = "https://" + api_host_ + std::string(path);
        req.endpoint = endpoint_;
        // Duo reads X-Duo-Date when present (some HTTP stacks rewrite Date);
        // both carry the signed value.
        req.headers = {"Date: " + date, "X-Duo-Date: " + date,
                       "Authorization: " + duo_sign::authorization(ikey_, signature), "Accept: application/json",
                       "User-Agent: elevate/" ELEVATE_VERSION};
        if (method == "GET") {
            if (!canon.empty()) req.url += "?" + canon;
        } else {
            req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
            req.body = canon;
        }
        return req;
    }

    void call(Challenge& ch, std::string_view method, std::string_view path, const duo_sign::Params& params,
              int64_t delay_ms, Handler handler) {
        HttpRequest req = signed_request(method, path, params);
        req.delay_ms = delay_ms;
        if (handler == &DuoProvider::on_status) {
            // Bound each poll by the time left, so the answer (or Timeout)
            // comes shortly after expires even when a poll hangs.
            const int64_t left_ms = std::max<int64_t>(0, (ch.c.expires - clock_.now()) * 1000);
            req.endpoint.request_timeout_ms = std::clamp<int64_t>(left_ms + 1000, 1000, endpoint_.request_timeout_ms);
            ch.poll_timeout_ms = req.endpoint.request_timeout_ms;
            ch.poll_sent = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
        }
        const std::string id = ch.c.id;
        const uint64_t seq = ch.seq;
        ch.transfer = http_.submit(std::move(req), [this, id, seq, handler, method = std::string(method),
                                                    path = std::string(path), params](HttpResponse r) {
            auto it = pending_.find(id);
            if (it == pending_.end() || it->second.seq != seq) return;
            Challenge& current = it->second;
            current.transfer = 0;
            if (r.ok() && r.status == 429) return rate_limited(current, r, method, path, params, handler);
            current.backoff.reset();
            (this->*handler)(current, std::move(r));
        });
    }

    // The same call again (signed anew), when the rate limit ends before
    // the deadline; else the challenge ends as a denial.
    void rate_limited(Challenge& ch, const HttpResponse& r, const std::string& method, const std::string& path,
                      const duo_sign::Params& params, Handler handler) {
        const auto delay =
            ch.backoff.next_delay_ms(r, clock_.now(), rate_limit_deadline(ch.c, /*sending=*/!ch.delivered));
        if (delay) return call(ch, method, path, params, *delay, handler);
        std::string why = rate_limited_text("Duo", ch.backoff.wait_seconds());
        if (!ch.delivered) return fail_send(ch, std::move(why), false);
        finish(ch, PushOutcome::Failed, std::move(why));
    }

    // Ends a challenge before a push went out: `sent` with the error.
    void fail_send(Challenge& ch, std::string error, bool unavailable) {
        Sent sent = std::move(ch.sent);
        const std::string id = ch.c.id;  // a copy: erase() frees the node holding ch.c.id
        pending_.erase(id);
        PushSent s;
        s.error = std::move(error);
        s.unavailable = unavailable;
        sent(std::move(s));
    }

    // Ends a challenge after a successful send: `done` with the answer.
    void finish(Challenge& ch, PushOutcome outcome, std::string detail, bool unavailable = false) {
        Done done = std::move(ch.done);
        const std::string id = ch.c.id;
        pending_.erase(id);
        PushAnswer a;
        a.outcome = outcome;
        a.detail = std::move(detail);
        a.unavailable = unavailable;
        done(std::move(a));
    }

    // Reports a successful send. The callback may cancel the challenge, so
    // the caller must look it up again afterwards.
    bool report_sent(Challenge& ch, std::string device) {
        const std::string id = ch.c.id;
        const uint64_t seq = ch.seq;
        Sent sent = std::move(ch.sent);
        ch.delivered = true;
        PushSent s;
        s.ok = true;
        s.device = std::move(device);
        sent(std::move(s));
        auto it = pending_.find(id);
        return it != pending_.end() && it->second.seq == seq;
    }

    void on_preauth(Challenge& ch, HttpResponse r) {
        Reply reply = read_reply(kPreauthPath, r, clock_.now());
        if (!reply.ok) return fail_send(ch, std::move(reply.error), reply.unavailable);
        const std::string result = string_member(reply.response, "result");
        const std::string status_msg = provider_text(string_member(reply.response, "status_msg"));
        const std::string& user = ch.c.user;

        if (result == "enroll") return fail_send(ch, user + " is not enrolled in Duo", false);
        if (result == "deny") {
            return fail_send(ch, "Duo denied " + user + (status_msg.empty() ? "" : ": " + status_msg), false);
        }
        if (result == "allow") {
            // See duo.h: Duo's policy exempts this user from a second factor.
            const std::string id = ch.c.id;
            if (!report_sent(ch, "none (Duo bypass)")) return;
            return finish(pending_.at(id), PushOutcome::Approved,
                          "Duo bypass" + (status_msg.empty() ? "" : ": " + status_msg));
        }
        if (result != "auth") return fail_send(ch, "Duo sent a malformed response to /auth/v2/preauth", false);

        const json* devices = member(reply.response, "devices");
        if (!devices || !devices->is_array()) {
            return fail_send(ch, "Duo sent a malformed response to /auth/v2/preauth", false);
        }
        for (const json& device : *devices) {
            const std::string device_id = string_member(device, "device");
            if (device_id.empty() || !can_push(device)) continue;
            ch.device_label = device_label(device);
            duo_sign::Params params = {
                {"username", user}, {"factor", "push"}, {"device", device_id}, {"async", "1"}, {"type", "elevate"}};
            if (std::string info = pushinfo(ch.c); !info.empty()) params.emplace_back("pushinfo", std::move(info));
            return call(ch, "POST", kAuthPath, params, 0, &DuoProvider::on_auth);
        }
        fail_send(ch, "no Duo push device for " + user, false);
    }

    void on_auth(Challenge& ch, HttpResponse r) {
        Reply reply = read_reply(kAuthPath, r, clock_.now());
        if (!reply.ok) return fail_send(ch, std::move(reply.error), reply.unavailable);
        std::string txid = string_member(reply.response, "txid");
        if (txid.empty() || txid.size() > kMaxProviderText) {
            return fail_send(ch, "Duo sent a malformed response to /auth/v2/auth", false);
        }
        ch.txid = std::move(txid);
        const std::string id = ch.c.id;
        if (!report_sent(ch, ch.device_label)) return;
        Challenge& again = pending_.at(id);
        call(again, "GET", kStatusPath, {{"txid", again.txid}}, 0, &DuoProvider::on_status);
    }

    void poll_again(Challenge& ch) {
        const int64_t left_ms = (ch.c.expires - clock_.now()) * 1000;
        const int64_t delay = std::clamp<int64_t>(left_ms, 0, poll_interval_ms_);
        call(ch, "GET", kStatusPath, {{"txid", ch.txid}}, delay, &DuoProvider::on_status);
    }

    void on_status(Challenge& ch, HttpResponse r) {
        const bool expired = clock_.now() >= ch.c.expires;
        Reply reply = read_reply(kStatusPath, r, clock_.now());
        if (!reply.ok) {
            if (!reply.unavailable) return finish(ch, PushOutcome::Failed, std::move(reply.error));
            // auth_status long-polls: a transfer that ran into its own time
            // limit only means "no news yet".
            const auto elapsed = std::chrono::steady_clock::now() - ch.poll_sent;
            const bool long_poll = !r.ok() && elapsed >= std::chrono::milliseconds(ch.poll_timeout_ms - 250);
            if (long_poll) {
                if (expired) return finish(ch, PushOutcome::Timeout, "no answer in Duo Mobile before the deadline");
                return poll_again(ch);
            }
            if (++ch.poll_failures >= kMaxPollFailures || expired) {
                return finish(ch, PushOutcome::Failed, std::move(reply.error), true);
            }
            return poll_again(ch);
        }
        ch.poll_failures = 0;

        const std::string result = string_member(reply.response, "result");
        const std::string status = string_member(reply.response, "status");
        const std::string status_msg = provider_text(string_member(reply.response, "status_msg"));
        if (result == "allow") {
            return finish(ch, PushOutcome::Approved, status_msg.empty() ? "approved in Duo Mobile" : status_msg);
        }
        if (result == "deny") {
            if (status == "fraud") {
                return finish(ch, PushOutcome::Fraud,
                              status_msg.empty() ? "reported as fraudulent in Duo Mobile" : status_msg);
            }
            // Duo's own push timeout: the user did not answer.
            if (status == "timeout") {
                return finish(ch, PushOutcome::Timeout, status_msg.empty() ? "no answer in Duo Mobile" : status_msg);
            }
            return finish(ch, PushOutcome::Denied, status_msg.empty() ? "denied in Duo Mobile" : status_msg);
        }
        if (result != "waiting") {
            return finish(ch, PushOutcome::Failed, "Duo sent a malformed response to /auth/v2/auth_status");
        }
        if (expired) return finish(ch, PushOutcome::Timeout, "no answer in Duo Mobile before the deadline");
        poll_again(ch);
    }

    std::string api_host_;
    std::string sign_host_;
    std::string ikey_;
    base::SecureBuffer skey_;
    config::HttpEndpoint endpoint_;
    int64_t poll_interval_ms_;
    HttpClient& http_;
    const base::Clock& clock_;
    std::unordered_map<std::string, Challenge> pending_;
    uint64_t next_seq_ = 0;
};

base::Result<void> check_config(const config::DuoConfig& duo) {
    const auto bad = [](std::string what) { return base::make_error("[push.duo] " + std::move(what)); };
    if (duo.api_host.empty()) return bad("api_host is not set (the API hostname of the Duo Auth API application)");
    if (duo.api_host.find("://") != std::string::npos || duo.api_host.find_first_of("/ @?#") != std::string::npos) {
        return bad("api_host \"" + duo.api_host + "\" must be a host name such as api-XXXXXXXX.duosecurity.com");
    }
    if (duo.integration_key.empty()) return bad("integration_key is not set");
    // The key is the user name of HTTP Basic authentication.
    if (duo.integration_key.find_first_of(": \t\r\n") != std::string::npos) {
        return bad("integration_key contains a character Duo keys never have");
    }
    if (duo.secret_key.empty()) return bad("secret_key is not set");
    if (duo.poll_interval_ms <= 0) return bad("poll_interval must be positive");
    return {};
}

}  // namespace

base::Result<std::unique_ptr<PushProvider>> make_duo_provider(const config::PushConfig& push, HttpClient& http,
                                                              const base::Clock& clock) {
    if (auto ok = check_config(push.duo); !ok) return std::move(ok).error();
    return std::unique_ptr<PushProvider>(std::make_unique<DuoProvider>(push.duo, http, clock));
}

}  // namespace elevate::push
