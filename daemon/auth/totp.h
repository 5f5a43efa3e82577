// TOTP (RFC 6238) on top of liboath. Pure computation: replay protection and
// lockout live in verifier.h, which combines this with the store.
#pragma once

#include "common/base/result.h"
#include "common/base/secure_buffer.h"
#include "common/config/config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace elevate::auth {

struct TotpParams {
    config::TotpAlgorithm algorithm = config::TotpAlgorithm::Sha1;
    int digits = 6;
    int64_t period = 30;
};

// Must be called once before any other function here (oath_init).
base::Result<void> totp_init();

// The code for time `now` (epoch seconds), zero-padded to `digits`.
base::Result<std::string> totp_generate(const base::SecureBuffer& secret, const TotpParams& p, int64_t now);

// Largest drift totp_match accepts (config allows 0..10); a larger or
// negative drift matches nothing rather than widening the window.
inline constexpr int kMaxDriftSteps = 10;

// Checks `code` against steps now-drift .. now+drift. Returns the matched
// time-step counter (floor(t / period)) or nullopt. Every candidate is
// compared in constant time; malformed codes (wrong length, non-digits)
// are simply not matched. If a code matches more than one step (a 10^-digits
// coincidence) the latest step is returned, so replay protection that
// remembers the step burns the larger one.
std::optional<int64_t> totp_match(const base::SecureBuffer& secret, const TotpParams& p, std::string_view code,
                                  int64_t now, int drift_steps);

// Fresh random seed (20 bytes for SHA1, 32 for SHA256, 64 for SHA512).
// Empty if the random generator fails (callers must check).
base::SecureBuffer totp_new_secret(config::TotpAlgorithm a);

// Base32 (RFC 4648, no padding) of a seed, and back. Decoding accepts
// lower case, spaces and padding; anything else is an error.
std::string base32_encode(const base::SecureBuffer& secret);
base::Result<base::SecureBuffer> base32_decode(std::string_view text);

// otpauth://totp/ISSUER:USER?secret=...&issuer=...&algorithm=...&digits=...&period=...
std::string otpauth_uri(const std::string& issuer, const std::string& user, const base::SecureBuffer& secret,
                        const TotpParams& p);

}  // namespace elevate::auth
