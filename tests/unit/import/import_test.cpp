// Secret importers: ~/.google_authenticator and pam_oath usersfiles.
#include "cli/import/import_secrets.h"
#include "daemon/auth/totp.h"

#include <gtest/gtest.h>

#include <string>

using elevate::base::SecureBuffer;
using elevate::cli::parse_google_authenticator;
using elevate::cli::parse_oath_usersfile;
using elevate::config::TotpAlgorithm;

namespace {

class Import : public ::testing::Test {
protected:
    static void SetUpTestSuite() { ASSERT_TRUE(elevate::auth::totp_init().ok()); }
};

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// base32("1234567890123456"): 128 bits, what google-authenticator writes today.
constexpr const char* kGaSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY";
constexpr const char* kGaPlain = "1234567890123456";

// ---- ~/.google_authenticator ----------------------------------------------

TEST_F(Import, GoogleAuthenticatorTypicalFile) {
    const std::string file = std::string(kGaSecret) +
                             "\n"
                             "\" RATE_LIMIT 3 30 1700000000 1700000010\n"
                             "\" WINDOW_SIZE 17\n"
                             "\" DISALLOW_REUSE 56666666 56666667\n"
                             "\" TOTP_AUTH\n"
                             "12345678\n"
                             "23456789\n"
                             "34567890\n"
                             "45678901\n"
                             "56789012\n";
    auto r = parse_google_authenticator(file);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->secret.view(), kGaPlain);
    EXPECT_EQ(r->digits, 6);
    EXPECT_EQ(r->period, 30);
    EXPECT_EQ(r->algorithm, TotpAlgorithm::Sha1);
    EXPECT_TRUE(contains(r->note, "WINDOW_SIZE 17")) << r->note;
    EXPECT_TRUE(contains(r->note, "RATE_LIMIT")) << r->note;
    EXPECT_TRUE(contains(r->note, "DISALLOW_REUSE")) << r->note;
    EXPECT_TRUE(contains(r->note, "5 scratch codes")) << r->note;
    // The note never repeats secrets: not the seed, not a scratch code.
    EXPECT_FALSE(contains(r->note, kGaSecret)) << r->note;
    EXPECT_FALSE(contains(r->note, "12345678")) << r->note;
}

TEST_F(Import, GoogleAuthenticatorImportedSecretWorks) {
    // The RFC 6238 seed, so the imported secret reproduces the RFC code.
    auto r = parse_google_authenticator("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    elevate::auth::TotpParams p;
    p.digits = r->digits;
    p.period = r->period;
    p.algorithm = r->algorithm;
    auto code = elevate::auth::totp_generate(r->secret, p, 59);
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(code.value(), "287082");
}

TEST_F(Import, GoogleAuthenticatorStepSize60) {
    auto r = parse_google_authenticator(std::string(kGaSecret) + "\n\" STEP_SIZE 60\n\" TOTP_AUTH\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->period, 60);
    EXPECT_EQ(r->note, "");
}

TEST_F(Import, GoogleAuthenticatorCrlfAndShortSecret) {
    // 80-bit secret (older google-authenticator default), Windows line ends.
    auto r = parse_google_authenticator("JBSWY3DPEHPK3PXP\r\n\" TOTP_AUTH\r\n\" STEP_SIZE 30\r\n11111111\r\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->secret.view(), std::string_view("Hello!\xDE\xAD\xBE\xEF", 10));
    EXPECT_TRUE(contains(r->note, "80 bits")) << r->note;
    EXPECT_TRUE(contains(r->note, "1 scratch code not imported")) << r->note;
}

TEST_F(Import, GoogleAuthenticatorHotpRefused) {
    auto r = parse_google_authenticator(std::string(kGaSecret) + "\n\" HOTP_COUNTER 1\n\" WINDOW_SIZE 3\n12345678\n");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().message, "HOTP")) << r.error().message;
    EXPECT_TRUE(contains(r.error().message, "line 2")) << r.error().message;
    EXPECT_TRUE(contains(r.error().message, "only time-based TOTP")) << r.error().message;
    // Even with TOTP_AUTH present, HOTP_COUNTER wins (as in pam_google_authenticator).
    EXPECT_FALSE(parse_google_authenticator(std::string(kGaSecret) + "\n\" TOTP_AUTH\n\" HOTP_COUNTER 4\n").ok());
}

TEST_F(Import, GoogleAuthenticatorWithoutTotpAuthRefused) {
    auto r = parse_google_authenticator(std::string(kGaSecret) + "\n\" RATE_LIMIT 3 30\n12345678\n");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().message, "TOTP_AUTH")) << r.error().message;
}

