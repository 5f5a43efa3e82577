// TOTP on liboath: RFC 6238 vectors, exact window tables at explicit times,
// a cross-check against oathtool (an independent program), base32 and the
// otpauth URI.
#include "daemon/auth/totp.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

using elevate::auth::base32_decode;
using elevate::auth::base32_encode;
using elevate::auth::otpauth_uri;
using elevate::auth::totp_generate;
using elevate::auth::totp_match;
using elevate::auth::totp_new_secret;
using elevate::auth::TotpParams;
using elevate::base::SecureBuffer;
using elevate::config::TotpAlgorithm;

namespace {

class Totp : public ::testing::Test {
protected:
    static void SetUpTestSuite() { ASSERT_TRUE(elevate::auth::totp_init().ok()); }
};

// RFC 6238 Appendix B seeds: the ASCII digits repeated to the hash size.
SecureBuffer rfc_seed(TotpAlgorithm a) {
    switch (a) {
        case TotpAlgorithm::Sha1:
            return SecureBuffer("12345678901234567890");
        case TotpAlgorithm::Sha256:
            return SecureBuffer("12345678901234567890123456789012");
        case TotpAlgorithm::Sha512:
            return SecureBuffer("1234567890123456789012345678901234567890123456789012345678901234");
    }
    return {};
}

TotpParams params(TotpAlgorithm a, int digits = 8, int64_t period = 30) {
    TotpParams p;
    p.algorithm = a;
    p.digits = digits;
    p.period = period;
    return p;
}

std::string code_at(const SecureBuffer& s, const TotpParams& p, int64_t t) {
    auto r = totp_generate(s, p, t);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : std::string();
}

const char* alg_name(TotpAlgorithm a) {
    switch (a) {
        case TotpAlgorithm::Sha1:
            return "SHA1";
        case TotpAlgorithm::Sha256:
            return "SHA256";
        case TotpAlgorithm::Sha512:
            return "SHA512";
    }
    return "?";
}

// ---- RFC 6238 Appendix B ----------------------------------------------

struct RfcVector {
    int64_t time;
    TotpAlgorithm algorithm;
    const char* code;
};

constexpr RfcVector kRfc6238[] = {
    {59, TotpAlgorithm::Sha1, "94287082"},
    {59, TotpAlgorithm::Sha256, "46119246"},
    {59, TotpAlgorithm::Sha512, "90693936"},
    {1111111109, TotpAlgorithm::Sha1, "07081804"},
    {1111111109, TotpAlgorithm::Sha256, "68084774"},
    {1111111109, TotpAlgorithm::Sha512, "25091201"},
    {1111111111, TotpAlgorithm::Sha1, "14050471"},
    {1111111111, TotpAlgorithm::Sha256, "67062674"},
    {1111111111, TotpAlgorithm::Sha512, "99943326"},
    {1234567890, TotpAlgorithm::Sha1, "89005924"},
    {1234567890, TotpAlgorithm::Sha256, "91819424"},
    {1234567890, TotpAlgorithm::Sha512, "93441116"},
    {2000000000, TotpAlgorithm::Sha1, "69279037"},
    {2000000000, TotpAlgorithm::Sha256, "90698825"},
    {2000000000, TotpAlgorithm::Sha512, "38618901"},
    {20000000000, TotpAlgorithm::Sha1, "65353130"},
    {20000000000, TotpAlgorithm::Sha256, "77737706"},
    {20000000000, TotpAlgorithm::Sha512, "47863826"},
};

TEST_F(Totp, Rfc6238AppendixB) {
    for (const RfcVector& v : kRfc6238) {
        const SecureBuffer seed = rfc_seed(v.algorithm);
        const TotpParams p = params(v.algorithm);
        EXPECT_EQ(code_at(seed, p, v.time), v.code) << alg_name(v.algorithm) << " at " << v.time;
        // And the same code is matched, at the step that contains `time`.
        EXPECT_EQ(totp_match(seed, p, v.code, v.time, 0), v.time / 30) << alg_name(v.algorithm) << " at " << v.time;
    }
}

TEST_F(Totp, FewerDigitsAreTheLowDigits) {
    // HOTP truncation is "mod 10^digits", so 6 and 7 digits are suffixes of 8.
    const SecureBuffer seed = rfc_seed(TotpAlgorithm::Sha1);
    EXPECT_EQ(code_at(seed, params(TotpAlgorithm::Sha1, 6), 59), "287082");
    EXPECT_EQ(code_at(seed, params(TotpAlgorithm::Sha1, 7), 59), "4287082");
    EXPECT_EQ(code_at(seed, params(TotpAlgorithm::Sha1, 6), 1111111109), "081804");  // leading zero kept
    EXPECT_EQ(code_at(seed, params(TotpAlgorithm::Sha1, 7), 1111111109), "7081804");
}

TEST_F(Totp, GenerateRejectsBadParameters) {
    const SecureBuffer seed = rfc_seed(TotpAlgorithm::Sha1);
    EXPECT_FALSE(totp_generate(seed, params(TotpAlgorithm::Sha1, 5), 59).ok());
    EXPECT_FALSE(totp_generate(seed, params(TotpAlgorithm::Sha1, 9), 59).ok());
    EXPECT_FALSE(totp_generate(seed, params(TotpAlgorithm::Sha1, 6, 0), 59).ok());
    EXPECT_FALSE(totp_generate(seed, params(TotpAlgorithm::Sha1, 6, -30), 59).ok());
    EXPECT_FALSE(totp_generate(SecureBuffer(), params(TotpAlgorithm::Sha1), 59).ok());
    EXPECT_FALSE(totp_generate(seed, params(TotpAlgorithm::Sha1), -1).ok());
    auto r = totp_generate(seed, params(TotpAlgorithm::Sha1, 9), 59);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("digits"), std::string::npos) << r.error().message;
}

