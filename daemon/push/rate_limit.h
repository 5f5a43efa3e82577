// HTTP 429 from a push provider, retried as Duo's own clients do (duo_unix
// lib/duo.c, duo_client_python): after the wait the reply asks for
// (Retry-After or X-Retry-After, delta-seconds or an HTTP-date), else with
// exponential backoff from 1 s (doubling, at most 32 s) plus up to 1 s of
// jitter. Unlike theirs, a retry never starts after a deadline (the push's):
// then the provider reports rate_limited_text(), a denial, never
// "unavailable" (which pam_elevate failmode=open would let through).
// Retries are scheduled through HttpRequest::delay_ms, so nothing waits on
// the event loop.
#pragma once

#include "daemon/push/http_client.h"
#include "daemon/push/provider.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace elevate::push {

// Epoch seconds of an HTTP-date (IMF-fixdate, RFC 850 or asctime form), or
// nullopt when `value` is not one.
std::optional<int64_t> parse_http_date(std::string_view value);

// The wait in milliseconds a reply asks for in Retry-After or X-Retry-After
// (either form; an HTTP-date counts from `now`), or nullopt without one.
// A date in the past is a wait of 0.
std::optional<int64_t> retry_after_ms(const HttpResponse& r, int64_t now);

class RateLimitBackoff {
public:
    // After the 429 `r` at `now` (epoch seconds): the delay before the next
    // attempt, or nullopt when that attempt would start after `deadline`
    // (epoch seconds). wait_seconds() is then the wait the reply asked for.
    std::optional<int64_t> next_delay_ms(const HttpResponse& r, int64_t now, int64_t deadline);
    // Seconds (rounded up) of the last wait next_delay_ms() computed.
    int64_t wait_seconds() const { return (wait_ms_ + 999) / 1000; }
    // A reply other than 429: the next one starts from 1 s again.
    void reset() { attempts_ = 0; }

private:
    int attempts_ = 0;
    int64_t wait_ms_ = 0;
};

// The last moment (epoch seconds) a retry of `c` may start: its expiry, or
// while `sending` (before the push is out) its send_by, if earlier.
int64_t rate_limit_deadline(const PushChallenge& c, bool sending);

// "<who> is rate-limiting requests; try again in N s".
std::string rate_limited_text(std::string_view who, int64_t seconds);

}  // namespace elevate::push
