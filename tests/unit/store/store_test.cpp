#include "daemon/store/schema.h"
#include "daemon/store/store.h"

#include "tests/unit/support/temp_state_dir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

namespace elevate::store {
namespace {

namespace fs = std::filesystem;

// A private temporary state directory per test, removed afterwards.
class StoreTest : public ::testing::Test {
protected:
    std::string db_path() const { return dir_ + "/elevate.db"; }

    std::unique_ptr<Store> open_ok() {
        auto s = Store::open(dir_);
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
        if (!s.ok()) return nullptr;
        return std::move(s).value();
    }

    // Runs SQL on the database through a separate, plain connection.
    int raw_exec(const std::string& sql, std::string* err = nullptr) {
        sqlite3* db = nullptr;
        int rc = sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
        if (rc == SQLITE_OK) {
            rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
            if (rc != SQLITE_OK && err != nullptr) *err = sqlite3_errmsg(db);
        }
        sqlite3_close(db);
        return rc;
    }

    static mode_t mode_of(const std::string& path) {
        struct stat st {};
        EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
        return st.st_mode & 07777;
    }

    test::TempStateDir state_{"elevate-store"};
    const std::string dir_ = state_.path();
};

Grant sample_grant(const std::string& user, int64_t start) {
    Grant g;
    g.id = new_grant_id();
    g.user = user;
    g.role = "db-admin";
    g.start = start;
    g.end = start + 2700;
    g.reason = "INC-4711";
    g.factor = "totp";
    g.source = "pam:sudo tty=/dev/pts/3";
    return g;
}

Factor sample_factor(const std::string& user, std::string_view secret) {
    Factor f;
    f.user = user;
    f.kind = "totp";
    f.label = "phone";
    f.secret = base::SecureBuffer(secret);
    f.algorithm = "sha256";
    f.digits = 8;
    f.period = 60;
    f.created = 1700000000;
    return f;
}

// ---- opening and permissions -------------------------------------------------

TEST_F(StoreTest, OpenCreatesPrivateDatabase) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(mode_of(db_path()), 0600u);
    // Any write creates the WAL, which must be as private as the database.
    ASSERT_TRUE(s->clear_failures("alice").ok());
    if (fs::exists(db_path() + "-wal")) {
        EXPECT_EQ(mode_of(db_path() + "-wal"), 0600u);
    }
    if (fs::exists(db_path() + "-shm")) {
        EXPECT_EQ(mode_of(db_path() + "-shm"), 0600u);
    }
}

TEST_F(StoreTest, OpenCreatesPrivateDatabaseUnderPermissiveUmask) {
    mode_t old = ::umask(0);
    auto s = Store::open(dir_);
    ::umask(old);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(mode_of(db_path()), 0600u);
}

TEST_F(StoreTest, SchemaVersionIsLatest) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), schema::latest_version());
    EXPECT_GE(schema::latest_version(), 1);
}

TEST_F(StoreTest, ReopenKeepsData) {
    Grant g = sample_grant("alice", 1000);
    {
        auto s = open_ok();
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->insert_grant(g).ok());
    }
    auto s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), schema::latest_version());
    auto got = s->get_grant(g.id);
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->user, "alice");
}

// 0750 (group may read and enter) is refused too, and the message says the
// rule (0700) and why, as docs/CONFIG.md and docs/STATE.md do.
TEST_F(StoreTest, RefusesGroupReadableStateDirSayingWhy) {
    ASSERT_EQ(::chmod(dir_.c_str(), 0750), 0);
    auto s = Store::open(dir_);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().message, "state directory " + dir_ +
                                     " is group/world-accessible (mode 0750); it holds second-factor secrets, so mode "
                                     "0700 is required; run: chmod 0700 " +
                                     dir_);
}

TEST_F(StoreTest, RefusesWorldReadableStateDir) {
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    auto s = Store::open(dir_);
    ASSERT_FALSE(s.ok());
    const std::string& m = s.error().message;
    EXPECT_NE(m.find("group/world-accessible"), std::string::npos) << m;
    EXPECT_NE(m.find("0755"), std::string::npos) << m;
    EXPECT_NE(m.find("chmod 0700 " + dir_), std::string::npos) << m;
    EXPECT_FALSE(fs::exists(db_path())) << "nothing may be created in an unsafe directory";
}

TEST_F(StoreTest, RefusesMissingStateDir) {
    auto s = Store::open(dir_ + "/missing");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("does not exist"), std::string::npos) << s.error().message;
}

TEST_F(StoreTest, RefusesStateDirThatIsAFile) {
    const std::string file = dir_ + "/file";
    int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
    auto s = Store::open(file);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("not a directory"), std::string::npos) << s.error().message;
}

TEST_F(StoreTest, RefusesGroupWritableDatabase) {
    { ASSERT_TRUE(open_ok()); }
    ASSERT_EQ(::chmod(db_path().c_str(), 0660), 0);
    auto s = Store::open(dir_);
    ASSERT_FALSE(s.ok());
    const std::string& m = s.error().message;
    EXPECT_NE(m.find("chmod 0600 " + db_path()), std::string::npos) << m;
    EXPECT_NE(m.find("0660"), std::string::npos) << m;
}