// ---- totp_match windows ---------------------------------------------------

// The code shown at 1111111109 (SHA1, 8 digits) belongs to step 37037036,
// which covers 1111111080 .. 1111111109.
constexpr int64_t kStep = 37037036;
constexpr const char* kCode = "07081804";

struct WindowRow {
    int drift;
    int64_t now;
    std::optional<int64_t> expect;  // matched step, or nullopt
};

const WindowRow kWindow[] = {
    // drift 0: only the step itself
    {0, 1111111080, kStep},
    {0, 1111111109, kStep},
    {0, 1111111079, std::nullopt},
    {0, 1111111110, std::nullopt},
    // drift 1: one step either side
    {1, 1111111050, kStep},  // now in step-1, first second
    {1, 1111111079, kStep},
    {1, 1111111095, kStep},
    {1, 1111111110, kStep},         // now in step+1
    {1, 1111111139, kStep},         // step+1, last second
    {1, 1111111049, std::nullopt},  // step-2
    {1, 1111111140, std::nullopt},  // step+2
    // drift 2
    {2, 1111111020, kStep},
    {2, 1111111169, kStep},
    {2, 1111111019, std::nullopt},
    {2, 1111111170, std::nullopt},
    // drift 10 (the maximum)
    {10, 1111111080 - 300, kStep},
    {10, 1111111109 + 300, kStep},
    {10, 1111111080 - 301, std::nullopt},
    {10, 1111111109 + 301, std::nullopt},
};

TEST_F(Totp, MatchWindowTable) {
    const SecureBuffer seed = rfc_seed(TotpAlgorithm::Sha1);
    const TotpParams p = params(TotpAlgorithm::Sha1);
    for (const WindowRow& row : kWindow)
        EXPECT_EQ(totp_match(seed, p, kCode, row.now, row.drift), row.expect)
            << "drift " << row.drift << " now " << row.now;
}

TEST_F(Totp, MatchWindowEveryOffsetAndDigits) {
    // For each digits/algorithm/drift: the code of step s is accepted at every
    // second of steps s-drift .. s+drift and at none of the two steps outside.
    for (const TotpAlgorithm a : {TotpAlgorithm::Sha1, TotpAlgorithm::Sha256, TotpAlgorithm::Sha512}) {
        const SecureBuffer seed = rfc_seed(a);
        for (const int digits : {6, 7, 8}) {
            const TotpParams p = params(a, digits);
            const int64_t s = 1234567890 / 30;
            const std::string code = code_at(seed, p, s * 30 + 7);
            for (const int drift : {0, 1, 3}) {
                for (int off = -drift - 2; off <= drift + 2; ++off) {
                    for (const int64_t within : {int64_t{0}, int64_t{13}, int64_t{29}}) {
                        const int64_t now = (s + off) * 30 + within;
                        const auto m = totp_match(seed, p, code, now, drift);
                        if (off >= -drift && off <= drift)
                            EXPECT_EQ(m, s) << alg_name(a) << " d" << digits << " drift " << drift << " off " << off;
                        else
                            EXPECT_EQ(m, std::nullopt)
                                << alg_name(a) << " d" << digits << " drift " << drift << " off " << off;
                    }
                }
            }
        }
    }
}

