// base::escaped, the rule for untrusted text repeated in a message, and
// base::percent_encode.
#include "common/base/text.h"

#include <gtest/gtest.h>

using elevate::base::escaped;

TEST(Escaped, KeepsPrintableAscii) {
    EXPECT_EQ(escaped("alice db-admin ~!@#$%^&*()_+{}|:\"<>?`-=[];',./"),
              "alice db-admin ~!@#$%^&*()_+{}|:\"<>?`-=[];',./");
    EXPECT_EQ(escaped(""), "");
}

TEST(Escaped, EscapesEverythingElse) {
    EXPECT_EQ(escaped("a\nb"), "a\\x0ab");
    EXPECT_EQ(escaped(std::string_view("\0\x1b[2J\x7f", 6)), "\\x00\\x1b[2J\\x7f");
    EXPECT_EQ(escaped("\xc2\x9b"), "\\xc2\\x9b");           // C1 CSI in UTF-8
    EXPECT_EQ(escaped("\xe2\x80\xae"), "\\xe2\\x80\\xae");  // bidi override
    EXPECT_EQ(escaped("\xff"), "\\xff");
    // A backslash is escaped too, so "\x41" in the input cannot pass for an
    // escaped byte in the output.
    EXPECT_EQ(escaped("\\x41"), "\\x5cx41");
}

// RFC 3986 section 2.3: only the unreserved set stays; the rest is %XX,
// upper case (section 2.1), a space included.
TEST(PercentEncode, KeepsOnlyTheUnreservedSet) {
    using elevate::base::percent_encode;
    EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(percent_encode("alice@example.org:db admin"), "alice%40example.org%3Adb%20admin");
    EXPECT_EQ(percent_encode("a/b?c&d=e+f%"), "a%2Fb%3Fc%26d%3De%2Bf%25");
    EXPECT_EQ(percent_encode("j\xc3\xbcrgen"), "j%C3%BCrgen");
    EXPECT_EQ(percent_encode(std::string_view("\0\xff", 2)), "%00%FF");
    EXPECT_EQ(percent_encode(""), "");
}