TEST_F(StoreTest, RefusesWorldReadableWal) {
    const std::string wal = db_path() + "-wal";
    int fd = ::open(wal.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ASSERT_EQ(::chmod(wal.c_str(), 0644), 0);
    auto s = Store::open(dir_);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("chmod 0600 " + wal), std::string::npos) << s.error().message;
}

TEST_F(StoreTest, RefusesSymlinkedStateDir) {
    const std::string real = dir_ + "/real";
    const std::string link = dir_ + "/link";
    ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
    ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
    for (const std::string& p : {link, link + "/"}) {
        auto s = Store::open(p);
        ASSERT_FALSE(s.ok()) << p;
        EXPECT_NE(s.error().message.find("symlink"), std::string::npos) << s.error().message;
    }
    EXPECT_FALSE(fs::exists(real + "/elevate.db"));
}

TEST_F(StoreTest, RefusesSymlinkedDatabaseFile) {
    const std::string target = dir_ + "/elsewhere.db";
    ASSERT_EQ(::symlink(target.c_str(), db_path().c_str()), 0);
    auto s = Store::open(dir_);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("symlink"), std::string::npos) << s.error().message;
    EXPECT_FALSE(fs::exists(target));
}

TEST_F(StoreTest, RefusesStateDirOwnedBySomeoneElse) {
    ASSERT_EQ(::geteuid(), 0u) << "this test needs root to chown (the suite runs as root)";
    ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
    auto s = Store::open(dir_);
    ASSERT_FALSE(s.ok());
    const std::string& m = s.error().message;
    EXPECT_NE(m.find("owned by uid 65534"), std::string::npos) << m;
    EXPECT_NE(m.find("chown root:root " + dir_), std::string::npos) << m;
}

TEST_F(StoreTest, RefusesNewerSchema) {
    { ASSERT_TRUE(open_ok()); }
    const int newer = schema::latest_version() + 1;
    ASSERT_EQ(raw_exec("PRAGMA user_version = " + std::to_string(newer)), SQLITE_OK);
    auto s = Store::open(dir_);
    ASSERT_FALSE(s.ok());
    const std::string& m = s.error().message;
    EXPECT_NE(m.find("newer"), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string(newer)), std::string::npos) << m;
}

TEST_F(StoreTest, GarbageFileIsAnErrorNotACrash) {
    for (size_t size : {size_t{7}, size_t{100}, size_t{4096}, size_t{65536}}) {
        std::string garbage(size, '\0');
        for (size_t i = 0; i < size; ++i) garbage[i] = static_cast<char>((i * 131 + 17) & 0xff);
        fs::remove(db_path());
        int fd = ::open(db_path().c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
        ::close(fd);
        auto s = Store::open(dir_);
        ASSERT_FALSE(s.ok()) << "size " << size;
        EXPECT_NE(s.error().message.find(db_path()), std::string::npos) << s.error().message;
        EXPECT_EQ(s.error().code, EUCLEAN) << s.error().message;  // "the state database is damaged"
    }
}

TEST_F(StoreTest, SettingsAreApplied) {
    { ASSERT_TRUE(open_ok()); }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");  // persistent in the file
    sqlite3_finalize(st);
    sqlite3_close(db);
}

// The daemon's state is its own while it runs: another process cannot
// read it or take its lock, so it can never stall the daemon's writes.
TEST_F(StoreTest, OpenStoreKeepsOtherProcessesOut) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    std::string err;
    EXPECT_EQ(raw_exec("BEGIN EXCLUSIVE", &err), SQLITE_BUSY) << err;
    EXPECT_EQ(raw_exec("SELECT count(*) FROM grants", &err), SQLITE_BUSY) << err;
    EXPECT_FALSE(fs::exists(db_path() + "-shm"));                          // exclusive locking mode: no shared memory
    ASSERT_TRUE(s->insert_grant(sample_grant("alice", 1700000000)).ok());  // its own writes go on
}

TEST_F(StoreTest, OpenWhileAnotherProcessHoldsTheDatabaseSaysSo) {
    { ASSERT_TRUE(open_ok()); }
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open_v2(db_path().c_str(), &other, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    auto s = Store::open(dir_);
    sqlite3_close(other);  // rolls back
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, EBUSY);
    ASSERT_NE(failure_reason(s.error()), nullptr);
    EXPECT_STREQ(failure_reason(s.error()), "the state database is locked by another process");
    EXPECT_NE(s.error().message.find("locked by another process"), std::string::npos) << s.error().message;
    EXPECT_TRUE(Store::open(dir_).ok());  // and it opens once the other process is gone
}

