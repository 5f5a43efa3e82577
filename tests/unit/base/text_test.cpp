// base::escaped, the rule for untrusted text repeated in a message.
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
