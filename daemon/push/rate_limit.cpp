#include "daemon/push/rate_limit.h"

#include <curl/curl.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

namespace elevate::push {

namespace {

constexpr int64_t kFirstBackoffMs = 1000;
constexpr int64_t kMaxBackoffMs = 32000;
constexpr int64_t kJitterMs = 1000;

int64_t jitter_ms() {
    uint16_t r = 0;
    // Jitter only spreads retries out; a failing generator just means none.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r) != 1) return 0;
    return r % kJitterMs;
}

}  // namespace

std::optional<int64_t> parse_http_date(std::string_view value) {
    const std::string text(value);
    const time_t t = curl_getdate(text.c_str(), nullptr);
    if (t == -1) return std::nullopt;
    return int64_t(t);
}

std::optional<int64_t> retry_after_ms(const HttpResponse& r, int64_t now) {
    for (const char* name : {"retry-after", "x-retry-after"}) {
        const std::string value = r.header(name);
        if (value.empty()) continue;
        int64_t seconds = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec == std::errc() && end == value.data() + value.size() && seconds >= 0) return seconds * 1000;
        if (auto at = parse_http_date(value)) return std::max<int64_t>(*at - now, 0) * 1000;
    }
    return std::nullopt;
}

std::optional<int64_t> RateLimitBackoff::next_delay_ms(const HttpResponse& r, int64_t now, int64_t deadline) {
    int64_t delay = 0;
    if (auto asked = retry_after_ms(r, now)) {
        wait_ms_ = *asked;
        delay = std::max(*asked, kFirstBackoffMs);  // "0" (or a date just past) must not mean a busy loop
    } else {
        wait_ms_ = std::min(kFirstBackoffMs << std::min(attempts_, 5), kMaxBackoffMs);
        delay = wait_ms_ + jitter_ms();
    }
    ++attempts_;
    if (now * 1000 + delay >= deadline * 1000) return std::nullopt;
    return delay;
}

int64_t rate_limit_deadline(const PushChallenge& c, bool sending) {
    return sending && c.send_by > 0 ? std::min(c.send_by, c.expires) : c.expires;
}

std::string rate_limited_text(std::string_view who, int64_t seconds) {
    return std::string(who) + " is rate-limiting requests; try again in " + std::to_string(seconds) + " s";
}

}  // namespace elevate::push