TEST_F(StoreTest, FailureReasonsNameTheStorageProblem) {
    EXPECT_STREQ(failure_reason(base::make_error("x", ENOSPC)), "the state disk is full");
    EXPECT_STREQ(failure_reason(base::make_error("x", EROFS)), "the state file system is read-only");
    EXPECT_STREQ(failure_reason(base::make_error("x", EUCLEAN)), "the state database is damaged");
    EXPECT_STREQ(failure_reason(base::make_error("x", EIO)), "the state disk reported an I/O error");
    EXPECT_EQ(failure_reason(base::make_error("UNIQUE constraint failed")), nullptr);
}

// ---- grants ------------------------------------------------------------------

TEST_F(StoreTest, GrantRoundTrip) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    Grant g = sample_grant("alice", 1700000000);
    g.state = GrantState::Revoked;
    g.ended_at = 1700000100;
    g.ended_by = "root";
    g.reason = "quote ' and \"double\" and ; DROP TABLE grants; --";
    ASSERT_TRUE(s->insert_grant(g).ok());

    auto got = s->get_grant(g.id);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_TRUE(got->has_value());
    const Grant& r = **got;
    EXPECT_EQ(r.id, g.id);
    EXPECT_EQ(r.user, g.user);
    EXPECT_EQ(r.role, g.role);
    EXPECT_EQ(r.start, g.start);
    EXPECT_EQ(r.end, g.end);
    EXPECT_EQ(r.reason, g.reason);
    EXPECT_EQ(r.factor, g.factor);
    EXPECT_EQ(r.source, g.source);
    EXPECT_EQ(r.state, g.state);
    EXPECT_EQ(r.ended_at, g.ended_at);
    EXPECT_EQ(r.ended_by, g.ended_by);

    auto missing = s->get_grant("no-such-grant");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
}

TEST_F(StoreTest, DuplicateGrantIdIsAnError) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    Grant g = sample_grant("alice", 1);
    ASSERT_TRUE(s->insert_grant(g).ok());
    auto r = s->insert_grant(g);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("storing grant"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("UNIQUE"), std::string::npos) << r.error().message;
}

TEST_F(StoreTest, ActiveGrantsReturnsOnlyActive) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    Grant a = sample_grant("alice", 100);
    Grant b = sample_grant("bob", 200);
    Grant c = sample_grant("carol", 300);
    c.state = GrantState::Expired;
    c.ended_at = 400;
    c.ended_by = "expiry";
    for (const Grant& g : {a, b, c}) ASSERT_TRUE(s->insert_grant(g).ok());
    ASSERT_TRUE(s->end_grant(b.id, GrantState::Dropped, 250, "bob").value());

    auto active = s->active_grants();
    ASSERT_TRUE(active.ok());
    ASSERT_EQ(active->size(), 1u);
    EXPECT_EQ((*active)[0].id, a.id);
    EXPECT_EQ((*active)[0].state, GrantState::Active);
}

TEST_F(StoreTest, ActiveGrantsMatchingFiltersOrdersLimitsAndCounts) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    // alice: db-admin ends 3700, web-admin ends 2800; bob: db-admin ends 2900;
    // carol's grant ended at 2700 (past `now` = 2750) but is still 'active'.
    Grant a1 = sample_grant("alice", 1000);
    Grant a2 = sample_grant("alice", 100);
    a2.role = "web-admin";
    Grant b = sample_grant("bob", 200);
    Grant c = sample_grant("carol", 0);
    for (const Grant& g : {a1, a2, b, c}) ASSERT_TRUE(s->insert_grant(g).ok());
    const int64_t now = 2750;

    auto all = s->active_grants_matching("", "", now, 100);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 3u);      // carol's is past its end
    EXPECT_EQ((*all)[0].id, a2.id);  // soonest to end first
    EXPECT_EQ((*all)[1].id, b.id);
    EXPECT_EQ((*all)[2].id, a1.id);
    EXPECT_EQ(s->count_active_matching("", "", now).value(), 3u);

    auto limited = s->active_grants_matching("", "", now, 1);
    ASSERT_TRUE(limited.ok());
    ASSERT_EQ(limited->size(), 1u);

    EXPECT_EQ(s->active_grants_matching("alice", "", now, 100)->size(), 2u);
    EXPECT_EQ(s->active_grants_matching("", "db-admin", now, 100)->size(), 2u);
    EXPECT_EQ(s->active_grants_matching("alice", "db-admin", now, 100)->size(), 1u);
    EXPECT_EQ(s->count_active_matching("bob", "web-admin", now).value(), 0u);
}

TEST_F(StoreTest, ForEachActiveMembershipStreamsEveryActiveGrant) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    Grant a = sample_grant("alice", 100);
    Grant b = sample_grant("bob", 200);
    for (const Grant& g : {a, b}) ASSERT_TRUE(s->insert_grant(g).ok());
    ASSERT_TRUE(s->end_grant(b.id, GrantState::Revoked, 300, "root").value());
    std::vector<std::string> seen;
    ASSERT_TRUE(s->for_each_active_membership([&](std::string_view user, std::string_view role, int64_t end) {
                     seen.push_back(std::string(user) + "/" + std::string(role) + "/" + std::to_string(end));
                 }).ok());
    EXPECT_EQ(seen, (std::vector<std::string>{"alice/db-admin/2800"}));
}