TEST_F(Totp, MatchReturnsTheMatchedStepNotNow) {
    const SecureBuffer seed = rfc_seed(TotpAlgorithm::Sha1);
    const TotpParams p = params(TotpAlgorithm::Sha1);
    const int64_t now = 2000000000;
    const int64_t cur = now / 30;
    for (const int off : {-2, -1, 0, 1, 2}) {
        const std::string code = code_at(seed, p, (cur + off) * 30);
        EXPECT_EQ(totp_match(seed, p, code, now, 2), cur + off) << off;
    }
}

TEST_F(Totp, MatchPeriod60) {
    const SecureBuffer seed = rfc_seed(TotpAlgorithm::Sha1);
    const TotpParams p = params(TotpAlgorithm::Sha1, 6, 60);
    const std::string code = code_at(seed, p, 1111111109);  // step 18518518: 1111111080..1111111139
    EXPECT_EQ(totp_match(seed, p, code, 1111111139, 0), 18518518);
    EXPECT_EQ(totp_match(seed, p, code, 1111111140, 0), std::nullopt);
    EXPECT_EQ(totp_match(seed, p, code, 1111111199, 1), 18518518);
    EXPECT_EQ(totp_match(seed, p, code, 1111111200, 1), std::nullopt);
}

TEST_F(Totp, MatchRejectsMalformedCodes) {
    const SecureBuffer seed = rfc_seed(TotpAlgorithm::Sha1);
    const TotpParams p8 = params(TotpAlgorithm::Sha1, 8);
    const int64_t now = 1111111109;
    ASSERT_EQ(totp_match(seed, p8, "07081804", now, 1), kStep);
    for (const char* bad : {"", "0708180", "070818040", "7081804", " 7081804", "07081804 ", "0708180a", "-7081804",
                            "+7081804", "0708 804", "07081804\n", "O7081804"})
        EXPECT_EQ(totp_match(seed, p8, bad, now, 1), std::nullopt) << '"' << bad << '"';
    // An embedded NUL is not a digit either.
    EXPECT_EQ(totp_match(seed, p8, std::string_view("0708\0804", 8), now, 1), std::nullopt);
    // The right digits for the wrong length setting.
    EXPECT_EQ(totp_match(seed, params(TotpAlgorithm::Sha1, 6), "07081804", now, 1), std::nullopt);
    EXPECT_EQ(totp_match(seed, params(TotpAlgorithm::Sha1, 6), "081804", now, 1), kStep);
    EXPECT_EQ(totp_match(seed, params(TotpAlgorithm::Sha1, 7), "7081804", now, 1), kStep);
}

TEST_F(Totp, MatchRejectsBadDriftAndParams) {
    const SecureBuffer seed = rfc_seed(TotpAlgorithm::Sha1);
    const TotpParams p = params(TotpAlgorithm::Sha1);
    EXPECT_EQ(totp_match(seed, p, kCode, 1111111109, -1), std::nullopt);
    EXPECT_EQ(totp_match(seed, p, kCode, 1111111109, elevate::auth::kMaxDriftSteps + 1), std::nullopt);
    EXPECT_EQ(totp_match(seed, p, kCode, -5, 1), std::nullopt);
    EXPECT_EQ(totp_match(SecureBuffer(), p, kCode, 1111111109, 1), std::nullopt);
    EXPECT_EQ(totp_match(seed, params(TotpAlgorithm::Sha1, 8, 0), kCode, 1111111109, 1), std::nullopt);
    // Wrong secret, wrong algorithm.
    EXPECT_EQ(totp_match(SecureBuffer("12345678901234567891"), p, kCode, 1111111109, 1), std::nullopt);
    EXPECT_EQ(totp_match(seed, params(TotpAlgorithm::Sha256), kCode, 1111111109, 1), std::nullopt);
}

