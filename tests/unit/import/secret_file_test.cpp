// read_secret_file: how elevatectl (as root) opens files users control.
// Real files, links and FIFOs in a temporary directory.
#include "cli/import/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using elevate::cli::read_secret_file;
using elevate::cli::SecretFileOwner;

namespace {

class SecretFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/elevate-secret-file-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        me = {getuid(), "me", "the test's rule"};
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) {
        const std::string path = dir + "/" + name;
        std::ofstream(path) << content;
        EXPECT_EQ(chmod(path.c_str(), mode), 0);
        return path;
    }
    std::string error_of(const std::string& path, const SecretFileOwner& owner) {
        auto r = read_secret_file(path, owner);
        EXPECT_FALSE(r.ok()) << path;
        return r.ok() ? "" : r.error().message;
    }

    std::string dir;
    SecretFileOwner me;
};

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_F(SecretFile, ReadsARegularFileOfItsOwner) {
    const std::string path = write("ga", "SECRET\n");
    auto r = read_secret_file(path, me);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->view(), "SECRET\n");
    // Repeated and "." components are no links.
    auto again = read_secret_file(dir + "//./ga", me);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(again->view(), "SECRET\n");
}

TEST_F(SecretFile, RefusesASymlinkedParentDirectory) {
    ASSERT_EQ(mkdir((dir + "/real").c_str(), 0700), 0);
    ASSERT_EQ(mkdir((dir + "/real/deeper").c_str(), 0700), 0);
    write("real/deeper/ga", "SECRET\n");
    ASSERT_EQ(symlink("real", (dir + "/link").c_str()), 0);
    ASSERT_EQ(symlink(dir.c_str(), (dir + "/real/up").c_str()), 0);

    const std::string e = error_of(dir + "/link/deeper/ga", me);
    EXPECT_TRUE(contains(e, dir + "/link is a symbolic link")) << e;
    EXPECT_FALSE(contains(e, "SECRET")) << e;
    // A link further down the path, and a link as the file itself.
    const std::string deep = error_of(dir + "/real/up/real/deeper/ga", me);
    EXPECT_TRUE(contains(deep, dir + "/real/up is a symbolic link")) << deep;
    ASSERT_EQ(symlink("real/deeper/ga", (dir + "/file-link").c_str()), 0);
    const std::string last = error_of(dir + "/file-link", me);
    EXPECT_TRUE(contains(last, "file-link is a symbolic link")) << last;

    EXPECT_TRUE(read_secret_file(dir + "/real/deeper/ga", me).ok());
}

TEST_F(SecretFile, RefusesAFileOwnedBySomeoneElse) {
    const std::string path = write("ga", "SECRET\n");
    const SecretFileOwner other{getuid() + 1, "someone", "the test's rule"};
    const std::string e = error_of(path, other);
    EXPECT_TRUE(contains(e, "not by someone (the test's rule)")) << e;
    EXPECT_FALSE(contains(e, "SECRET")) << e;
}

TEST_F(SecretFile, RefusesAFileOthersMayWrite) {
    for (mode_t mode : {0620, 0602, 0666}) {
        const std::string path = write("ga", "SECRET\n", mode);
        const std::string e = error_of(path, me);
        EXPECT_TRUE(contains(e, "writable by others")) << e;
    }
    EXPECT_TRUE(read_secret_file(write("ro", "SECRET\n", 0400), me).ok());
    EXPECT_TRUE(read_secret_file(write("rw", "SECRET\n", 0644), me).ok());
}

TEST_F(SecretFile, RefusesAFifoOrDeviceWithoutHanging) {
    // Nobody writes to the FIFO: opening it for reading without O_NONBLOCK,
    // or reading it, would block forever.
    ASSERT_EQ(mkfifo((dir + "/fifo").c_str(), 0600), 0);
    for (const std::string& path : {dir + "/fifo", std::string("/dev/zero"), std::string("/dev/null"), dir}) {
        const std::string e = error_of(path, me);
        EXPECT_TRUE(contains(e, "not a regular file")) << path << ": " << e;
    }
}

TEST_F(SecretFile, RefusesLargeFilesAndNamesMissingOnes) {
    const std::string big = write("big", std::string(elevate::cli::kMaxSecretFileBytes + 1, 'A'));
    EXPECT_TRUE(contains(error_of(big, me), "larger than 64 KiB")) << error_of(big, me);
    EXPECT_TRUE(read_secret_file(write("max", std::string(elevate::cli::kMaxSecretFileBytes, 'A')), me).ok());

    const std::string missing = error_of(dir + "/nothing/ga", me);
    EXPECT_TRUE(contains(missing, dir + "/nothing/ga")) << missing;
    EXPECT_TRUE(contains(missing, "No such file")) << missing;
    EXPECT_FALSE(read_secret_file("", me).ok());
    EXPECT_TRUE(contains(error_of(dir + "/", me), "names a directory"));
}
