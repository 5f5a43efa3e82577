#include "common/base/names.h"

#include <gtest/gtest.h>

#include <string>

using elevate::base::valid_account_name;
using elevate::base::valid_role_name;

TEST(AccountName, OneTo255BytesOfAnythingAnAccountCanHave) {
    EXPECT_TRUE(valid_account_name("alice"));
    EXPECT_TRUE(valid_account_name("DOMAIN\\alice.o'brien@example.org"));
    EXPECT_TRUE(valid_account_name("j\xc3\xbcrgen"));
    EXPECT_TRUE(valid_account_name(std::string(255, 'a')));
    EXPECT_FALSE(valid_account_name(std::string(256, 'a')));
    EXPECT_FALSE(valid_account_name(""));
    for (const char* bad : {"a b", "a:b", "a,b", "a\tb", "a\nb", "a\x7f", "\x1b[2J"})
        EXPECT_FALSE(valid_account_name(bad)) << bad;
    EXPECT_EQ(ELEVATE_MAX_ACCOUNT_NAME, 255u);
}

TEST(RoleName, LowercaseLettersDigitsUnderscoreDashFromALetter) {
    EXPECT_TRUE(valid_role_name("db-admin"));
    EXPECT_TRUE(valid_role_name("a"));
    EXPECT_TRUE(valid_role_name("r2_d2-x"));
    EXPECT_TRUE(valid_role_name(std::string(32, 'r')));
    EXPECT_FALSE(valid_role_name(std::string(33, 'r')));
    EXPECT_TRUE(valid_role_name(std::string(64, 'r'), 64));  // policy names: the same charset, longer
    for (const char* bad : {"", "DB", "1db", "-db", "_db", "db admin", "db.admin", "db:admin"})
        EXPECT_FALSE(valid_role_name(bad)) << bad;
}
