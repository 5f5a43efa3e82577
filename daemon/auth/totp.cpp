// TOTP on liboath. The HMAC and truncation are liboath's (oath_totp_generate2);
// this file adds parameter checks, a constant-time window match, base32 input
// normalisation and the otpauth URI. Hazards handled here:
//  - every buffer that held a seed or a code is wiped (OPENSSL_cleanse),
//    including the ones liboath allocated for us, before it is freed;
//  - codes are compared with CRYPTO_memcmp and the window is always walked to
//    the end, so the time taken does not say which step (if any) matched;
//  - nothing here logs or formats a secret into an error message.
#include "daemon/auth/totp.h"

#include "common/base/text.h"

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

namespace elevate::auth {
namespace {

// RFC 6238 periods are small; this bound keeps step * period far from
// overflow and rejects nonsense such as a negative or zero period.
constexpr int64_t kMaxPeriod = 86400;
// A seed longer than one HMAC block is hashed down by HMAC anyway; the bound
// only stops absurd inputs.
constexpr size_t kMaxSecretBytes = 1024;
// Largest `now` accepted (year ~33658), so now / period + drift cannot overflow.
constexpr int64_t kMaxNow = int64_t{1} << 40;

std::once_flag g_init_once;
std::atomic<int> g_init_rc{OATH_OK};
std::atomic<bool> g_initialised{false};

// Wipes and frees a buffer that liboath allocated with malloc.
struct OathFree {
    size_t length;
    void operator()(char* p) const {
        if (p != nullptr) {
            OPENSSL_cleanse(p, length);
            std::free(p);
        }
    }
};

// A std::string scratch buffer that is wiped when it goes out of scope.
// reserve() up front so no reallocation leaves an unwiped copy behind.
class WipedString {
public:
    explicit WipedString(size_t capacity) { s_.reserve(capacity); }
    ~WipedString() {
        s_.resize(s_.capacity());
        OPENSSL_cleanse(s_.data(), s_.size());
    }
    WipedString(const WipedString&) = delete;
    WipedString& operator=(const WipedString&) = delete;
    std::string& str() { return s_; }

private:
    std::string s_;
};

int oath_flags(config::TotpAlgorithm a) {
    switch (a) {
        case config::TotpAlgorithm::Sha1:
            return 0;
        case config::TotpAlgorithm::Sha256:
            return OATH_TOTP_HMAC_SHA256;
        case config::TotpAlgorithm::Sha512:
            return OATH_TOTP_HMAC_SHA512;
    }
    return -1;
}

const char* uri_algorithm(config::TotpAlgorithm a) {
    switch (a) {
        case config::TotpAlgorithm::Sha1:
            return "SHA1";
        case config::TotpAlgorithm::Sha256:
            return "SHA256";
        case config::TotpAlgorithm::Sha512:
            return "SHA512";
    }
    return "SHA1";
}

base::Result<void> check_params(const base::SecureBuffer& secret, const TotpParams& p) {
    if (!g_initialised.load(std::memory_order_acquire)) return base::make_error("TOTP: totp_init() was not called");
    if (secret.empty()) return base::make_error("TOTP: the secret is empty");
    if (secret.size() > kMaxSecretBytes) return base::make_error("TOTP: the secret is longer than 1024 bytes");
    if (p.digits < 6 || p.digits > 8)
        return base::make_error("TOTP: digits must be 6, 7 or 8 (got " + std::to_string(p.digits) + ")");
    if (p.period < 1 || p.period > kMaxPeriod)
        return base::make_error("TOTP: period must be 1.." + std::to_string(kMaxPeriod) + " seconds (got " +
                                std::to_string(p.period) + ")");
    if (oath_flags(p.algorithm) < 0) return base::make_error("TOTP: unknown algorithm");
    return {};
}

// Code for time-step `step` into out[0..digits) (NUL-terminated). Parameters
// must have passed check_params. Returns a liboath status.
int generate_step(const base::SecureBuffer& secret, const TotpParams& p, int64_t step, char (&out)[16]) {
    // With start offset 0 liboath computes floor(now / period); step * period
    // lands exactly on the step's first second.
    const auto t = static_cast<time_t>(step * p.period);
    return oath_totp_generate2(secret.data(), secret.size(), t, static_cast<unsigned>(p.period), 0,
                               static_cast<unsigned>(p.digits), oath_flags(p.algorithm), out);
}

}  // namespace

base::Result<void> totp_init() {
    std::call_once(g_init_once, [] {
        const int rc = oath_init();
        g_init_rc.store(rc, std::memory_order_relaxed);
        g_initialised.store(rc == OATH_OK, std::memory_order_release);
    });
    const int rc = g_init_rc.load(std::memory_order_relaxed);
    if (rc != OATH_OK) return base::make_error(std::string("liboath initialisation failed: ") + oath_strerror(rc));
    return {};
}

base::Result<std::string> totp_generate(const base::SecureBuffer& secret, const TotpParams& p, int64_t now) {
    if (auto ok = check_params(secret, p); !ok) return std::move(ok).error();
    if (now < 0 || now > kMaxNow) return base::make_error("TOTP: time " + std::to_string(now) + " is out of range");
    char buf[16] = {};
    const int rc = generate_step(secret, p, now / p.period, buf);
    if (rc != OATH_OK) {
        OPENSSL_cleanse(buf, sizeof buf);
        return base::make_error(std::string("TOTP: liboath could not compute the code: ") + oath_strerror(rc));
    }
    std::string code(buf, static_cast<size_t>(p.digits));
    OPENSSL_cleanse(buf, sizeof buf);
    return code;
}

std::optional<int64_t> totp_match(const base::SecureBuffer& secret, const TotpParams& p, std::string_view code,
                                  int64_t now, int drift_steps) {
    // Everything checked before the loop is public (parameters, the length
    // and shape of what the user typed); none of it depends on the secret.
    if (!check_params(secret, p).ok()) return std::nullopt;
    if (drift_steps < 0 || drift_steps > kMaxDriftSteps) return std::nullopt;
    if (now < 0 || now > kMaxNow) return std::nullopt;
    if (code.size() != static_cast<size_t>(p.digits)) return std::nullopt;
    unsigned bad = 0;
    for (const char c : code) bad |= static_cast<unsigned>(c < '0' || c > '9');
    if (bad != 0) return std::nullopt;

    const int64_t current = now / p.period;
    uint64_t found = 0;
    uint64_t matched = 0;
    bool failed = false;
    // Walk the whole window with no early exit; a match is folded in with a
    // mask instead of a branch. Ascending order: a later match overwrites an
    // earlier one (see totp.h on why the latest step wins).
    for (int64_t step = current - drift_steps; step <= current + drift_steps; ++step) {
        if (step < 0) continue;  // before the epoch: public, nothing to compare
        char buf[16] = {};
        if (generate_step(secret, p, step, buf) != OATH_OK) {
            failed = true;
            OPENSSL_cleanse(buf, sizeof buf);
            continue;
        }
        const uint64_t eq = static_cast<uint64_t>(CRYPTO_memcmp(buf, code.data(), code.size()) == 0);
        OPENSSL_cleanse(buf, sizeof buf);
        const uint64_t mask = uint64_t{0} - eq;
        matched = (matched & ~mask) | (static_cast<uint64_t>(step) & mask);
        found |= eq;
    }
    if (failed || found == 0) return std::nullopt;  // fail closed if liboath failed anywhere
    return static_cast<int64_t>(matched);
}

base::SecureBuffer totp_new_secret(config::TotpAlgorithm a) {
    size_t n = 20;
    if (a == config::TotpAlgorithm::Sha256) n = 32;
    if (a == config::TotpAlgorithm::Sha512) n = 64;
    static constexpr char kZeros[64] = {};
    // Sized up front and filled in place: the seed never exists anywhere else.
    base::SecureBuffer secret{std::string_view(kZeros, n)};
    if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(n)) != 1) return {};
    return secret;
}

