// The module's entry points called directly, as glibc calls them: the
// built libnss_elevate.so.2 dlopened from the build tree (the way systemd's
// nss-test-util does it). Status and *errnop values, errno preservation,
// ERANGE at every buffer size with nothing written, enumeration, the
// initgroups_dyn array contract, expiry with the real clock, and that
// ELEVATE_NSS_SNAPSHOT is ignored by set-uid programs.
#include "nss_test_util.h"

#include <dlfcn.h>
#include <grp.h>
#include <nss.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

using namespace elevate::nss::test;
using elevate::snapshot::MemberEntry;
using elevate::snapshot::RoleEntry;

namespace {

using GetGrNam = enum nss_status (*)(const char*, struct group*, char*, size_t, int*);
using GetGrGid = enum nss_status (*)(gid_t, struct group*, char*, size_t, int*);
using SetGrEnt = enum nss_status (*)(int);
using GetGrEnt = enum nss_status (*)(struct group*, char*, size_t, int*);
using EndGrEnt = enum nss_status (*)(void);
using InitGroups = enum nss_status (*)(const char*, gid_t, long*, long*, gid_t**, long, int*);

struct Module {
    void* handle = nullptr;
    GetGrNam getgrnam_r = nullptr;
    GetGrGid getgrgid_r = nullptr;
    SetGrEnt setgrent = nullptr;
    GetGrEnt getgrent_r = nullptr;
    EndGrEnt endgrent = nullptr;
    InitGroups initgroups_dyn = nullptr;
};

Module& module() {
    static Module m = [] {
        Module mod;
        mod.handle = dlopen(module_path().c_str(), RTLD_NOW | RTLD_LOCAL);
        if (mod.handle == nullptr) throw std::runtime_error(dlerror());
        mod.getgrnam_r = reinterpret_cast<GetGrNam>(dlsym(mod.handle, "_nss_elevate_getgrnam_r"));
        mod.getgrgid_r = reinterpret_cast<GetGrGid>(dlsym(mod.handle, "_nss_elevate_getgrgid_r"));
        mod.setgrent = reinterpret_cast<SetGrEnt>(dlsym(mod.handle, "_nss_elevate_setgrent"));
        mod.getgrent_r = reinterpret_cast<GetGrEnt>(dlsym(mod.handle, "_nss_elevate_getgrent_r"));
        mod.endgrent = reinterpret_cast<EndGrEnt>(dlsym(mod.handle, "_nss_elevate_endgrent"));
        mod.initgroups_dyn = reinterpret_cast<InitGroups>(dlsym(mod.handle, "_nss_elevate_initgroups_dyn"));
        return mod;
    }();
    return m;
}

struct Found {
    enum nss_status status;
    int err;  // *errnop after the call (sentinel 4242 if untouched)
    std::string name, passwd;
    gid_t gid = 0;
    std::vector<std::string> members;
};

Found by_name(const char* name, size_t buflen = 4096) {
    std::vector<char> buf(buflen + 1);
    struct group gr;
    int err = 4242;
    Found f{module().getgrnam_r(name, &gr, buf.data(), buflen, &err), err, {}, {}, 0, {}};
    f.err = err;
    if (f.status == NSS_STATUS_SUCCESS) {
        f.name = gr.gr_name;
        f.passwd = gr.gr_passwd;
        f.gid = gr.gr_gid;
        for (char** m = gr.gr_mem; *m; ++m) f.members.emplace_back(*m);
    }
    return f;
}

Found by_gid(gid_t gid, size_t buflen = 4096) {
    std::vector<char> buf(buflen + 1);
    struct group gr;
    int err = 4242;
    Found f{module().getgrgid_r(gid, &gr, buf.data(), buflen, &err), err, {}, {}, 0, {}};
    f.err = err;
    if (f.status == NSS_STATUS_SUCCESS) {
        f.name = gr.gr_name;
        f.gid = gr.gr_gid;
        for (char** m = gr.gr_mem; *m; ++m) f.members.emplace_back(*m);
    }
    return f;
}

class NssModule : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(geteuid(), 0u) << "needs root: the module accepts root-owned snapshots only (the suite runs as root)";
        ASSERT_NE(module().getgrnam_r, nullptr);
        t = now();
        publish(roles(), members());
    }
    std::vector<RoleEntry> roles() {
        return {{"db", "elvt-db", 62001}, {"web", "elvt-web", 62002}, {"none", "elvt-none", 62003}};
    }
    std::vector<MemberEntry> members() {
        return {{"alice", 62001, t + 3600},
                {"bob", 62001, t + 3600},
                {"old", 62001, t - 5},
                {"alice", 62002, t + 3600},
                {"carol", 62002, t + 3600}};
    }
    int64_t t = 0;
};