TEST_F(Import, GoogleAuthenticatorEmpty) {
    for (const char* text : {"", "\n", "  \n\n", "\r\n"}) {
        auto r = parse_google_authenticator(text);
        ASSERT_FALSE(r.ok());
        EXPECT_TRUE(contains(r.error().message, "empty")) << r.error().message;
    }
}

TEST_F(Import, GoogleAuthenticatorInvalidBase32) {
    auto r = parse_google_authenticator("GEZDGNBVGY3TQOJQ1EZDGNBVGY\n\" TOTP_AUTH\n");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(contains(r.error().message, "line 1")) << r.error().message;
    EXPECT_TRUE(contains(r.error().message, "base32")) << r.error().message;
    EXPECT_FALSE(contains(r.error().message, "GEZDGNBV")) << "no secret in errors: " << r.error().message;

    auto first_is_option = parse_google_authenticator("\" TOTP_AUTH\n");
    ASSERT_FALSE(first_is_option.ok());
    EXPECT_TRUE(contains(first_is_option.error().message, "line 1")) << first_is_option.error().message;

    auto too_short = parse_google_authenticator("MZXW6YTBOI\n\" TOTP_AUTH\n");  // 48 bits
    ASSERT_FALSE(too_short.ok());
    EXPECT_TRUE(contains(too_short.error().message, "48 bits")) << too_short.error().message;
}

TEST_F(Import, GoogleAuthenticatorMalformedLines) {
    const std::string s = std::string(kGaSecret) + "\n\" TOTP_AUTH\n";
    struct Case {
        std::string text;
        const char* expect;
    };
    const Case cases[] = {
        {s + "\" STEP_SIZE abc\n", "line 3: STEP_SIZE"},
        {s + "\" STEP_SIZE 0\n", "line 3: STEP_SIZE"},
        {s + "\" STEP_SIZE 61\n", "line 3: STEP_SIZE"},
        {s + "\" STEP_SIZE\n", "line 3: STEP_SIZE"},
        {s + "\" STEP_SIZE 30\n\" STEP_SIZE 60\n", "line 4: STEP_SIZE given twice"},
        {s + "12345678\nhello\n", "line 4:"},
        {s + "1234567\n", "line 3:"},  // scratch codes have 8 digits
        {s + "\"TOTP_AUTH\n", "line 3: malformed option"},
        {s + "\" totp_auth\n", "line 3: malformed option"},
        {s + "\" \n", "line 3: malformed option"},
        {s + "\" OTP_DISABLED\n", "line 3: OTP_DISABLED"},
    };
    for (const Case& c : cases) {
        auto r = parse_google_authenticator(c.text);
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_TRUE(contains(r.error().message, c.expect)) << r.error().message;
    }
}

TEST_F(Import, GoogleAuthenticatorUnknownOptionNoted) {
    auto r = parse_google_authenticator(std::string(kGaSecret) + "\n\" TOTP_AUTH\n\" NEW_THING 1\n\" TIME_SKEW 2\n");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(contains(r->note, "NEW_THING")) << r->note;
    EXPECT_TRUE(contains(r->note, "TIME_SKEW")) << r->note;
}

// ---- pam_oath usersfile ----------------------------------------------------

constexpr const char* kRfcHex = "3132333435363738393031323334353637383930";  // "12345678901234567890"

const std::string kUsersfile = std::string() +
                               "# /etc/users.oath\n"
                               "\n"
                               "HOTP/T30/6\talice\t-\t" +
                               kRfcHex +
                               "\n"
                               "HOTP/T30/8 bob 1234 " +
                               kRfcHex +
                               " 0 12345678 2024-01-01T00:00:00L\n"
                               "HOTP/T60   carol  -  " +
                               "3132333435363738393031323334353637383931" +
                               "\n"
                               "HOTP dave - " +
                               kRfcHex +
                               "\n"
                               "HOTP/E/8 erin - " +
                               kRfcHex +
                               " 42\n"
                               "   # indented comment\n"
                               "HOTP/T30/7 frank + 00112233445566778899AABBCCDDEEFF\n";