std::string base32_encode(const base::SecureBuffer& secret) {
    if (secret.empty()) return {};
    char* raw = nullptr;
    size_t len = 0;
    const int rc = oath_base32_encode(secret.data(), secret.size(), &raw, &len);
    std::unique_ptr<char, OathFree> out(raw, OathFree{len});
    if (rc != OATH_OK || raw == nullptr) return {};
    std::string_view text(raw, len);
    // liboath pads to a multiple of 8; authenticator apps expect no padding.
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    return std::string(text);
}

base::Result<base::SecureBuffer> base32_decode(std::string_view text) {
    if (text.size() > 4 * kMaxSecretBytes) return base::make_error("base32 secret is too long");
    // liboath's decoder wants upper case and canonical padding. Normalise into
    // a wiped scratch buffer: drop spaces, upper-case, strip '=' (only allowed
    // at the end), then re-pad. Errors name positions, never characters.
    WipedString norm(text.size() + 8);
    std::string& s = norm.str();
    bool in_padding = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == ' ') continue;
        if (c == '=') {
            in_padding = true;
            continue;
        }
        if (in_padding)
            return base::make_error("invalid base32 secret: '=' padding before position " + std::to_string(i + 1));
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
            return base::make_error("invalid base32 secret: character at position " + std::to_string(i + 1) +
                                    " is not A-Z or 2-7");
        s.push_back(c);
    }
    if (s.empty()) return base::make_error("invalid base32 secret: it is empty");
    // 8 characters carry 5 bytes; a final group of 1, 3 or 6 characters
    // cannot come from any byte string.
    const size_t rem = s.size() % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return base::make_error("invalid base32 secret: a length of " + std::to_string(s.size()) +
                                " characters is impossible (truncated?)");
    if (rem != 0) s.append(8 - rem, '=');

    char* raw = nullptr;
    size_t len = 0;
    const int rc = oath_base32_decode(s.data(), s.size(), &raw, &len);
    std::unique_ptr<char, OathFree> out(raw, OathFree{len});
    if (rc != OATH_OK) return base::make_error(std::string("invalid base32 secret: ") + oath_strerror(rc));
    if (raw == nullptr || len == 0) return base::make_error("invalid base32 secret: it decodes to nothing");
    return base::SecureBuffer(reinterpret_cast<const uint8_t*>(raw), len);
}

std::string otpauth_uri(const std::string& issuer, const std::string& user, const base::SecureBuffer& secret,
                        const TotpParams& p) {
    // Key URI format (Google Authenticator wiki): label "issuer:account", and
    // the issuer repeated as a parameter for apps that read only that.
    std::string uri = "otpauth://totp/";
    if (!issuer.empty()) {
        uri += base::percent_encode(issuer);
        uri += ':';
    }
    uri += base::percent_encode(user);
    uri += "?secret=";
    uri += base32_encode(secret);
    if (!issuer.empty()) {
        uri += "&issuer=";
        uri += base::percent_encode(issuer);
    }
    uri += "&algorithm=";
    uri += uri_algorithm(p.algorithm);
    uri += "&digits=";
    uri += std::to_string(p.digits);
    uri += "&period=";
    uri += std::to_string(p.period);
    return uri;
}

}  // namespace elevate::auth
