// The canonical strings and HMACs of docs/PUSH-WEBHOOK.md. The known vectors
// were computed independently (Python hmac/hashlib) and are the worked
// example in the document.
#include "daemon/push/signature.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace elevate::push {
namespace {

const std::string kSecret = "example-secret-0123456789abcdef-0123";
const std::string kNonce = "00112233445566778899aabbccddeeff";
const std::string kStartBody =
    R"({"challenge_id":"4f6c2b1e-8f1a-4c2b-9d3e-5a6b7c8d9e0f","created":1767225600,"expires":1767225660,)"
    R"("host":"db1.example.com","nonce":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","reason":"INC-4711",)"
    R"("remote_host":"10.0.0.7","role":"db-admin","service":"sudo","tty":"pts/1","user":"alice"})";
const std::string kReplyBody =
    R"({"challenge_id":"4f6c2b1e-8f1a-4c2b-9d3e-5a6b7c8d9e0f","device":"Pixel 8","status":"pending"})";
const std::string kRequestSignature = "v1=dfd5da8163c57bb0518e43b8e4baaaec2e1f996020c4d782d9df70f1b9737918";
const std::string kReplySignature = "v1=f83ab4c87348c4282c72aaee2932cb3373516c677fef4c75ee78d422e5b378f7";

bool is_lower_hex(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TEST(Signature, Sha256OfEmptyBody) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Signature, RequestKnownVector) {
    const std::string canonical = request_canonical("POST", "/elevate/challenges", 1767225600, kNonce, kStartBody);
    EXPECT_EQ(canonical,
              "elevate-v1\nPOST\n/elevate/challenges\n1767225600\n00112233445566778899aabbccddeeff\n"
              "4e0f63cab157fb29c07c7ff5a44301c3319357eb9a259113828d669c8ecb87a9");
    EXPECT_EQ(sign(kSecret, canonical), kRequestSignature);
    EXPECT_TRUE(signature_matches(kSecret, canonical, kRequestSignature));
}

TEST(Signature, ResponseKnownVector) {
    const std::string canonical = response_canonical(201, kNonce, 1767225601, kReplyBody);
    EXPECT_EQ(canonical,
              "elevate-v1-response\n201\n00112233445566778899aabbccddeeff\n1767225601\n"
              "eda936cb3f50d3a51550dd05769842cb651503becf980dfd5a842fda076b7a20");
    EXPECT_EQ(sign(kSecret, canonical), kReplySignature);
    EXPECT_TRUE(verify_response(kSecret, 201, "1767225601", kReplySignature, kReplyBody, kNonce, 1767225601).ok());
}

TEST(Signature, RequestTamperingAnyComponentFails) {
    auto matches = [](const std::string& method, const std::string& path, int64_t ts, const std::string& nonce,
                      const std::string& body, const std::string& secret = kSecret) {
        return signature_matches(secret, request_canonical(method, path, ts, nonce, body), kRequestSignature);
    };
    ASSERT_TRUE(matches("POST", "/elevate/challenges", 1767225600, kNonce, kStartBody));
    EXPECT_FALSE(matches("GET", "/elevate/challenges", 1767225600, kNonce, kStartBody));
    EXPECT_FALSE(matches("POST", "/elevate/challenges/x", 1767225600, kNonce, kStartBody));
    EXPECT_FALSE(matches("POST", "/elevate/challenges", 1767225601, kNonce, kStartBody));
    EXPECT_FALSE(matches("POST", "/elevate/challenges", 1767225600, "00112233445566778899aabbccddeefe", kStartBody));
    std::string body = kStartBody;
    body[body.find("alice")] = 'A';
    EXPECT_FALSE(matches("POST", "/elevate/challenges", 1767225600, kNonce, body));
    EXPECT_FALSE(matches("POST", "/elevate/challenges", 1767225600, kNonce, kStartBody, kSecret + "x"));
}