TEST_F(Import, UsersfileFindsUserAmongSeveral) {
    auto r = parse_oath_usersfile(kUsersfile, "alice");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->secret.view(), "12345678901234567890");
    EXPECT_EQ(r->digits, 6);
    EXPECT_EQ(r->period, 30);
    EXPECT_EQ(r->algorithm, TotpAlgorithm::Sha1);
    EXPECT_TRUE(contains(r->note, "line 3")) << r->note;
    EXPECT_FALSE(contains(r->note, "PIN")) << r->note;

    elevate::auth::TotpParams p;
    p.digits = r->digits;
    p.period = r->period;
    auto code = elevate::auth::totp_generate(r->secret, p, 59);
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(code.value(), "287082");

    auto frank = parse_oath_usersfile(kUsersfile, "frank");
    ASSERT_TRUE(frank.ok()) << frank.error().message;
    EXPECT_EQ(frank->digits, 7);
    EXPECT_EQ(frank->secret.size(), 16u);
    EXPECT_EQ(static_cast<unsigned char>(frank->secret.view()[15]), 0xFF);  // upper-case hex
}

TEST_F(Import, UsersfileEightDigitsAndPinNoted) {
    auto r = parse_oath_usersfile(kUsersfile, "bob");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->digits, 8);
    EXPECT_EQ(r->period, 30);
    EXPECT_TRUE(contains(r->note, "PIN")) << r->note;
    EXPECT_FALSE(contains(r->note, "1234 ")) << "the PIN itself is not repeated: " << r->note;
}

TEST_F(Import, UsersfilePeriod60) {
    auto r = parse_oath_usersfile(kUsersfile, "carol");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->period, 60);
    EXPECT_EQ(r->digits, 6);
    EXPECT_EQ(r->secret.view(), "12345678901234567891");
}

TEST_F(Import, UsersfileEventHotpRefused) {
    for (const char* user : {"dave", "erin"}) {
        auto r = parse_oath_usersfile(kUsersfile, user);
        ASSERT_FALSE(r.ok()) << user;
        EXPECT_TRUE(contains(r.error().message, "event-based")) << r.error().message;
        EXPECT_TRUE(contains(r.error().message, "HOTP/T")) << r.error().message;
    }
    auto dave = parse_oath_usersfile(kUsersfile, "dave");
    EXPECT_TRUE(contains(dave.error().message, "line 6")) << dave.error().message;
}

TEST_F(Import, UsersfileUserNotPresent) {
    for (const char* user : {"zoe", "ali", "alice2", "ALICE", "-"}) {
        auto r = parse_oath_usersfile(kUsersfile, user);
        ASSERT_FALSE(r.ok()) << user;
        EXPECT_TRUE(contains(r.error().message, "no line")) << r.error().message;
    }
    EXPECT_FALSE(parse_oath_usersfile(kUsersfile, "").ok());
    auto empty = parse_oath_usersfile("", "alice");
    ASSERT_FALSE(empty.ok());
    EXPECT_TRUE(contains(empty.error().message, "empty")) << empty.error().message;
    EXPECT_FALSE(parse_oath_usersfile("# only a comment\n", "alice").ok());
}

TEST_F(Import, UsersfileMalformedHex) {
    struct Case {
        const char* text;
        const char* expect;
    };
    const Case cases[] = {
        {"HOTP/T30 alice - 3132333435363738393031323334353637383930Z\n", "line 1: SECRET_HEX has an odd"},
        {"# c\nHOTP/T30 alice - 31323334353637383930313233343536373839zz\n", "line 2: SECRET_HEX is not hex"},
        {"HOTP/T30 alice - 0x3132333435363738393031323334353637383930\n", "line 1: SECRET_HEX is not hex"},
        {"HOTP/T30 alice - 31323334\n", "line 1: the secret is only 32 bits"},
    };
    for (const Case& c : cases) {
        auto r = parse_oath_usersfile(c.text, "alice");
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_TRUE(contains(r.error().message, c.expect)) << r.error().message;
    }
}