TEST_F(Totp, MatchNearTheEpoch) {
    // Steps before 0 are skipped, not wrapped.
    const SecureBuffer seed = rfc_seed(TotpAlgorithm::Sha1);
    const TotpParams p = params(TotpAlgorithm::Sha1);
    EXPECT_EQ(totp_match(seed, p, code_at(seed, p, 0), 0, 2), 0);
    EXPECT_EQ(totp_match(seed, p, "94287082", 0, 1), 1);  // RFC code at 59 is step 1
}

// ---- cross-check with oathtool -------------------------------------------

std::optional<std::string> run_oathtool(const std::string& args) {
    const std::string cmd = "/usr/bin/oathtool " + args + " 2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
    if (!pipe) return std::nullopt;
    std::string out;
    char buf[128];
    while (std::fgets(buf, sizeof buf, pipe.get()) != nullptr) out += buf;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

std::string to_hex(const SecureBuffer& s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (const char c : s.view()) {
        out.push_back(kHex[(static_cast<unsigned char>(c) >> 4) & 0xf]);
        out.push_back(kHex[static_cast<unsigned char>(c) & 0xf]);
    }
    return out;
}

TEST_F(Totp, AgreesWithOathtool) {
    ASSERT_EQ(::access("/usr/bin/oathtool", X_OK), 0) << "oathtool is required (scripts/install-deps.sh installs it)";
    int checked = 0;
    for (const TotpAlgorithm a : {TotpAlgorithm::Sha1, TotpAlgorithm::Sha256, TotpAlgorithm::Sha512}) {
        for (int round = 0; round < 3; ++round) {
            const SecureBuffer seed = totp_new_secret(a);
            ASSERT_FALSE(seed.empty());
            const int digits = 6 + round;  // 6, 7, 8
            const int64_t period = round == 1 ? 60 : 30;
            uint32_t r = 0;
            ASSERT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r), 1);
            const int64_t t = 1000000000 + static_cast<int64_t>(r % 1000000000u);
            const TotpParams p = params(a, digits, period);
            const std::string mine = code_at(seed, p, t);
            const std::string common = std::string("--totp=") + alg_name(a) + " -d " + std::to_string(digits) + " -s " +
                                       std::to_string(period) + "s -N @" + std::to_string(t) + " ";
            // Hex seed: checks the TOTP computation on its own.
            EXPECT_EQ(run_oathtool(common + to_hex(seed)), mine) << alg_name(a) << " t=" << t;
            // Base32 seed: also checks our encoder against oathtool's decoder.
            EXPECT_EQ(run_oathtool(common + "-b " + base32_encode(seed)), mine) << alg_name(a) << " t=" << t;
            EXPECT_EQ(totp_match(seed, p, mine, t, 0), t / period);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 9);
}

// ---- new secrets ----------------------------------------------------------

TEST_F(Totp, NewSecretLengthsAndRandomness) {
    EXPECT_EQ(totp_new_secret(TotpAlgorithm::Sha1).size(), 20u);
    EXPECT_EQ(totp_new_secret(TotpAlgorithm::Sha256).size(), 32u);
    EXPECT_EQ(totp_new_secret(TotpAlgorithm::Sha512).size(), 64u);
    const SecureBuffer a = totp_new_secret(TotpAlgorithm::Sha1);
    const SecureBuffer b = totp_new_secret(TotpAlgorithm::Sha1);
    EXPECT_FALSE(a.equals(b.view()));
    EXPECT_NE(a.view(), std::string(20, '\0'));
}

// ---- base32 ---------------------------------------------------------------

TEST_F(Totp, Base32Rfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {
        {"f", "MY"},         {"fo", "MZXQ"},        {"foo", "MZXW6"},
        {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"},
    };
    EXPECT_EQ(base32_encode(SecureBuffer()), "");
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base32_encode(SecureBuffer(plain)), encoded) << plain;
        auto d = base32_decode(encoded);
        ASSERT_TRUE(d.ok()) << encoded << ": " << d.error().message;
        EXPECT_EQ(d->view(), plain);
    }
}