TEST(Signature, ResponseTamperingAnyComponentFails) {
    const int64_t now = 1767225601;
    auto verify = [&](long status, const std::string& ts, const std::string& sig, const std::string& body,
                      const std::string& nonce) { return verify_response(kSecret, status, ts, sig, body, nonce, now); };
    ASSERT_TRUE(verify(201, "1767225601", kReplySignature, kReplyBody, kNonce).ok());
    EXPECT_EQ(verify(200, "1767225601", kReplySignature, kReplyBody, kNonce).error().message, "bad signature");
    EXPECT_EQ(verify(201, "1767225602", kReplySignature, kReplyBody, kNonce).error().message, "bad signature");
    // Bound to the request: the same reply for another request's nonce fails.
    EXPECT_EQ(
        verify(201, "1767225601", kReplySignature, kReplyBody, "ffeeddccbbaa99887766554433221100").error().message,
        "bad signature");
    std::string body = kReplyBody;
    body.replace(body.find("pending"), 7, "approve");
    EXPECT_EQ(verify(201, "1767225601", kReplySignature, body, kNonce).error().message, "bad signature");
    std::string sig = kReplySignature;
    sig.back() = sig.back() == '0' ? '1' : '0';
    EXPECT_EQ(verify(201, "1767225601", sig, kReplyBody, kNonce).error().message, "bad signature");
    EXPECT_FALSE(verify_response(kSecret + "x", 201, "1767225601", kReplySignature, kReplyBody, kNonce, now).ok());
}

TEST(Signature, ResponseHeaderProblemsAreNamed) {
    const int64_t now = 1767225601;
    EXPECT_EQ(verify_response(kSecret, 201, "1767225601", "", kReplyBody, kNonce, now).error().message,
              "missing signature");
    EXPECT_EQ(verify_response(kSecret, 201, "", kReplySignature, kReplyBody, kNonce, now).error().message,
              "missing timestamp");
    EXPECT_EQ(verify_response(kSecret, 201, "-5", kReplySignature, kReplyBody, kNonce, now).error().message,
              "malformed timestamp");
    EXPECT_EQ(verify_response(kSecret, 201, "1767225601 ", kReplySignature, kReplyBody, kNonce, now).error().message,
              "malformed timestamp");
    // Upper-case hex, a missing "v1=" or a truncated value are not accepted.
    std::string upper = kReplySignature;
    for (char& c : upper) c = static_cast<char>(toupper(c));
    EXPECT_FALSE(verify_response(kSecret, 201, "1767225601", upper, kReplyBody, kNonce, now).ok());
    EXPECT_FALSE(verify_response(kSecret, 201, "1767225601", kReplySignature.substr(3), kReplyBody, kNonce, now).ok());
    EXPECT_FALSE(
        verify_response(kSecret, 201, "1767225601", kReplySignature.substr(0, 40), kReplyBody, kNonce, now).ok());
}

TEST(Signature, ResponseTimestampWithinSixtySeconds) {
    const int64_t ts = 1767225601;
    auto at = [&](int64_t now) {
        return verify_response(kSecret, 201, std::to_string(ts), kReplySignature, kReplyBody, kNonce, now);
    };
    EXPECT_TRUE(at(ts + 60).ok());
    EXPECT_TRUE(at(ts - 60).ok());
    auto late = at(ts + 61);
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(late.error().message, "timestamp 61 s from our clock (limit 60 s)");
    EXPECT_FALSE(at(ts - 61).ok());
}

TEST(Signature, SignedRequestHeadersAndFreshNonces) {
    std::set<std::string> nonces;
    for (int i = 0; i < 50; ++i) {
        auto r = sign_request(kSecret, "GET", "/x/challenges/abc", 1767225600, "");
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->nonce.size(), 32u);
        EXPECT_TRUE(is_lower_hex(r->nonce)) << r->nonce;
        nonces.insert(r->nonce);
        ASSERT_EQ(r->headers.size(), 3u);
        EXPECT_EQ(r->headers[0], "X-Elevate-Timestamp: 1767225600");
        EXPECT_EQ(r->headers[1], "X-Elevate-Nonce: " + r->nonce);
        EXPECT_EQ(r->headers[2], "X-Elevate-Signature: " + sign(kSecret, request_canonical("GET", "/x/challenges/abc",
                                                                                           1767225600, r->nonce, "")));
    }
    EXPECT_EQ(nonces.size(), 50u);
}

}  // namespace
}  // namespace elevate::push