TEST_F(StoreTest, EndGrantOnlyOnce) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    Grant g = sample_grant("alice", 100);
    ASSERT_TRUE(s->insert_grant(g).ok());

    auto first = s->end_grant(g.id, GrantState::Revoked, 150, "root");
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(*first);
    auto second = s->end_grant(g.id, GrantState::Expired, 160, "expiry");
    ASSERT_TRUE(second.ok());
    EXPECT_FALSE(*second);

    auto got = s->get_grant(g.id);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->state, GrantState::Revoked);
    EXPECT_EQ((*got)->ended_at, 150);
    EXPECT_EQ((*got)->ended_by, "root");

    auto unknown = s->end_grant("no-such-grant", GrantState::Revoked, 1, "root");
    ASSERT_TRUE(unknown.ok());
    EXPECT_FALSE(*unknown);
    EXPECT_FALSE(s->end_grant(g.id, GrantState::Active, 1, "root").ok());
}

TEST_F(StoreTest, GrantsForUserNewestFirstAndLimited) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    std::vector<Grant> alice;
    for (int i = 0; i < 5; ++i) {
        alice.push_back(sample_grant("alice", 1000 + i * 10));
        ASSERT_TRUE(s->insert_grant(alice.back()).ok());
        ASSERT_TRUE(s->insert_grant(sample_grant("bob", 1005 + i * 10)).ok());
    }
    ASSERT_TRUE(s->end_grant(alice[1].id, GrantState::Expired, 2000, "expiry").value());

    auto three = s->grants_for_user("alice", 3);
    ASSERT_TRUE(three.ok());
    ASSERT_EQ(three->size(), 3u);
    EXPECT_EQ((*three)[0].id, alice[4].id);
    EXPECT_EQ((*three)[1].id, alice[3].id);
    EXPECT_EQ((*three)[2].id, alice[2].id);

    auto all = s->grants_for_user("alice", 100);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 5u);  // ended grants are kept (access reviews)
    EXPECT_EQ((*all)[3].id, alice[1].id);
    EXPECT_EQ((*all)[3].state, GrantState::Expired);
    for (const Grant& g : *all) EXPECT_EQ(g.user, "alice");

    auto none = s->grants_for_user("alice", 0);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    auto nobody = s->grants_for_user("nobody", 10);
    ASSERT_TRUE(nobody.ok());
    EXPECT_TRUE(nobody->empty());
}

TEST_F(StoreTest, GrantStateNames) {
    for (GrantState st : {GrantState::Active, GrantState::Expired, GrantState::Revoked, GrantState::Dropped}) {
        auto back = parse_grant_state(grant_state_name(st));
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(*back, st);
    }
    EXPECT_STREQ(grant_state_name(GrantState::Active), "active");
    EXPECT_STREQ(grant_state_name(GrantState::Expired), "expired");
    EXPECT_STREQ(grant_state_name(GrantState::Revoked), "revoked");
    EXPECT_STREQ(grant_state_name(GrantState::Dropped), "dropped");
    EXPECT_FALSE(parse_grant_state("Active").has_value());
    EXPECT_FALSE(parse_grant_state("").has_value());
}

TEST_F(StoreTest, GrantIdFormatAndUniqueness) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        std::string id = new_grant_id();
        ASSERT_EQ(id.size(), 36u) << id;
        for (size_t k = 0; k < id.size(); ++k) {
            if (k == 8 || k == 13 || k == 18 || k == 23) {
                ASSERT_EQ(id[k], '-') << id;
            } else {
                ASSERT_TRUE((id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'f')) << id;
            }
        }
        EXPECT_EQ(id[14], '4') << id;                                          // version 4
        EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // RFC 4122 variant
        EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
    }
}

// ---- factors -----------------------------------------------------------------

