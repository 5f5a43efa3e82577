#include "daemon/push/signature.h"

#include "common/base/parse.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <string>
#include <utility>

namespace elevate::push {

namespace {

constexpr std::string_view kSignaturePrefix = "v1=";

std::string to_hex(const unsigned char* p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) {
        out.push_back(digits[p[i] >> 4]);
        out.push_back(digits[p[i] & 0xf]);
    }
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
        // Only on a broken libcrypto; an empty hash never matches a signature.
        return {};
    }
    return to_hex(digest, len);
}

base::Result<std::string> random_hex(size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1) {
        return base::make_error("OpenSSL random generator failed");
    }
    return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string request_canonical(std::string_view method, std::string_view path, int64_t timestamp, std::string_view nonce,
                              std::string_view body) {
    std::string s = "elevate-v1\n";
    s.append(method).append("\n");
    s.append(path).append("\n");
    s.append(std::to_string(timestamp)).append("\n");
    s.append(nonce).append("\n");
    s.append(sha256_hex(body));
    return s;
}

std::string response_canonical(long status, std::string_view request_nonce, int64_t timestamp, std::string_view body) {
    std::string s = "elevate-v1-response\n";
    s.append(std::to_string(status)).append("\n");
    s.append(request_nonce).append("\n");
    s.append(std::to_string(timestamp)).append("\n");
    s.append(sha256_hex(body));
    return s;
}

std::string sign(std::string_view secret, std::string_view canonical) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), mac, &len) == nullptr) {
        return {};  // matches nothing: signature_matches() rejects an empty expectation
    }
    std::string out(kSignaturePrefix);
    out.append(to_hex(mac, len));
    OPENSSL_cleanse(mac, sizeof mac);
    return out;
}

bool signature_matches(std::string_view secret, std::string_view canonical, std::string_view header_value) {
    const std::string expected = sign(secret, canonical);
    if (expected.empty() || header_value.size() != expected.size()) return false;
    return CRYPTO_memcmp(expected.data(), header_value.data(), expected.size()) == 0;
}

base::Result<SignedRequest> sign_request(std::string_view secret, std::string_view method, std::string_view path,
                                         int64_t now, std::string_view body) {
    auto nonce = random_hex(16);
    if (!nonce) return std::move(nonce).error();
    SignedRequest out;
    out.nonce = std::move(*nonce);
    const std::string signature = sign(secret, request_canonical(method, path, now, out.nonce, body));
    if (signature.empty()) return base::make_error("cannot compute HMAC-SHA256");
    out.headers.push_back(std::string(kTimestampHeader) + ": " + std::to_string(now));
    out.headers.push_back(std::string(kNonceHeader) + ": " + out.nonce);
    out.headers.push_back(std::string(kSignatureHeader) + ": " + signature);
    return out;
}

base::Result<void> verify_response(std::string_view secret, long status, std::string_view timestamp_header,
                                   std::string_view signature_header, std::string_view body,
                                   std::string_view request_nonce, int64_t now) {
    if (signature_header.empty()) return base::make_error("missing signature");
    if (timestamp_header.empty()) return base::make_error("missing timestamp");
    const auto timestamp = base::parse_u64_in(timestamp_header, 0, INT64_MAX);
    if (!timestamp) return base::make_error("malformed timestamp");
    const int64_t ts = static_cast<int64_t>(*timestamp);
    // MAC first: a forged or edited timestamp is reported as a bad signature.
    if (!signature_matches(secret, response_canonical(status, request_nonce, ts, body), signature_header)) {
        return base::make_error("bad signature");
    }
    const int64_t skew = ts > now ? ts - now : now - ts;
    if (skew > kMaxClockSkew) {
        return base::make_error("timestamp " + std::to_string(skew) + " s from our clock (limit " +
                                std::to_string(kMaxClockSkew) + " s)");
    }
    return {};
}

}  // namespace elevate::push