TEST_F(Import, UsersfileMalformedLineNumberReported) {
    struct Case {
        std::string text;
        const char* expect;
    };
    const std::string good = std::string("HOTP/T30 alice - ") + kRfcHex + "\n";
    const Case cases[] = {
        // A broken line anywhere is reported, even if it is not the user's.
        {good + "# comment\nHOTP/T30 bob\n", "line 3: expected TYPE USER PIN SECRET_HEX"},
        {"\n\nHOTP/T30 alice -\n", "line 3: expected TYPE USER PIN SECRET_HEX"},
        {good + "HOTP/T30 bob - " + kRfcHex + " 0 1 2 extra\n", "line 2: too many fields"},
        {"TOTP/T30 alice - " + std::string(kRfcHex) + "\n", "line 1: unknown token type"},
        {"HOTP/T30/9 alice - " + std::string(kRfcHex) + "\n", "line 1: token type HOTP/T<period>/<digits>: digits"},
        {"HOTP/T30/ alice - " + std::string(kRfcHex) + "\n", "line 1: token type HOTP/T<period>/<digits>: digits"},
        {"HOTP/T alice - " + std::string(kRfcHex) + "\n", "line 1: token type HOTP/T<period>: the period"},
        {"HOTP/T0 alice - " + std::string(kRfcHex) + "\n", "line 1: token type HOTP/T<period>: the period"},
        {"HOTP/Tx/6 alice - " + std::string(kRfcHex) + "\n", "line 1: token type HOTP/T<period>: the period"},
        {"HOTP/T30 alice - " + std::string(kRfcHex) + " notanumber\n", "line 1: COUNTER"},
    };
    for (const Case& c : cases) {
        auto r = parse_oath_usersfile(c.text, "alice");
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_TRUE(contains(r.error().message, c.expect)) << r.error().message;
    }
}

TEST_F(Import, UsersfileFirstLineWinsAndCrlf) {
    const std::string text =
        std::string("HOTP/T30/6 alice - ") + kRfcHex + "\r\nHOTP/T60/8 alice - " + kRfcHex + "\r\n";
    auto r = parse_oath_usersfile(text, "alice");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->period, 30);
    EXPECT_EQ(r->digits, 6);
    EXPECT_EQ(r->secret.size(), 20u);
    EXPECT_TRUE(contains(r->note, "1 later line for this user ignored")) << r->note;
}

}  // namespace

// ---- errors never repeat the file ------------------------------------------

// elevatectl runs as root on files users control: an error must not reveal
// what the file holds, neither bytes nor where the first bad one sits. No
// 3-byte run of `planted` (the part of the file that is wrong) may appear.
void expect_no_content(const std::string& message, const std::string& planted) {
    for (size_t i = 0; i + 3 <= planted.size(); ++i) {
        const std::string run = planted.substr(i, 3);
        EXPECT_FALSE(contains(message, run)) << "'" << run << "' of the file in: " << message;
    }
}

TEST_F(Import, GoogleAuthenticatorErrorsRepeatNoContent) {
    // What root would read through a planted path: /etc/passwd, /etc/shadow.
    const std::string lines[] = {
        "root:x:0:0:root:/root:/bin/sh",
        "ro0t:x:0:0:root:/root:/bin/sh",
        "ROOTAAAA:$y$j9T$abcdefghijkl:19000:0:99999:7:::",
        "GEZDGNBVGY3TQOJQ1EZDGNBVGY",
        "GEZDGNBVGY3TQOJQGEZDGNBVG",  // impossible length
    };
    for (const std::string& line : lines) {
        auto r = parse_google_authenticator(line + "\n\" TOTP_AUTH\n");
        ASSERT_FALSE(r.ok()) << line;
        expect_no_content(r.error().message, line);
        // Where the first bad character is, or how long the line is, is
        // content too: one message for every unreadable first line.
        EXPECT_EQ(r.error().message, "line 1 is not a valid base32 secret");
    }
}

TEST_F(Import, UsersfileErrorsRepeatNoContent) {
    const std::string hex = kRfcHex;
    struct Case {
        std::string line;
        std::string planted;
    };
    const Case cases[] = {
        {"xq7Zv!k root - " + hex, "xq7Zv!k"},
        {"HOTP/E/xq7Zv root - " + hex, "/xq7Zv"},
        {"HOTP/T30/xq7Z root - " + hex, "/xq7Z"},
        {"HOTP/Txq7Zv root - " + hex, "Txq7Zv"},
        {"HOTP/T30 root - " + hex + " xq7Zv", "xq7Zv"},
        {"HOTP/T30 root - " + hex.substr(0, 10) + "zq" + hex.substr(12), "zq"},
    };
    for (const Case& c : cases) {
        auto r = parse_oath_usersfile(c.line + "\n", "root");
        ASSERT_FALSE(r.ok()) << c.line;
        expect_no_content(r.error().message, c.planted);
    }
    // A bad hex digit early or late in the secret: the same message.
    auto early = parse_oath_usersfile("HOTP/T30 root - zz" + hex.substr(2) + "\n", "root");
    auto late = parse_oath_usersfile("HOTP/T30 root - " + hex.substr(0, 38) + "zz\n", "root");
    ASSERT_FALSE(early.ok());
    ASSERT_FALSE(late.ok());
    EXPECT_EQ(early.error().message, late.error().message);
}