TEST_F(StoreTest, FactorsReplaceReadDelete) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    // Every byte value, including NUL, must survive.
    std::string seed1;
    for (int i = 0; i < 256; ++i) seed1.push_back(static_cast<char>(i));
    const std::string seed2 = std::string("\x00\x01secret\xff", 9);

    ASSERT_TRUE(s->replace_factor(sample_factor("alice", seed1)).ok());
    ASSERT_TRUE(s->replace_factor(sample_factor("bob", "bob-seed")).ok());

    auto got = s->factors_for_user("alice");
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_EQ(got->size(), 1u);
    const Factor& f = (*got)[0];
    EXPECT_GT(f.id, 0);
    EXPECT_EQ(f.user, "alice");
    EXPECT_EQ(f.kind, "totp");
    EXPECT_EQ(f.label, "phone");
    EXPECT_TRUE(f.secret.equals(seed1));
    EXPECT_EQ(f.algorithm, "sha256");
    EXPECT_EQ(f.digits, 8);
    EXPECT_EQ(f.period, 60);
    EXPECT_EQ(f.created, 1700000000);

    // Replacing leaves exactly one factor of that kind, with the new secret.
    Factor again = sample_factor("alice", seed2);
    again.label = "new phone";
    ASSERT_TRUE(s->replace_factor(again).ok());
    got = s->factors_for_user("alice");
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);
    EXPECT_TRUE((*got)[0].secret.equals(seed2));
    EXPECT_EQ((*got)[0].label, "new phone");

    // Another kind is kept alongside.
    Factor backup = sample_factor("alice", "");
    backup.kind = "backup";
    ASSERT_TRUE(s->replace_factor(backup).ok());
    got = s->factors_for_user("alice");
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 2u);
    EXPECT_TRUE((*got)[1].secret.empty());

    auto deleted = s->delete_factors("alice", "totp");
    ASSERT_TRUE(deleted.ok());
    EXPECT_TRUE(*deleted);
    deleted = s->delete_factors("alice", "totp");
    ASSERT_TRUE(deleted.ok());
    EXPECT_FALSE(*deleted);
    got = s->factors_for_user("alice");
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].kind, "backup");

    got = s->factors_for_user("bob");
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);
    EXPECT_TRUE((*got)[0].secret.equals("bob-seed"));
}

TEST_F(StoreTest, FailedReplaceKeepsOldFactor) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->replace_factor(sample_factor("alice", "old")).ok());
    // Make the insert fail after the delete has run inside the transaction
    // (with the store closed: it keeps the file locked while open).
    s.reset();
    ASSERT_EQ(raw_exec("CREATE TRIGGER test_fail BEFORE INSERT ON factors WHEN NEW.label = 'boom' "
                       "BEGIN SELECT RAISE(ABORT, 'boom'); END"),
              SQLITE_OK);
    s = open_ok();
    ASSERT_TRUE(s);
    Factor bad = sample_factor("alice", "new");
    bad.label = "boom";
    auto r = s->replace_factor(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("replacing factor"), std::string::npos) << r.error().message;

    auto got = s->factors_for_user("alice");
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);
    EXPECT_TRUE((*got)[0].secret.equals("old"));

    // No transaction was left open: the next replace works.
    ASSERT_TRUE(s->replace_factor(sample_factor("alice", "newer")).ok());
    got = s->factors_for_user("alice");
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);
    EXPECT_TRUE((*got)[0].secret.equals("newer"));
}

// ---- TOTP steps --------------------------------------------------------------

// Enrolls `user` and returns the id of the new factor.
int64_t enroll(Store& s, const std::string& user, std::string_view secret = "s3cr3t") {
    EXPECT_TRUE(s.replace_factor(sample_factor(user, secret)).ok());
    auto f = s.factors_for_user(user);
    EXPECT_TRUE(f.ok() && f->size() == 1u);
    return f.ok() && !f->empty() ? f->front().id : -1;
}

TEST_F(StoreTest, ClaimTotpStepMovesForwardPerFactor) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    const int64_t alice = enroll(*s, "alice"), bob = enroll(*s, "bob");
    EXPECT_EQ(s->claim_totp_step(alice, 56666666).value(), StepClaim::Claimed);
    EXPECT_EQ(s->claim_totp_step(alice, 56666666).value(), StepClaim::Replayed);
    EXPECT_EQ(s->claim_totp_step(alice, 56666665).value(), StepClaim::Older);
    EXPECT_EQ(s->claim_totp_step(bob, 56666665).value(), StepClaim::Claimed);  // another factor
    EXPECT_EQ(s->claim_totp_step(alice, 56666667).value(), StepClaim::Claimed);
    EXPECT_EQ(s->claim_totp_step(alice, 56666666).value(), StepClaim::Older);
    EXPECT_EQ(s->claim_totp_step(alice, 0).value(), StepClaim::Older);
    EXPECT_EQ(s->claim_totp_step(alice, 56666667).value(), StepClaim::Replayed);
}

TEST_F(StoreTest, ClaimForUnknownFactorIsAnError) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    auto r = s->claim_totp_step(4242, 1);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("recording used TOTP step"), std::string::npos) << r.error().message;
}

TEST_F(StoreTest, ClaimSurvivesReopen) {
    int64_t id = 0;
    {
        auto s = open_ok();
        ASSERT_TRUE(s);
        id = enroll(*s, "alice");
        EXPECT_EQ(s->claim_totp_step(id, 42).value(), StepClaim::Claimed);
    }
    auto s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->claim_totp_step(id, 42).value(), StepClaim::Replayed);
    EXPECT_EQ(s->claim_totp_step(id, 41).value(), StepClaim::Older);
}

