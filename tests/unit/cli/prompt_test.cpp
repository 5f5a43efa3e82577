// The non-terminal path of the code prompt: one line from a pipe.
#include "cli/prompt.h"

#include "common/base/unique_fd.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace elevate::cli {
namespace {

// A pipe whose read end holds `input`, then end of file.
base::UniqueFd pipe_with(const std::string& input) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    base::UniqueFd rd(fds[0]), wr(fds[1]);
    EXPECT_EQ(write(wr.get(), input.data(), input.size()), static_cast<ssize_t>(input.size()));
    return rd;
}

TEST(PromptTest, ReadsOneLine) {
    const struct {
        std::string input;
        std::string code;
    } cases[] = {
        {"123456\n", "123456"},
        {"123456\r\n", "123456"},
        {"123456", "123456"},
        {"123456\nrest\n", "123456"},
    };
    for (const auto& c : cases) {
        auto fd = pipe_with(c.input);
        auto r = read_secret_line(fd.get());
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(r->equals(c.code));
    }
}

TEST(PromptTest, RejectsEmptyAndOverlongInput) {
    for (const std::string& input : {std::string(), std::string("\n"), std::string("\r\n")}) {
        auto fd = pipe_with(input);
        auto r = read_secret_line(fd.get());
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message, "no verification code given");
    }
    auto fd = pipe_with(std::string(kMaxSecretLine + 1, '7') + "\nnext\n");
    auto r = read_secret_line(fd.get());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "verification code is too long");
    // The whole over-long line was consumed, nothing more.
    char rest[5];
    EXPECT_EQ(read(fd.get(), rest, sizeof rest), 5);
    EXPECT_EQ(std::string(rest, 5), "next\n");
}

}  // namespace
}  // namespace elevate::cli
