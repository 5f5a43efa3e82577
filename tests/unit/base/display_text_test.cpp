#include "common/base/display_text.h"

#include <gtest/gtest.h>

#include <clocale>
#include <cwchar>
#include <random>

using elevate::base::copy_display_text;
using elevate::base::display_text;

TEST(DisplayText, KeepsPrintableTextInAnyScript) {
    EXPECT_EQ(display_text("INC-4711 rotate the replica"), "INC-4711 rotate the replica");
    EXPECT_EQ(display_text("na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x91"),
              "na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x91");
    EXPECT_EQ(display_text("\xe2\x80\xaf"), "\xe2\x80\xaf");  // U+202F, next to the overrides, is a space
    EXPECT_EQ(display_text(""), "");
}

TEST(DisplayText, ReplacesC0AndDel) {
    EXPECT_EQ(display_text("a\x1b[2Jb"), "a?[2Jb");
    EXPECT_EQ(display_text("line\nbreak\r\x7f\t"), "line?break???");
    EXPECT_EQ(display_text(std::string_view("nul\0x", 5)), "nul?x");
}

TEST(DisplayText, ReplacesC1InBothForms) {
    EXPECT_EQ(display_text("c1\xc2\x9b"
                           "31m"),
              "c1?31m");  // U+009B CSI in UTF-8: one character, one '?'
    EXPECT_EQ(display_text("c1\xc2\x80\xc2\x9f"), "c1??");
    EXPECT_EQ(display_text("c1\x9b"
                           "31m"),
              "c1?31m");                              // the 8-bit CSI byte
    EXPECT_EQ(display_text("\xc2\xa0"), "\xc2\xa0");  // U+00A0, the first after C1, stays
}

TEST(DisplayText, ReplacesBidiOverridesAndIsolates) {
    for (const char* bidi : {"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae",
                             "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9"}) {
        EXPECT_EQ(display_text(std::string("x") + bidi + "y"), "x?y") << bidi;
    }
}

TEST(DisplayText, ReplacesEachByteOfInvalidUtf8) {
    EXPECT_EQ(display_text("\x80"), "?");                 // a lone continuation byte
    EXPECT_EQ(display_text("a\xe2\x82"), "a??");          // cut short at the end
    EXPECT_EQ(display_text("\xe2\x82z"), "??z");          // cut short before ASCII
    EXPECT_EQ(display_text("\xc0\xaf"), "??");            // overlong '/'
    EXPECT_EQ(display_text("\xe0\x80\xaf"), "???");       // overlong, three bytes
    EXPECT_EQ(display_text("\xed\xa0\x80"), "???");       // a UTF-16 surrogate
    EXPECT_EQ(display_text("\xf4\x90\x80\x80"), "????");  // above U+10FFFF
    EXPECT_EQ(display_text("\xff\xfe"), "??");
}

TEST(DisplayText, CutsAtACharacterBoundary) {
    char out[4];
    EXPECT_EQ(copy_display_text("a\xc3\xa9\xc3\xa9", out, sizeof out), 3u);
    EXPECT_STREQ(out, "a\xc3\xa9");
    EXPECT_EQ(copy_display_text("ab\xc3\xa9", out, sizeof out), 2u);  // the é would not fit whole
    EXPECT_STREQ(out, "ab");
    EXPECT_EQ(copy_display_text("abc", out, 1), 0u);
    EXPECT_STREQ(out, "");
    EXPECT_EQ(copy_display_text("abc", out, 0), 0u);
    EXPECT_EQ(display_text("\xe6\x97\xa5\xe6\x9c\xac", 4), "\xe6\x97\xa5");
    EXPECT_EQ(display_text("abcdef", 3), "abc");
}

namespace {
// glibc's own UTF-8 decoder (C.UTF-8), the independent judge: the bytes
// are valid UTF-8, and the characters they decode to.
bool glibc_decode(std::string_view s, std::u32string* out) {
    std::mbstate_t state{};
    out->clear();
    size_t i = 0;
    while (i < s.size()) {
        wchar_t wc;
        const size_t n = std::mbrtowc(&wc, s.data() + i, s.size() - i, &state);
        if (n == size_t(-1) || n == size_t(-2)) return false;
        out->push_back(char32_t(wc));
        i += n == 0 ? 1 : n;
    }
    return true;
}

// glibc decodes four-byte forms above U+10FFFF; RFC 3629 ends UTF-8 there.
bool forbidden(char32_t c) {
    return c > 0x10ffff || c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069);
}
}  // namespace

// Random inputs made of UTF-8 pieces and stray bytes: the output is always
// valid UTF-8 with no forbidden character (by glibc's reading), never
// longer than the input, and text that was already fine comes out the same.
TEST(DisplayText, AgreesWithGlibcsDecoderOnRandomInput) {
    ASSERT_NE(std::setlocale(LC_CTYPE, "C.UTF-8"), nullptr);
    const std::vector<std::string> pieces = {"a",
                                             " ",
                                             "~",
                                             "\x1b",
                                             "\n",
                                             "\x7f",
                                             "\xc2\x9b",
                                             "\xc2\xa0",
                                             "\xc3\xa9",
                                             "\x9b",
                                             "\x80",
                                             "\xe2\x80\xae",
                                             "\xe2\x81\xa8",
                                             "\xe2\x80\xaf",
                                             "\xe6\x97\xa5",
                                             "\xe2\x82",
                                             "\xf0\x9f\x94\x91",
                                             "\xf0\x9f",
                                             "\xc0\xaf",
                                             "\xed\xa0\x80",
                                             "\xf4\x90\x80\x80",
                                             "\xff",
                                             std::string(1, '\0')};
    std::mt19937 rng(4711);
    int unchanged = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string in;
        const int n = int(rng() % 12);
        for (int k = 0; k < n; ++k) in += pieces[rng() % pieces.size()];
        const std::string out = display_text(in);
        std::u32string chars;
        ASSERT_TRUE(glibc_decode(out, &chars)) << testing::PrintToString(in);
        for (char32_t c : chars) ASSERT_FALSE(forbidden(c)) << testing::PrintToString(in);
        ASSERT_LE(out.size(), in.size());
        std::u32string in_chars;
        bool fine = glibc_decode(in, &in_chars);
        for (char32_t c : in_chars) fine = fine && !forbidden(c);
        if (fine) {
            ASSERT_EQ(out, in);
            ++unchanged;
        }
    }
    EXPECT_GT(unchanged, 100);  // the check above was exercised
    std::setlocale(LC_CTYPE, "C");
}