TEST_F(StoreTest, HighWaterMarkGoesWithItsFactor) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    const int64_t old_id = enroll(*s, "alice");
    ASSERT_EQ(s->claim_totp_step(old_id, 1000).value(), StepClaim::Claimed);
    // Re-enrolling replaces the factor and its mark; SQLite may even give the
    // new factor the old id, which must not inherit the old mark.
    const int64_t new_id = enroll(*s, "alice", "new seed");
    EXPECT_EQ(s->claim_totp_step(new_id, 10).value(), StepClaim::Claimed);
    ASSERT_TRUE(s->delete_factors("alice", "totp").value());
    EXPECT_FALSE(s->claim_totp_step(new_id, 11).ok());
}

// An upgrade must not reopen codes used before it: the used steps of a
// schema-3 database (per user, in seconds) become each factor's mark.
TEST_F(StoreTest, MigrationFromSchema3CarriesUsedStepsOver) {
    // A version 3 database, built by the migrations that shipped.
    ASSERT_EQ(::close(::open(db_path().c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr), SQLITE_OK);
    auto v3 = schema::migrate(db, db_path(), 3);
    ASSERT_TRUE(v3.ok()) << v3.error().message;
    ASSERT_EQ(*v3, 3);
    // alice (30 s) used steps 56666665 and 56666666 (at 30 s each), bob (60 s)
    // used 28333333; carol never used a code.
    const char* rows = R"sql(
INSERT INTO factors (id, user, kind, label, secret, algorithm, digits, period, created) VALUES
    (1, 'alice', 'totp', 'phone', x'00', 'sha1', 6, 30, 0),
    (2, 'bob',   'totp', 'phone', x'00', 'sha1', 6, 60, 0),
    (3, 'carol', 'totp', 'phone', x'00', 'sha1', 6, 30, 0);
INSERT INTO totp_used (user, step) VALUES
    ('alice', 1699999950), ('alice', 1699999980), ('bob', 1699999980);
)sql";
    ASSERT_EQ(sqlite3_exec(db, rows, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);

    auto s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), schema::latest_version());
    EXPECT_EQ(s->claim_totp_step(1, 56666666).value(), StepClaim::Replayed);
    EXPECT_EQ(s->claim_totp_step(1, 56666665).value(), StepClaim::Older);
    EXPECT_EQ(s->claim_totp_step(1, 56666667).value(), StepClaim::Claimed);
    EXPECT_EQ(s->claim_totp_step(2, 28333333).value(), StepClaim::Replayed);
    EXPECT_EQ(s->claim_totp_step(2, 28333334).value(), StepClaim::Claimed);
    EXPECT_EQ(s->claim_totp_step(3, 1).value(), StepClaim::Claimed);

    // totp_used is emptied: nothing reads it any more. (The store holds the
    // file exclusively while it is open.)
    s.reset();
    ASSERT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM totp_used", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

// ---- failures ----------------------------------------------------------------

TEST_F(StoreTest, FailureStateRoundTripAndClear) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    auto none = s->failure_state("alice");
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->failures, 0);
    EXPECT_EQ(none->first_failure, 0);
    EXPECT_EQ(none->locked_until, 0);

    ASSERT_TRUE(s->set_failure_state("alice", FailureState{3, 1000, 0}).ok());
    ASSERT_TRUE(s->set_failure_state("alice", FailureState{5, 1000, 1900}).ok());  // overwrite
    ASSERT_TRUE(s->set_failure_state("bob", FailureState{1, 1200, 0}).ok());
    auto a = s->failure_state("alice");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->failures, 5);
    EXPECT_EQ(a->first_failure, 1000);
    EXPECT_EQ(a->locked_until, 1900);

    ASSERT_TRUE(s->clear_failures("alice").ok());
    a = s->failure_state("alice");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->failures, 0);
    EXPECT_EQ(a->locked_until, 0);
    auto b = s->failure_state("bob");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->failures, 1);
}

// ---- audit -------------------------------------------------------------------

AuditRecord sample_audit(int64_t time, const std::string& event) {
    AuditRecord r;
    r.time = time;
    r.event = event;
    r.actor = "root";
    r.user = "alice";
    r.role = "db-admin";
    r.grant_id = "g-" + std::to_string(time);
    r.source = "elevatectl";
    r.result = "ok";
    r.reason = "because " + event;
    return r;
}