TEST_F(NssModule, GetgrnamReturnsActiveMembersAndKeepsErrno) {
    errno = EXDEV;
    Found f = by_name("elvt-db");
    EXPECT_EQ(errno, EXDEV);
    ASSERT_EQ(f.status, NSS_STATUS_SUCCESS);
    EXPECT_EQ(f.err, 4242) << "*errnop must be left alone on success";
    EXPECT_EQ(f.name, "elvt-db");
    EXPECT_EQ(f.passwd, "*");
    EXPECT_EQ(f.gid, 62001u);
    EXPECT_EQ(f.members, (std::vector<std::string>{"alice", "bob"}));  // "old" expired
}

TEST_F(NssModule, GetgrgidAndEmptyGroup) {
    Found f = by_gid(62002);
    ASSERT_EQ(f.status, NSS_STATUS_SUCCESS);
    EXPECT_EQ(f.name, "elvt-web");
    EXPECT_EQ(f.members, (std::vector<std::string>{"alice", "carol"}));
    f = by_gid(62003);
    ASSERT_EQ(f.status, NSS_STATUS_SUCCESS);
    EXPECT_EQ(f.name, "elvt-none");
    EXPECT_TRUE(f.members.empty());
}

TEST_F(NssModule, NotFoundIsNotfoundWithEnoent) {
    errno = EXDEV;
    Found f = by_name("elvt-nope");
    EXPECT_EQ(errno, EXDEV);
    EXPECT_EQ(f.status, NSS_STATUS_NOTFOUND);
    EXPECT_EQ(f.err, ENOENT);
    f = by_gid(62999);
    EXPECT_EQ(f.status, NSS_STATUS_NOTFOUND);
    EXPECT_EQ(f.err, ENOENT);
    f = by_name(std::string(1000, 'x').c_str());
    EXPECT_EQ(f.status, NSS_STATUS_NOTFOUND);
    f = by_name("");
    EXPECT_EQ(f.status, NSS_STATUS_NOTFOUND);
}

TEST_F(NssModule, ErrnopMayBeErrnoItself) {
    struct group gr;
    char buf[1024];
    errno = 0;
    EXPECT_EQ(module().getgrnam_r("elvt-nope", &gr, buf, sizeof buf, &errno), NSS_STATUS_NOTFOUND);
    EXPECT_EQ(errno, ENOENT);
    errno = 0;
    EXPECT_EQ(module().getgrnam_r("elvt-db", &gr, buf, 3, &errno), NSS_STATUS_TRYAGAIN);
    EXPECT_EQ(errno, ERANGE);
}

