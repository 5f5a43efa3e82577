#include "common/base/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>

using elevate::base::UniqueFd;

static bool fd_open(int fd) {
    return fcntl(fd, F_GETFD) != -1;
}

TEST(UniqueFd, ClosesOnDestruction) {
    int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(raw, 0);
    {
        UniqueFd fd(raw);
        EXPECT_TRUE(fd.ok());
    }
    EXPECT_FALSE(fd_open(raw));
}

TEST(UniqueFd, MoveTransfersOwnership) {
    UniqueFd a(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int raw = a.get();
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.ok());
    EXPECT_EQ(b.get(), raw);
    UniqueFd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), raw);
    EXPECT_TRUE(fd_open(raw));
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
    UniqueFd a(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int raw = a.release();
    EXPECT_FALSE(a.ok());
    EXPECT_TRUE(fd_open(raw));
    close(raw);
}