TEST_F(StoreTest, AuditAppendAndTail) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(s->append_audit(sample_audit(i, "event" + std::to_string(i))).ok());

    auto tail = s->audit_tail(3);
    ASSERT_TRUE(tail.ok()) << tail.error().message;
    ASSERT_EQ(tail->size(), 3u);
    // The newest three, oldest first.
    EXPECT_EQ((*tail)[0].event, "event3");
    EXPECT_EQ((*tail)[1].event, "event4");
    EXPECT_EQ((*tail)[2].event, "event5");
    const AuditRecord& r = (*tail)[2];
    EXPECT_EQ(r.time, 5);
    EXPECT_EQ(r.actor, "root");
    EXPECT_EQ(r.user, "alice");
    EXPECT_EQ(r.role, "db-admin");
    EXPECT_EQ(r.grant_id, "g-5");
    EXPECT_EQ(r.source, "elevatectl");
    EXPECT_EQ(r.result, "ok");
    EXPECT_EQ(r.reason, "because event5");

    auto all = s->audit_tail(100);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 5u);
    EXPECT_EQ(all->front().event, "event1");
    auto none = s->audit_tail(0);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST_F(StoreTest, AuditIsAppendOnly) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->append_audit(sample_audit(1, "activate")).ok());
    s.reset();  // the store keeps the file locked while open

    std::string err;
    EXPECT_NE(raw_exec("UPDATE audit SET result = 'denied'", &err), SQLITE_OK);
    EXPECT_NE(err.find("append-only"), std::string::npos) << err;
    err.clear();
    EXPECT_NE(raw_exec("DELETE FROM audit", &err), SQLITE_OK);
    EXPECT_NE(err.find("append-only"), std::string::npos) << err;

    s = open_ok();
    ASSERT_TRUE(s);
    auto tail = s->audit_tail(10);
    ASSERT_TRUE(tail.ok());
    ASSERT_EQ(tail->size(), 1u);
    EXPECT_EQ((*tail)[0].result, "ok");
}

// ---- approval requests and locks (schema v3) --------------------------------

Request sample_request(const std::string& user, int64_t created) {
    Request r;
    r.user = user;
    r.role = "prod-db";
    r.reason = "INC-1";
    r.duration = 3600;
    r.created = created;
    r.expires = created + 7200;
    r.needed = 2;
    r.approvers = "group:sec-leads,user:carol";
    r.factor = "totp";
    r.source = "elevatectl";
    return r;
}

TEST_F(StoreTest, RequestsAreNumberedAndRoundTrip) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    auto a = s->insert_request(sample_request("alice", 1000));
    auto b = s->insert_request(sample_request("bob", 1001));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->id, 1);
    EXPECT_EQ(b->id, 2);
    auto got = s->get_request(1);
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ((*got)->user, "alice");
    EXPECT_EQ((*got)->approvers, "group:sec-leads,user:carol");
    EXPECT_EQ((*got)->state, RequestState::Pending);
    EXPECT_EQ((*got)->needed, 2);
    auto missing = s->get_request(99);
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(*missing);
    auto pending = s->pending_requests();
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(pending->size(), 2u);
}

TEST_F(StoreTest, LastApprovalInsertsGrantInSameTransaction) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    auto r = s->insert_request(sample_request("alice", 1000));
    ASSERT_TRUE(r.ok());
    auto first = s->add_approval({r->id, "carol", 1100, "totp"}, nullptr);
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(*first);
    auto twice = s->add_approval({r->id, "carol", 1101, "totp"}, nullptr);
    ASSERT_TRUE(twice.ok());
    EXPECT_FALSE(*twice) << "one approver counts once";

    Grant g;
    g.id = new_grant_id();
    g.user = "alice";
    g.role = "prod-db";
    g.start = 1200;
    g.end = 4800;
    auto last = s->add_approval({r->id, "dave", 1200, "push"}, &g);
    ASSERT_TRUE(last.ok());
    EXPECT_TRUE(*last);
    auto got = s->get_request(r->id);
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ((*got)->state, RequestState::Approved);
    EXPECT_EQ((*got)->grant_id, g.id);
    EXPECT_EQ((*got)->approved_by, (std::vector<std::string>{"carol", "dave"}));
    auto stored = s->get_grant(g.id);
    ASSERT_TRUE(stored.ok() && *stored);

    // No approvals once decided.
    auto late = s->add_approval({r->id, "erin", 1300, "totp"}, nullptr);
    ASSERT_TRUE(late.ok());
    EXPECT_FALSE(*late);
}

TEST_F(StoreTest, FailedGrantInsertRollsBackTheApproval) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    Grant existing;
    existing.id = new_grant_id();
    existing.user = "x";
    existing.role = "y";
    ASSERT_TRUE(s->insert_grant(existing).ok());
    auto r = s->insert_request(sample_request("alice", 1000));
    ASSERT_TRUE(r.ok());
    Grant clash = existing;  // same id: the insert fails
    auto last = s->add_approval({r->id, "carol", 1100, "totp"}, &clash);
    EXPECT_FALSE(last.ok());
    auto got = s->get_request(r->id);
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ((*got)->state, RequestState::Pending);
    EXPECT_TRUE((*got)->approved_by.empty()) << "the approval must not outlive the failed grant";
}

TEST_F(StoreTest, FinishRequestOnlyWhilePending) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    auto r = s->insert_request(sample_request("alice", 1000));
    ASSERT_TRUE(r.ok());
    auto denied = s->finish_request(r->id, RequestState::Denied, 1100, "carol", "freeze");
    ASSERT_TRUE(denied.ok());
    EXPECT_TRUE(*denied);
    auto again = s->finish_request(r->id, RequestState::Cancelled, 1200, "alice", "");
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);
    auto got = s->get_request(r->id);
    EXPECT_EQ((*got)->state, RequestState::Denied);
    EXPECT_EQ((*got)->decision_reason, "freeze");
    auto mine = s->requests_of_user("alice", 0, 10);
    ASSERT_TRUE(mine.ok());
    EXPECT_EQ(mine->size(), 1u);
    EXPECT_TRUE(s->requests_of_user("alice", 1001, 10)->empty());
}