TEST_F(NssModule, NoSnapshotIsUnavailWithEnoent) {
    ASSERT_EQ(unlink(snapshot_path().c_str()), 0);
    errno = EXDEV;
    Found f = by_name("elvt-db");
    EXPECT_EQ(errno, EXDEV);
    EXPECT_EQ(f.status, NSS_STATUS_UNAVAIL);
    EXPECT_EQ(f.err, ENOENT);
    EXPECT_EQ(by_gid(62001).status, NSS_STATUS_UNAVAIL);

    // Corrupt, insecure, wrong version: the same "no data".
    auto good = elevate::snapshot::encode_snapshot(roles(), members(), 1, t);
    ASSERT_TRUE(good);
    std::vector<uint8_t> bad = *good;
    bad[bad.size() - 2] ^= 0x40;
    publish_raw(bad);
    f = by_name("elvt-db");
    EXPECT_EQ(f.status, NSS_STATUS_UNAVAIL);
    EXPECT_EQ(f.err, ENOENT);
    publish_raw(*good, 0666);
    EXPECT_EQ(by_name("elvt-db").status, NSS_STATUS_UNAVAIL);
    publish_raw(std::vector<uint8_t>(good->begin(), good->begin() + 100));
    EXPECT_EQ(by_name("elvt-db").status, NSS_STATUS_UNAVAIL);

    // And back, without any reload.
    publish_raw(*good);
    EXPECT_EQ(by_name("elvt-db").status, NSS_STATUS_SUCCESS);
}

TEST_F(NssModule, ErangeAtEveryShortBufferWritesNothing) {
    // The exact size needed depends on the buffer's alignment: find it, then
    // check every smaller size, for every misalignment.
    for (size_t misalign = 0; misalign < 8; ++misalign) {
        std::vector<char> storage(4096 + 64);
        char* buf = storage.data() + misalign;
        size_t need = 0;
        for (size_t len = 0; len < 4096; ++len) {
            std::fill(storage.begin(), storage.end(), '\x5a');
            struct group gr;
            std::memset(&gr, 0x77, sizeof gr);
            struct group untouched = gr;
            int err = 4242;
            errno = EXDEV;
            enum nss_status s = module().getgrnam_r("elvt-db", &gr, buf, len, &err);
            EXPECT_EQ(errno, EXDEV);
            if (s == NSS_STATUS_SUCCESS) {
                need = len;
                // Nothing beyond buflen was touched.
                for (size_t i = misalign + len; i < storage.size(); ++i) ASSERT_EQ(storage[i], '\x5a') << i;
                break;
            }
            ASSERT_EQ(s, NSS_STATUS_TRYAGAIN) << len;
            ASSERT_EQ(err, ERANGE) << len;
            ASSERT_EQ(std::memcmp(&gr, &untouched, sizeof gr), 0) << "struct group written at " << len;
            for (char c : storage) ASSERT_EQ(c, '\x5a') << "buffer written at " << len;
        }
        ASSERT_GT(need, 0u) << misalign;
        // 3 pointers (2 members + NULL), "elvt-db", "*", "alice", "bob".
        EXPECT_LE(need, 7 + 3 * sizeof(char*) + 8 + 2 + 6 + 4);
        EXPECT_GE(need, 3 * sizeof(char*) + 8 + 2 + 6 + 4);
    }
    // A null buffer is "too small" too.
    struct group gr;
    int err = 0;
    EXPECT_EQ(module().getgrgid_r(62001, &gr, nullptr, 0, &err), NSS_STATUS_TRYAGAIN);
    EXPECT_EQ(err, ERANGE);
}

TEST_F(NssModule, ExpiryUsesTheRealClockAtReadTime) {
    const int64_t t0 = now();
    publish({{"r", "elvt-soon", 62010}}, {{"alice", 62010, t0 + 2}, {"bob", 62010, t0 + 3600}});
    EXPECT_EQ(by_name("elvt-soon").members, (std::vector<std::string>{"alice", "bob"}));
    // The snapshot is not touched again: expiry is the reader's own doing.
    std::this_thread::sleep_for(std::chrono::milliseconds((t0 + 2 - now()) * 1000 + 1100));
    EXPECT_EQ(by_name("elvt-soon").members, (std::vector<std::string>{"bob"}));
}

