#include "common/base/parse.h"

#include <gtest/gtest.h>

using namespace elevate::base;

TEST(ParseU64, AcceptsPlainDecimal) {
    EXPECT_EQ(parse_u64("0"), 0u);
    EXPECT_EQ(parse_u64("42"), 42u);
    EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX);
}

TEST(ParseU64, RejectsMalformed) {
    for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1a", "0x10", "18446744073709551616", "1.5"})
        EXPECT_FALSE(parse_u64(bad)) << bad;
}

TEST(ParseU64, Bounds) {
    EXPECT_EQ(parse_u64_in("6", 6, 8), 6u);
    EXPECT_FALSE(parse_u64_in("9", 6, 8));
    EXPECT_FALSE(parse_u64_in("5", 6, 8));
}

TEST(ParseDuration, Units) {
    EXPECT_EQ(parse_duration("45m"), 45 * 60);
    EXPECT_EQ(parse_duration("2h"), 7200);
    EXPECT_EQ(parse_duration("1h30m"), 5400);
    EXPECT_EQ(parse_duration("90s"), 90);
    EXPECT_EQ(parse_duration("90"), 90);
    EXPECT_EQ(parse_duration("1d"), 86400);
    EXPECT_EQ(parse_duration("1w"), 7 * 86400);
    EXPECT_EQ(parse_duration("1d2h3m4s"), 86400 + 7200 + 180 + 4);
}

TEST(ParseDuration, RejectsNonsense) {
    for (const char* bad : {"", "0", "0m", "m", "45", "45x", "-5m", "1.5h", "30m1h", "1m1m", "h1", "1h ", " 1h",
                            "99999999999h", "100000000000000000000s", "4000d"}) {
        if (std::string_view(bad) == "45") continue;  // bare seconds are allowed
        EXPECT_FALSE(parse_duration(bad)) << bad;
    }
}

TEST(FormatDuration, RoundTrips) {
    for (int64_t s : {1, 59, 60, 2700, 5400, 86400, 90061}) {
        auto text = format_duration(s);
        EXPECT_EQ(parse_duration(text), s) << text;
    }
    EXPECT_EQ(format_duration(2700), "45m");
    EXPECT_EQ(format_duration(5400), "1h30m");
}