TEST_F(Totp, Base32DecodeIsLenient) {
    for (const char* text : {"MZXW6YTBOI", "mzxw6ytboi", "MzXw6YtBoI", "MZXW 6YTB OI", "  mzxw6ytboi  ",
                             "MZXW6YTBOI======", "MZXW6YTBOI=", "mzxw 6ytb oi== ==", "MZXW6YTBOI = ="}) {
        auto d = base32_decode(text);
        ASSERT_TRUE(d.ok()) << '"' << text << "\": " << d.error().message;
        EXPECT_EQ(d->view(), "foobar") << text;
    }
    // The RFC 6238 seed, as authenticator apps display it.
    auto d = base32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->view(), "12345678901234567890");
}

TEST_F(Totp, Base32DecodeRejects) {
    for (const char* text : {"", "   ", "====", "MZXW6YTB0I", "MZXW6YTB1I", "MZXW6YTB8I", "MZXW6YTB!I", "MZXW-6YTB-OI",
                             "MZXW\t6YTBOI", "MZ=XW6YTBOI", "MZXW6YTBOI=A", "M", "MZX", "MZXW6Y", "MZXW6YTBO"}) {
        auto d = base32_decode(text);
        EXPECT_FALSE(d.ok()) << '"' << text << '"';
        if (!d.ok()) {
            EXPECT_NE(d.error().message.find("base32"), std::string::npos) << d.error().message;
        }
    }
    EXPECT_FALSE(base32_decode(std::string_view("MZXW\0YTBOI", 10)).ok());
}

TEST_F(Totp, Base32RoundTrip) {
    for (size_t n = 1; n <= 64; ++n) {
        std::string bytes(n, '\0');
        ASSERT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)), 1);
        const SecureBuffer s(bytes);
        const std::string enc = base32_encode(s);
        EXPECT_EQ(enc.find('='), std::string::npos) << "no padding";
        auto d = base32_decode(enc);
        ASSERT_TRUE(d.ok()) << n << ": " << d.error().message;
        EXPECT_TRUE(d->equals(bytes)) << n;
    }
}

// ---- otpauth URI ----------------------------------------------------------

TEST_F(Totp, OtpauthUri) {
    const SecureBuffer seed("foobar");
    EXPECT_EQ(otpauth_uri("elevate", "alice", seed, params(TotpAlgorithm::Sha1, 6, 30)),
              "otpauth://totp/elevate:alice?secret=MZXW6YTBOI&issuer=elevate&algorithm=SHA1&digits=6&period=30");
    EXPECT_EQ(otpauth_uri("elevate", "bob", seed, params(TotpAlgorithm::Sha256, 8, 60)),
              "otpauth://totp/elevate:bob?secret=MZXW6YTBOI&issuer=elevate&algorithm=SHA256&digits=8&period=60");
    EXPECT_EQ(otpauth_uri("elevate", "bob", seed, params(TotpAlgorithm::Sha512, 7, 30)),
              "otpauth://totp/elevate:bob?secret=MZXW6YTBOI&issuer=elevate&algorithm=SHA512&digits=7&period=30");
}

TEST_F(Totp, OtpauthUriPercentEncodes) {
    const SecureBuffer seed("foobar");
    EXPECT_EQ(otpauth_uri("ACME Corp/Prod", "bob@example.com:x?y&z=1%", seed, params(TotpAlgorithm::Sha1, 6, 30)),
              "otpauth://totp/ACME%20Corp%2FProd:bob%40example.com%3Ax%3Fy%26z%3D1%25"
              "?secret=MZXW6YTBOI&issuer=ACME%20Corp%2FProd&algorithm=SHA1&digits=6&period=30");
    // UTF-8 bytes and the unreserved set.
    EXPECT_EQ(otpauth_uri("h\xC3\xA9te", "a-b.c_d~e", seed, params(TotpAlgorithm::Sha1, 6, 30)),
              "otpauth://totp/h%C3%A9te:a-b.c_d~e?secret=MZXW6YTBOI&issuer=h%C3%A9te&algorithm=SHA1&digits=6"
              "&period=30");
}

TEST_F(Totp, OtpauthUriWithoutIssuer) {
    EXPECT_EQ(otpauth_uri("", "alice", SecureBuffer("foobar"), params(TotpAlgorithm::Sha1, 6, 30)),
              "otpauth://totp/alice?secret=MZXW6YTBOI&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
