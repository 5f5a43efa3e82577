// The file side: write_snapshot publishes atomically with the right mode;
// Reader accepts only a root-owned, not group/world-writable regular file
// in a directory nobody else can write, maps it once, and picks up a
// replacement (or a chmod) on the next acquire.
#include "snapshot_test_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <dirent.h>

using namespace elevate::snapshot;
using namespace elevate::snapshot::test;

namespace {

constexpr int64_t T0 = 1700000000;

class SnapshotFile : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(geteuid(), 0u) << "needs root: the reader accepts root-owned snapshots only (the suite runs as root)";
    }
    void TearDown() override { reader.reset(); }

    // Acquire and return the gid of `group`, or the error.
    Error lookup(const char* group, uint32_t* gid = nullptr, uint64_t* generation = nullptr) {
        Lease lease;
        Error e = reader.acquire(path.c_str(), &lease);
        if (e != Error::None) return e;
        EXPECT_TRUE(lease.held());
        GroupRef g;
        if (!lease.view().find_group(group, std::strlen(group), &g)) return Error::None;
        if (gid) *gid = g.gid;
        if (generation) *generation = lease.view().generation();
        return Error::None;
    }

    TempDir dir;
    std::string path = dir.file("groups.snapshot");
    Reader reader;
};

TEST_F(SnapshotFile, WriteSnapshotPublishesMode0644AndLeavesNoTemporaryFile) {
    ::umask(077);  // the daemon's unit runs with UMask=0077
    auto r = write_snapshot(path, sample_roles(), sample_members(T0), 5);
    ::umask(022);
    ASSERT_TRUE(r) << r.error().message;
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    EXPECT_EQ(st.st_uid, 0u);
    DIR* d = opendir(dir.path().c_str());
    ASSERT_NE(d, nullptr);
    int entries = 0;
    while (struct dirent* e = readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++entries;
    closedir(d);
    EXPECT_EQ(entries, 1);

    uint32_t gid = 0;
    uint64_t generation = 0;
    ASSERT_EQ(lookup("db-admin", &gid, &generation), Error::None);
    EXPECT_EQ(gid, 61001u);
    EXPECT_EQ(generation, 5u);
}

TEST_F(SnapshotFile, WriteSnapshotErrorsAreMessagesAndKeepTheOldFile) {
    ASSERT_TRUE(write_snapshot(path, sample_roles(), {}, 1));
    auto bad = write_snapshot(path, {{"r", "bad name", 5000}}, {}, 2);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("role r"), std::string::npos);
    auto missing = write_snapshot(dir.file("no/such/dir/x"), sample_roles(), {}, 3);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("No such file or directory"), std::string::npos) << missing.error().message;
    uint64_t generation = 0;
    ASSERT_EQ(lookup("db-admin", nullptr, &generation), Error::None);
    EXPECT_EQ(generation, 1u);
}

TEST_F(SnapshotFile, MissingFileOrDirectory) {
    EXPECT_EQ(lookup("db-admin"), Error::Missing);
    Lease lease;
    EXPECT_EQ(reader.acquire(dir.file("nodir/groups.snapshot").c_str(), &lease), Error::Missing);
    EXPECT_EQ(reader.acquire("", &lease), Error::Missing);
    EXPECT_FALSE(lease.held());
}

TEST_F(SnapshotFile, NotARegularFile) {
    ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
    EXPECT_EQ(lookup("db-admin"), Error::NotRegular);
    ASSERT_EQ(::rmdir(path.c_str()), 0);

    // A FIFO must not block the lookup (nobody will ever write to it).
    ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(lookup("db-admin"), Error::NotRegular);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    ASSERT_EQ(::unlink(path.c_str()), 0);
}

TEST_F(SnapshotFile, SymlinkIsRefusedEvenToAGoodSnapshot) {
    std::string real = dir.file("real.snapshot");
    ASSERT_TRUE(write_snapshot(real, sample_roles(), {}, 1));
    ASSERT_EQ(::symlink(real.c_str(), path.c_str()), 0);
    EXPECT_EQ(lookup("db-admin"), Error::NotRegular);
}

TEST_F(SnapshotFile, NotOwnedByRootOrWritableByOthers) {
    ASSERT_TRUE(write_snapshot(path, sample_roles(), {}, 1));
    ASSERT_EQ(lookup("db-admin"), Error::None);

    ASSERT_EQ(::chown(path.c_str(), 65534, 0), 0);
    EXPECT_EQ(lookup("db-admin"), Error::Insecure);
    ASSERT_EQ(::chown(path.c_str(), 0, 65534), 0);  // group ownership alone is fine
    EXPECT_EQ(lookup("db-admin"), Error::None);

    ASSERT_EQ(::chmod(path.c_str(), 0664), 0);
    EXPECT_EQ(lookup("db-admin"), Error::Insecure);
    ASSERT_EQ(::chmod(path.c_str(), 0646), 0);
    EXPECT_EQ(lookup("db-admin"), Error::Insecure);
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);  // root-only readable is fine for root
    EXPECT_EQ(lookup("db-admin"), Error::None);
}