TEST_F(StoreTest, RequestStateNames) {
    for (RequestState st : {RequestState::Pending, RequestState::Approved, RequestState::Denied,
                            RequestState::Cancelled, RequestState::Expired})
        EXPECT_EQ(parse_request_state(request_state_name(st)), st);
    EXPECT_FALSE(parse_request_state("maybe"));
}

TEST_F(StoreTest, LocksPersistUntilCleared) {
    {
        auto s = open_ok();
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->set_lock({"alice", 1000, "push reported as fraud"}).ok());
    }
    auto s = open_ok();
    ASSERT_TRUE(s);
    auto lock = s->get_lock("alice");
    ASSERT_TRUE(lock.ok() && *lock);
    EXPECT_EQ((*lock)->reason, "push reported as fraud");
    EXPECT_FALSE(*s->get_lock("bob"));
    EXPECT_TRUE(*s->clear_lock("alice"));
    EXPECT_FALSE(*s->clear_lock("alice"));
    EXPECT_FALSE(*s->get_lock("alice"));
}

// ---- risk (schema v5) -------------------------------------------------------

// A version 4 database with grants and factors gains the risk tables, keeps
// what it held, and the risk state written after the upgrade reads back.
TEST_F(StoreTest, MigrationFromSchema4AddsRiskTables) {
    ASSERT_EQ(::close(::open(db_path().c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr), SQLITE_OK);
    auto v4 = schema::migrate(db, db_path(), 4);
    ASSERT_TRUE(v4.ok()) << v4.error().message;
    ASSERT_EQ(*v4, 4);
    const char* rows = R"sql(
INSERT INTO factors (id, user, kind, label, secret, algorithm, digits, period, created) VALUES
    (1, 'alice', 'totp', 'phone', x'00', 'sha1', 6, 30, 0);
INSERT INTO totp_high_water (factor_id, step) VALUES (1, 56666666);
)sql";
    ASSERT_EQ(sqlite3_exec(db, rows, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);

    auto s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->schema_version(), 5);
    EXPECT_EQ(s->claim_totp_step(1, 56666666).value(), StepClaim::Replayed);
    EXPECT_TRUE(s->risk_users().value().empty());

    RiskChange c;
    c.events.push_back({100, "wrong-code", "alice", "10.9.9.0/24", "wrong verification code", 10});
    c.user = RiskUserRow{"alice", 10.5, 100, false};
    c.source = RiskSourceRow{"10.9.9.0/24", 50, 100};
    c.signed_in_user = "alice";
    c.signed_in_network = "10.9.9.0/24";
    c.signed_in_hour = 8;
    c.signed_in_at = 100;
    ASSERT_TRUE(s->record_risk(c).ok());
    s.reset();

    s = open_ok();
    ASSERT_TRUE(s);
    auto users = s->risk_users().value();
    ASSERT_EQ(users.size(), 1u);
    EXPECT_EQ(users[0].user, "alice");
    EXPECT_DOUBLE_EQ(users[0].score, 10.5);
    auto sources = s->risk_sources().value();
    ASSERT_EQ(sources.size(), 1u);
    EXPECT_EQ(sources[0].network, "10.9.9.0/24");
    auto events = s->risk_events_of("alice", 10).value();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "wrong-code");
    EXPECT_EQ(events[0].weight, 10);
    EXPECT_TRUE(s->risk_network_seen("alice", "10.9.9.0/24").value());
    EXPECT_FALSE(s->risk_network_seen("alice", "10.9.8.0/24").value());
    EXPECT_EQ(s->risk_hours("alice").value()[8], 1);
}

TEST_F(StoreTest, RiskEventsAreTrimmedPerUser) {
    auto s = open_ok();
    ASSERT_TRUE(s);
    for (int i = 0; i < 10; ++i) {
        RiskChange c;
        c.max_events_per_user = 3;
        c.events.push_back({i, "wrong-code", "alice", "", std::to_string(i), 10});
        c.events.push_back({i, "wrong-code", "bob", "", std::to_string(i), 10});
        ASSERT_TRUE(s->record_risk(c).ok());
    }
    auto events = s->risk_events_of("alice", 100).value();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].evidence, "9");  // newest first
    EXPECT_EQ(events[2].evidence, "7");
    EXPECT_EQ(s->risk_events_of("bob", 100).value().size(), 3u);
    ASSERT_TRUE(s->prune_risk(9).ok());
    EXPECT_EQ(s->risk_events_of("alice", 100).value().size(), 1u);
}

}  // namespace
}  // namespace elevate::store