std::vector<std::string> enumerate(size_t buflen = 4096) {
    std::vector<std::string> names;
    module().setgrent(1);
    std::vector<char> buf(buflen);
    for (int guard = 0; guard < 1000; ++guard) {
        struct group gr;
        int err = 0;
        enum nss_status s = module().getgrent_r(&gr, buf.data(), buf.size(), &err);
        if (s == NSS_STATUS_TRYAGAIN && err == ERANGE) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (s != NSS_STATUS_SUCCESS) {
            EXPECT_EQ(s, NSS_STATUS_NOTFOUND);
            EXPECT_EQ(err, ENOENT);
            break;
        }
        names.emplace_back(gr.gr_name);
    }
    module().endgrent();
    return names;
}

TEST_F(NssModule, EnumerationListsEveryGroupOnceAndRetriesAfterErange) {
    EXPECT_EQ(enumerate(), (std::vector<std::string>{"elvt-db", "elvt-none", "elvt-web"}));
    EXPECT_EQ(enumerate(8), (std::vector<std::string>{"elvt-db", "elvt-none", "elvt-web"}));
    // After the end, without setgrent, it stays at the end.
    module().setgrent(0);
    struct group gr;
    char buf[1024];
    int err = 0;
    for (int i = 0; i < 3; ++i) ASSERT_EQ(module().getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
    EXPECT_EQ(module().getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
    EXPECT_EQ(module().getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
    module().endgrent();
}

TEST_F(NssModule, EnumerationSurvivesReplacementWithoutRepeats) {
    module().setgrent(1);
    struct group gr;
    char buf[1024];
    int err = 0;
    ASSERT_EQ(module().getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
    EXPECT_STREQ(gr.gr_name, "elvt-db");
    // Replaced mid-way: a group before the position and one after it added,
    // one after it removed.
    publish({{"a", "elvt-aaa", 62020}, {"db", "elvt-db", 62001}, {"web", "elvt-web", 62002}, {"z", "elvt-zzz", 62021}},
            {});
    std::vector<std::string> rest;
    while (module().getgrent_r(&gr, buf, sizeof buf, &err) == NSS_STATUS_SUCCESS) rest.emplace_back(gr.gr_name);
    module().endgrent();
    EXPECT_EQ(rest, (std::vector<std::string>{"elvt-web", "elvt-zzz"}));
}

TEST_F(NssModule, EnumerationWithoutSnapshotIsUnavail) {
    ASSERT_EQ(unlink(snapshot_path().c_str()), 0);
    EXPECT_EQ(module().setgrent(1), NSS_STATUS_SUCCESS);
    struct group gr;
    char buf[1024];
    int err = 0;
    EXPECT_EQ(module().getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_UNAVAIL);
    EXPECT_EQ(err, ENOENT);
    module().endgrent();
}

struct Groups {
    enum nss_status status;
    int err;
    std::vector<gid_t> gids;
    long size;
};

Groups initgroups(const char* user, gid_t primary, long initial_size, long limit) {
    long start = 1, size = initial_size;
    gid_t* groups = static_cast<gid_t*>(malloc(size_t(size) * sizeof(gid_t)));
    groups[0] = primary;
    int err = 4242;
    errno = EXDEV;
    enum nss_status s = module().initgroups_dyn(user, primary, &start, &size, &groups, limit, &err);
    EXPECT_EQ(errno, EXDEV);
    Groups g{s, err, std::vector<gid_t>(groups, groups + start), size};
    free(groups);
    return g;
}

TEST_F(NssModule, InitgroupsAppendsActiveGroupsAndGrowsTheArray) {
    Groups g = initgroups("alice", 100, 1, -1);
    EXPECT_EQ(g.status, NSS_STATUS_SUCCESS);
    EXPECT_EQ(g.gids, (std::vector<gid_t>{100, 62001, 62002}));
    EXPECT_GE(g.size, 3);

    // The primary group is not repeated.
    g = initgroups("alice", 62001, 8, -1);
    EXPECT_EQ(g.gids, (std::vector<gid_t>{62001, 62002}));

    // A limit is respected: stop quietly at it.
    g = initgroups("alice", 100, 1, 2);
    EXPECT_EQ(g.status, NSS_STATUS_SUCCESS);
    EXPECT_EQ(g.gids, (std::vector<gid_t>{100, 62001}));
    EXPECT_EQ(g.size, 2);

    // Expired membership, unknown user: NOTFOUND + ENOENT, array unchanged.
    g = initgroups("old", 100, 1, -1);
    EXPECT_EQ(g.status, NSS_STATUS_NOTFOUND);
    EXPECT_EQ(g.err, ENOENT);
    EXPECT_EQ(g.gids, (std::vector<gid_t>{100}));
    g = initgroups("nobody-here", 100, 1, -1);
    EXPECT_EQ(g.status, NSS_STATUS_NOTFOUND);

    ASSERT_EQ(unlink(snapshot_path().c_str()), 0);
    g = initgroups("alice", 100, 1, -1);
    EXPECT_EQ(g.status, NSS_STATUS_UNAVAIL);
    EXPECT_EQ(g.err, ENOENT);
}

TEST_F(NssModule, InitgroupsForAUserInManyGroups) {
    std::vector<RoleEntry> roles;
    std::vector<MemberEntry> members;
    for (gid_t i = 0; i < 500; ++i) {
        roles.push_back({"r" + std::to_string(i), "elvt-many-" + std::to_string(i), 63000 + i});
        members.push_back({"alice", 63000 + i, t + (i % 2 ? 3600 : -1)});
    }
    publish(roles, members);
    Groups g = initgroups("alice", 100, 1, -1);
    ASSERT_EQ(g.status, NSS_STATUS_SUCCESS);
    ASSERT_EQ(g.gids.size(), 251u);
    std::set<gid_t> unique(g.gids.begin(), g.gids.end());
    EXPECT_EQ(unique.size(), 251u);
    for (gid_t gid : g.gids) EXPECT_TRUE(gid == 100 || gid % 2 == 1) << gid;
}

// secure_getenv: in a set-uid program ELEVATE_NSS_SNAPSHOT is ignored, so
// an unprivileged user cannot point sudo at a snapshot of their own.
TEST_F(NssModule, SnapshotOverrideIsIgnoredBySetuidPrograms) {
    // A world-reachable copy of the probe (the build tree may not be).
    char tmpl[] = "/tmp/elevate-nss-probe-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    chmod(dir.c_str(), 0755);
    std::string probe = dir + "/probe";
    std::filesystem::copy_file(NSS_PROBE_BIN, probe);
    auto run = [&](bool setuid_bit) {
        chown(probe.c_str(), 0, 0);
        chmod(probe.c_str(), setuid_bit ? 04755 : 0755);
        pid_t pid = fork();
        if (pid == 0) {
            if (setuid_bit && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) _exit(100);
            std::string env_path = "ELEVATE_NSS_SNAPSHOT=" + snapshot_path();
            std::string module = module_path();
            char* const argv[] = {probe.data(), module.data(), const_cast<char*>("elvt-db"), nullptr};
            char* const envp[] = {env_path.data(), nullptr};
            execve(probe.c_str(), argv, envp);
            _exit(101);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    // Exit status: the nss_status of the lookup + 10.
    EXPECT_EQ(run(false), 10 + NSS_STATUS_SUCCESS);
    int secure = run(true);
    std::filesystem::remove_all(dir);
    ASSERT_NE(secure, 101) << "cannot exec a set-uid program here (nosuid /tmp?)";
    EXPECT_NE(secure, 10 + NSS_STATUS_SUCCESS) << "the set-uid probe read the overridden snapshot";
    EXPECT_TRUE(secure == 10 + NSS_STATUS_UNAVAIL || secure == 10 + NSS_STATUS_NOTFOUND) << secure;
}

}  // namespace

int main(int argc, char** argv) {
    setup_snapshot_env();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