TEST_F(SnapshotFile, DirectoryWritableByOthersIsRefusedUnlessSticky) {
    ASSERT_TRUE(write_snapshot(path, sample_roles(), {}, 1));
    ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);
    // The file is unchanged, but was never mapped: the check runs.
    EXPECT_EQ(lookup("db-admin"), Error::Insecure);
    ASSERT_EQ(::chmod(dir.path().c_str(), 01777), 0);
    ASSERT_TRUE(write_snapshot(path, sample_roles(), {}, 2));
    EXPECT_EQ(lookup("db-admin"), Error::None);
    ASSERT_EQ(::chmod(dir.path().c_str(), 0700), 0);
    ASSERT_EQ(::chown(dir.path().c_str(), 65534, 0), 0);
    ASSERT_TRUE(write_snapshot(path, sample_roles(), {}, 3));
    EXPECT_EQ(lookup("db-admin"), Error::Insecure);
    ASSERT_EQ(::chown(dir.path().c_str(), 0, 0), 0);
}

TEST_F(SnapshotFile, CorruptTruncatedOrWrongVersionFileIsNoData) {
    Bytes good = encode(sample_roles(), sample_members(T0));
    Bytes b = good;
    b[200] ^= 1;
    write_raw(path, b);
    EXPECT_EQ(lookup("db-admin"), Error::Checksum);
    b = good;
    write_at<uint16_t>(b, offsetof(elevate_snapshot_header, version_major), 2);
    resign(b);
    write_raw(path, b);
    EXPECT_EQ(lookup("db-admin"), Error::Version);
    write_raw(path, Bytes());
    EXPECT_EQ(lookup("db-admin"), Error::Size);
    // Truncated at every offset, through the file system.
    for (size_t n = 1; n < good.size(); n += 1) {
        write_raw(path, Bytes(good.begin(), good.begin() + long(n)));
        Error e = lookup("db-admin");
        ASSERT_NE(e, Error::None) << n;
    }
    write_raw(path, good);
    EXPECT_EQ(lookup("db-admin"), Error::None);
}

TEST_F(SnapshotFile, UnchangedFileIsMappedOnceAndBadFileIsNotReread) {
    ASSERT_TRUE(write_snapshot(path, sample_roles(), {}, 1));
    for (int i = 0; i < 100; ++i) ASSERT_EQ(lookup("db-admin"), Error::None);
    EXPECT_EQ(reader.map_count(), 1u);

    Bytes b = encode(sample_roles(), {});
    b[150] ^= 1;
    write_raw(path, b);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(lookup("db-admin"), Error::Checksum);
    EXPECT_EQ(reader.map_count(), 1u);
}

TEST_F(SnapshotFile, ReplacementIsSeenByTheNextAcquire) {
    ASSERT_TRUE(write_snapshot(path, {{"a", "grp-a", 5001}}, {}, 1));
    uint32_t gid = 0;
    ASSERT_EQ(lookup("grp-a", &gid), Error::None);
    EXPECT_EQ(gid, 5001u);
    for (uint64_t gen = 2; gen < 50; ++gen) {
        ASSERT_TRUE(write_snapshot(path, {{"a", "grp-a", gid_t(5000 + gen)}}, {}, gen));
        uint64_t seen = 0;
        ASSERT_EQ(lookup("grp-a", &gid, &seen), Error::None);
        EXPECT_EQ(seen, gen);
        EXPECT_EQ(gid, 5000 + gen);
    }
    // Removed: no data, even though a mapping of the old file still exists.
    ASSERT_EQ(::unlink(path.c_str()), 0);
    EXPECT_EQ(lookup("grp-a"), Error::Missing);
    ASSERT_TRUE(write_snapshot(path, {{"a", "grp-a", 7777}}, {}, 99));
    ASSERT_EQ(lookup("grp-a", &gid), Error::None);
    EXPECT_EQ(gid, 7777u);
}

TEST_F(SnapshotFile, ChmodAfterMappingIsNoticed) {
    ASSERT_TRUE(write_snapshot(path, sample_roles(), {}, 1));
    ASSERT_EQ(lookup("db-admin"), Error::None);
    ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
    EXPECT_EQ(lookup("db-admin"), Error::Insecure);
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    EXPECT_EQ(lookup("db-admin"), Error::None);
}

TEST_F(SnapshotFile, LeaseKeepsItsMappingWhileTheFileIsReplaced) {
    ASSERT_TRUE(write_snapshot(path, {{"a", "grp-a", 5001}}, {{"alice", 5001, T0 + 10}}, 1));
    Lease first;
    ASSERT_EQ(reader.acquire(path.c_str(), &first), Error::None);
    GroupRef g;
    ASSERT_TRUE(first.view().find_group("grp-a", 5, &g));
    first.release();
    ASSERT_TRUE(write_snapshot(path, {{"b", "grp-b", 5002}}, {}, 2));
    Lease second;
    ASSERT_EQ(reader.acquire(path.c_str(), &second), Error::None);
    EXPECT_FALSE(second.view().find_group("grp-a", 5, &g));
    EXPECT_TRUE(second.view().find_group("grp-b", 5, &g));
    EXPECT_EQ(second.view().generation(), 2u);
}

TEST_F(SnapshotFile, SignalsAreBlockedOnlyWhileALeaseIsHeld) {
    ASSERT_TRUE(write_snapshot(path, sample_roles(), {}, 1));
    sigset_t before, during, after;
    pthread_sigmask(SIG_SETMASK, nullptr, &before);
    {
        Lease lease;
        ASSERT_EQ(reader.acquire(path.c_str(), &lease), Error::None);
        pthread_sigmask(SIG_SETMASK, nullptr, &during);
        EXPECT_TRUE(sigismember(&during, SIGALRM));
        EXPECT_TRUE(sigismember(&during, SIGTERM));
    }
    pthread_sigmask(SIG_SETMASK, nullptr, &after);
    for (int s = 1; s < 32; ++s) EXPECT_EQ(sigismember(&before, s), sigismember(&after, s)) << s;
}

}  // namespace
