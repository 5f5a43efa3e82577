// Request and response signatures of the webhook API and of notification
// events (docs/PUSH-WEBHOOK.md, "Signatures"). Both directions carry an
// HMAC-SHA256 over a canonical string; a response is bound to the nonce of
// the request it answers, so a recorded "approved" reply cannot be replayed
// for another request.
#pragma once

#include "common/base/result.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::push {

inline constexpr std::string_view kTimestampHeader = "X-Elevate-Timestamp";
inline constexpr std::string_view kNonceHeader = "X-Elevate-Nonce";
inline constexpr std::string_view kSignatureHeader = "X-Elevate-Signature";

// How far a peer's timestamp may be from our clock, either way.
inline constexpr int64_t kMaxClockSkew = 60;

// Lower-case hex of SHA-256(data).
std::string sha256_hex(std::string_view data);

// `bytes` random bytes from the OpenSSL CSPRNG, as lower-case hex.
base::Result<std::string> random_hex(size_t bytes);

// "elevate-v1\n" METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA256(body))
std::string request_canonical(std::string_view method, std::string_view path, int64_t timestamp, std::string_view nonce,
                              std::string_view body);

// "elevate-v1-response\n" STATUS "\n" REQUEST_NONCE "\n" TIMESTAMP "\n" hex(SHA256(body))
std::string response_canonical(long status, std::string_view request_nonce, int64_t timestamp, std::string_view body);

// "v1=" + lower-case hex of HMAC-SHA256(secret, canonical).
std::string sign(std::string_view secret, std::string_view canonical);

// Constant-time check of a signature header value against `canonical`.
bool signature_matches(std::string_view secret, std::string_view canonical, std::string_view header_value);

// The headers of one signed request, and the fresh nonce they carry (the
// reply must be bound to it).
struct SignedRequest {
    std::vector<std::string> headers;  // "Name: value"
    std::string nonce;
};

// Signs METHOD PATH BODY at `now` with a fresh 128-bit nonce.
base::Result<SignedRequest> sign_request(std::string_view secret, std::string_view method, std::string_view path,
                                         int64_t now, std::string_view body);

// Checks a reply's X-Elevate-Timestamp and X-Elevate-Signature against the
// request nonce and our clock. The error message says which check failed
// ("missing signature", "bad signature", "timestamp 130 s from our clock").
base::Result<void> verify_response(std::string_view secret, long status, std::string_view timestamp_header,
                                   std::string_view signature_header, std::string_view body,
                                   std::string_view request_nonce, int64_t now);

}  // namespace elevate::push
