// SQLite implementation of the state store. Schema, durability settings and
// permission rules: docs/STATE.md.
#include "daemon/store/store.h"

#include "common/base/unique_fd.h"
#include "daemon/store/schema.h"
#include "daemon/store/sqlite_handle.h"
#include "daemon/store/store_impl.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>
#include <utility>

namespace elevate::store {
namespace {

constexpr const char kDbName[] = "elevate.db";

// ---- permission checks -------------------------------------------------------
// The state holds TOTP seeds: it must be private to the daemon's user before
// SQLite ever reads it (DESIGN.md invariant 1).

std::string octal_mode(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

base::Result<void> check_owner_and_mode(const std::string& path, const struct stat& st, const char* what,
                                        const char* wanted_mode) {
    const uid_t me = geteuid();
    if (st.st_uid != me) {
        std::string m = std::string(what) + " " + path + " is owned by uid " + std::to_string(st.st_uid);
        if (me == 0)
            m += ", not root; run: chown root:root " + path;
        else
            m += ", not uid " + std::to_string(me) + " (the user running elevated); run: chown " + std::to_string(me) +
                 " " + path;
        return base::make_error(std::move(m));
    }
    if ((st.st_mode & 077) != 0) {
        // Even read or search access for others is refused: the state holds
        // second-factor secrets, so only the daemon's user may reach it.
        return base::make_error(std::string(what) + " " + path + " is group/world-accessible (mode " +
                                octal_mode(st.st_mode) + "); it holds second-factor secrets, so mode " + wanted_mode +
                                " is required; run: chmod " + wanted_mode + " " + path);
    }
    return {};
}

base::Result<void> check_state_dir(const std::string& dir) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        if (errno == ENOENT)
            return base::make_error("state directory " + dir + " does not exist; create it: install -d -m 0700 " + dir,
                                    ENOENT);
        return base::errno_error("state directory " + dir);
    }
    // A symlink could point the daemon's secrets somewhere another user controls.
    if (S_ISLNK(st.st_mode))
        return base::make_error("state directory " + dir +
                                " is a symlink; configure the real directory it points to instead");
    if (!S_ISDIR(st.st_mode)) return base::make_error("state directory " + dir + " is not a directory");
    return check_owner_and_mode(dir, st, "state directory", "0700");
}

// Creates the database file 0600 if it is missing (so SQLite never creates it
// under whatever umask the daemon inherited) and checks an existing one.
base::Result<void> prepare_db_file(const std::string& path) {
    base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.ok()) {
        if (errno == ELOOP)
            return base::make_error("database file " + path + " is a symlink; remove it (rm " + path +
                                        ") and restore the real file from a backup",
                                    ELOOP);
        return base::errno_error("opening database file " + path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return base::errno_error("database file " + path);
    if (!S_ISREG(st.st_mode)) return base::make_error("database file " + path + " is not a regular file");
    // `fd` is closed on return, before SQLite opens the file: closing any
    // descriptor of a file drops every POSIX lock this process holds on it,
    // SQLite's included.
    return check_owner_and_mode(path, st, "database file", "0600");
}

// -wal and -shm may be left over from a previous run; they hold database pages
// (seeds included), so they get the same checks. Missing is fine.
base::Result<void> check_sidecar(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return base::errno_error("database file " + path);
    }
    if (S_ISLNK(st.st_mode))
        return base::make_error("database file " + path + " is a symlink; stop elevated and remove it: rm " + path);
    if (!S_ISREG(st.st_mode)) return base::make_error("database file " + path + " is not a regular file");
    return check_owner_and_mode(path, st, "database file", "0600");
}

// ---- connection settings -----------------------------------------------------

struct Setting {
    const char* set;
    const char* get;
    const char* expect;
};

// Each is read back: a PRAGMA that SQLite silently ignores (e.g. WAL on a
// filesystem without shared memory) must not leave us less durable than we say.
constexpr Setting kSettings[] = {
    // The store runs on the event loop's only thread: a wait for a lock
    // holds every client (sudo and sshd included), so it is short.
    {"PRAGMA busy_timeout = 200", "PRAGMA busy_timeout", "200"},
    // No other process may lock the daemon's state while it runs (take_lock
    // below): set before the first WAL access, so no -shm is used either.
    {"PRAGMA locking_mode = EXCLUSIVE", "PRAGMA locking_mode", "exclusive"},
    // WAL + FULL: every commit is fsynced to the WAL before it returns, so an
    // acknowledged grant survives kill -9 and power loss (invariant 6).
    {"PRAGMA journal_mode = WAL", "PRAGMA journal_mode", "wal"},
    {"PRAGMA synchronous = FULL", "PRAGMA synchronous", "2"},
    {"PRAGMA foreign_keys = ON", "PRAGMA foreign_keys", "1"},
    // Freed pages are zeroed, so a deleted or replaced seed is not left behind.
    {"PRAGMA secure_delete = ON", "PRAGMA secure_delete", "1"},
    // Checkpoints are run by Store::checkpoint() from the daemon's timer,
    // not inside whichever commit crosses the threshold.
    {"PRAGMA wal_autocheckpoint = 0", "PRAGMA wal_autocheckpoint", "0"},
    // After a checkpoint the WAL is cut back to this size (64 MiB) instead
    // of keeping its high-water mark.
    {"PRAGMA journal_size_limit = 67108864", "PRAGMA journal_size_limit", "67108864"},
};

base::Error open_error(sqlite3* db, const std::string& path, std::string_view what) {
    base::Error e = sqlite_error(db, "opening " + path + " (" + std::string(what) + ")");
    if (db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == SQLITE_NOTADB)
        e.message += "; move it aside and restore " + path + " from a backup";
    else if (e.code == EBUSY)
        e.message += "; " + std::string(failure_reason(e)) +
                     ", which must not open it while elevated runs (find it: fuser -v " + path + ")";
    return e;
}

base::Result<std::string> pragma_value(sqlite3* db, const char* sql, const std::string& path) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return open_error(db, path, sql);
    SqliteStmt st(raw);
    Query q(db, st.get());
    std::string value;
    bool first = true;
    for (;;) {
        auto row = q.step(sql);
        if (!row) return open_error(db, path, sql);
        if (!*row) break;
        if (first) value = q.column_text(0);
        first = false;
    }
    return value;
}

// Takes the exclusive lock now (kept until the daemon closes the store),
// so a process that holds the file is found at start-up, not by a request.
base::Result<void> take_lock(sqlite3* db, const std::string& path) {
    if (sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
        return open_error(db, path, "locking");
    return {};
}

base::Result<void> configure(sqlite3* db, const std::string& path) {
    // Defensive: no writable_schema or other ways for SQL to corrupt the file.
    // Untrusted schema: triggers and views may not call functions with side
    // effects, in case someone else's file is put in place of ours.
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, static_cast<int*>(nullptr)) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, static_cast<int*>(nullptr)) != SQLITE_OK)
        return open_error(db, path, "db_config");
    for (const auto& s : kSettings) {
        auto set = pragma_value(db, s.set, path);
        if (!set) return std::move(set).error();
        auto got = pragma_value(db, s.get, path);
        if (!got) return std::move(got).error();
        if (*got != s.expect)
            return base::make_error("opening " + path + ": " + s.set + " did not take effect (got '" + *got +
                                    "'); is the state directory on a local filesystem?");
    }
    return {};
}

// ---- SQL ---------------------------------------------------------------------
// Every statement is a constant with bound parameters; the cache is keyed by
// the address of these arrays.

#define ELEVATE_GRANT_COLUMNS "id, user, role, start, \"end\", reason, factor, source, state, ended_at, ended_by"
constexpr const char kInsertGrant[] =
    "INSERT INTO grants (" ELEVATE_GRANT_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char kGetGrant[] = "SELECT " ELEVATE_GRANT_COLUMNS " FROM grants WHERE id = ?";
constexpr const char kActiveGrants[] =
    "SELECT " ELEVATE_GRANT_COLUMNS " FROM grants WHERE state = 'active' ORDER BY \"end\", id";
constexpr const char kGrantsForUser[] =
    "SELECT " ELEVATE_GRANT_COLUMNS " FROM grants WHERE user = ? ORDER BY start DESC, rowid DESC LIMIT ?";
constexpr const char kActiveGrantsForUser[] =
    "SELECT " ELEVATE_GRANT_COLUMNS " FROM grants WHERE user = ? AND state = 'active' ORDER BY \"end\", id";
#undef ELEVATE_GRANT_COLUMNS
constexpr const char kActiveExpiries[] = "SELECT \"end\", id FROM grants WHERE state = 'active'";
constexpr const char kActiveMemberships[] = "SELECT user, role, \"end\" FROM grants WHERE state = 'active'";
// '' matches any user or role; the (state) index narrows to active grants.
#define ELEVATE_ACTIVE_MATCH \
    " FROM grants WHERE state = 'active' AND \"end\" > ?1 AND (?2 = '' OR user = ?2) AND (?3 = '' OR role = ?3)"
constexpr const char kActiveMatching[] =
    "SELECT id, user, role, start, \"end\", reason, factor, source, state, ended_at, ended_by" ELEVATE_ACTIVE_MATCH
    " ORDER BY \"end\", id LIMIT ?4";
constexpr const char kCountActiveMatching[] = "SELECT count(*)" ELEVATE_ACTIVE_MATCH;
#undef ELEVATE_ACTIVE_MATCH

#define ELEVATE_SESSION_COLUMNS "id, user, grant_id, pid, pid_start, service, rhost, tty, opened, closed, closed_by"
constexpr const char kInsertSession[] =
    "INSERT INTO sessions (" ELEVATE_SESSION_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char kGetSession[] = "SELECT " ELEVATE_SESSION_COLUMNS " FROM sessions WHERE id = ?";
constexpr const char kOpenSessionsForGrant[] =
    "SELECT " ELEVATE_SESSION_COLUMNS " FROM sessions WHERE grant_id = ? AND closed = 0 ORDER BY opened";
constexpr const char kOpenSessions[] =
    "SELECT " ELEVATE_SESSION_COLUMNS " FROM sessions WHERE closed = 0 ORDER BY opened";
#undef ELEVATE_SESSION_COLUMNS
constexpr const char kCloseSession[] = "UPDATE sessions SET closed = ?, closed_by = ? WHERE id = ? AND closed = 0";
constexpr const char kEndGrant[] =
    "UPDATE grants SET state = ?, ended_at = ?, ended_by = ? WHERE id = ? AND state = 'active'";

constexpr const char kFactorsForUser[] =
    "SELECT id, user, kind, label, secret, algorithm, digits, period, created FROM factors WHERE user = ? ORDER BY id";
constexpr const char kDeleteFactors[] = "DELETE FROM factors WHERE user = ? AND kind = ?";
constexpr const char kInsertFactor[] =
    "INSERT INTO factors (user, kind, label, secret, algorithm, digits, period, created) VALUES (?, ?, ?, ?, ?, ?, ?, "
    "?)";

// Moves the factor's high-water mark only forward; no change means refused.
constexpr const char kClaimStep[] =
    "INSERT INTO totp_high_water (factor_id, step) VALUES (?1, ?2) ON CONFLICT (factor_id) DO UPDATE SET "
    "step = excluded.step WHERE excluded.step > totp_high_water.step";
constexpr const char kHighWater[] = "SELECT step FROM totp_high_water WHERE factor_id = ?";

constexpr const char kGetFailures[] = "SELECT failures, first_failure, locked_until FROM failures WHERE user = ?";
constexpr const char kSetFailures[] =
    "INSERT INTO failures (user, failures, first_failure, locked_until) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (user) DO UPDATE SET failures = excluded.failures, first_failure = excluded.first_failure, "
    "locked_until = excluded.locked_until";
constexpr const char kClearFailures[] = "DELETE FROM failures WHERE user = ?";

constexpr const char kAppendAudit[] =
    "INSERT INTO audit (time, event, actor, user, role, grant_id, source, result, reason) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
// The newest `limit` records, returned oldest first (like tail(1)).
constexpr const char kAuditTail[] =
    "SELECT time, event, actor, user, role, grant_id, source, result, reason FROM "
    "(SELECT * FROM audit ORDER BY seq DESC LIMIT ?) ORDER BY seq";

base::Result<Grant> read_grant(const Query& q) {
    Grant g;
    g.id = q.column_text(0);
    g.user = q.column_text(1);
    g.role = q.column_text(2);
    g.start = q.column_int(3);
    g.end = q.column_int(4);
    g.reason = q.column_text(5);
    g.factor = q.column_text(6);
    g.source = q.column_text(7);
    const std::string state = q.column_text(8);
    auto parsed = parse_grant_state(state);
    if (!parsed) return base::make_error("grant " + g.id + " has unknown state '" + state + "'");
    g.state = *parsed;
    g.ended_at = q.column_int(9);
    g.ended_by = q.column_text(10);
    return g;
}

}  // namespace

// ---- Impl --------------------------------------------------------------------

// ---- Store -------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

base::Result<std::unique_ptr<Store>> Store::open(const std::string& state_dir) {
    // "dir/" would make lstat follow a symlink: compare the name itself.
    std::string dir = state_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (dir.empty()) return base::make_error("state directory is not set");

    if (auto r = check_state_dir(dir); !r) return std::move(r).error();
    const std::string path = dir == "/" ? std::string("/") + kDbName : dir + "/" + kDbName;
    if (auto r = prepare_db_file(path); !r) return std::move(r).error();
    for (const char* suffix : {"-wal", "-shm"}) {
        if (auto r = check_sidecar(path + suffix); !r) return std::move(r).error();
    }

    // No SQLITE_OPEN_CREATE: the file was created 0600 above; if it vanished
    // since, fail rather than let SQLite create it with the process umask.
    // SQLite gives -wal/-shm the database file's mode.
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    auto impl = std::make_unique<Impl>();
    impl->db.reset(raw);  // owned even on failure: a failed open still allocates
    impl->path = path;
    if (rc != SQLITE_OK) {
        if (raw == nullptr) return base::make_error("opening " + path + ": " + sqlite3_errstr(rc));
        return open_error(raw, path, "open");
    }
    if (auto r = configure(raw, path); !r) return std::move(r).error();
    if (auto r = take_lock(raw, path); !r) return std::move(r).error();
    auto version = schema::migrate(raw, path);
    if (!version) return std::move(version).error();
    impl->version = *version;
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

int Store::schema_version() const {
    return impl_->version;
}

// Grants.

base::Result<void> Store::insert_grant(const Grant& g) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "storing grant";
    auto st = impl_->statement(kInsertGrant, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(g.id)
        .text(g.user)
        .text(g.role)
        .integer(g.start)
        .integer(g.end)
        .text(g.reason)
        .text(g.factor)
        .text(g.source)
        .text(grant_state_name(g.state))
        .integer(g.ended_at)
        .text(g.ended_by);
    return q.run(std::string(op) + " " + g.id);
}

base::Result<std::optional<Grant>> Store::get_grant(const std::string& id) {
    constexpr std::string_view op = "reading grant";
    auto st = impl_->statement(kGetGrant, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(id);
    auto row = q.step(op);
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<Grant>();
    auto g = read_grant(q);
    if (!g) return std::move(g).error();
    return std::optional<Grant>(std::move(g).value());
}

namespace {

base::Result<std::vector<Grant>> read_grants(Query& q, std::string_view op) {
    std::vector<Grant> out;
    for (;;) {
        auto row = q.step(op);
        if (!row) return std::move(row).error();
        if (!*row) break;
        auto g = read_grant(q);
        if (!g) return std::move(g).error();
        out.push_back(std::move(g).value());
    }
    return out;
}

}  // namespace

base::Result<std::vector<Grant>> Store::active_grants() {
    constexpr std::string_view op = "listing active grants";
    auto st = impl_->statement(kActiveGrants, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    return read_grants(q, op);
}

base::Result<std::vector<Grant>> Store::grants_for_user(const std::string& user, int limit) {
    constexpr std::string_view op = "listing grants of a user";
    if (limit <= 0) return std::vector<Grant>();
    auto st = impl_->statement(kGrantsForUser, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user).integer(limit);
    return read_grants(q, op);
}

base::Result<bool> Store::end_grant(const std::string& id, GrantState state, int64_t at, const std::string& by) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "ending grant";
    if (state == GrantState::Active) return base::make_error("ending grant " + id + ": the new state cannot be active");
    auto st = impl_->statement(kEndGrant, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(grant_state_name(state)).integer(at).text(by).text(id);
    if (auto r = q.run(std::string(op) + " " + id); !r) return std::move(r).error();
    return q.changes() > 0;
}

base::Result<std::vector<Grant>> Store::active_grants_for_user(const std::string& user) {
    constexpr std::string_view op = "listing active grants of a user";
    auto st = impl_->statement(kActiveGrantsForUser, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user);
    return read_grants(q, op);
}

base::Result<std::vector<std::pair<int64_t, std::string>>> Store::active_expiries() {
    constexpr std::string_view op = "listing grant end times";
    auto st = impl_->statement(kActiveExpiries, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    std::vector<std::pair<int64_t, std::string>> out;
    for (;;) {
        auto row = q.step(op);
        if (!row) return std::move(row).error();
        if (!*row) break;
        out.emplace_back(q.column_int(0), q.column_text(1));
    }
    return out;
}

base::Result<void> Store::for_each_active_membership(
    const std::function<void(std::string_view user, std::string_view role, int64_t end)>& fn) {
    constexpr std::string_view op = "listing active memberships";
    auto st = impl_->statement(kActiveMemberships, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    for (;;) {
        auto row = q.step(op);
        if (!row) return std::move(row).error();
        if (!*row) return {};
        fn(q.column_view(0), q.column_view(1), q.column_int(2));
    }
}

base::Result<std::vector<Grant>> Store::active_grants_matching(const std::string& user, const std::string& role,
                                                               int64_t now, int limit) {
    constexpr std::string_view op = "listing active grants";
    auto st = impl_->statement(kActiveMatching, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.integer(now).text(user).text(role).integer(limit);
    return read_grants(q, op);
}

base::Result<uint64_t> Store::count_active_matching(const std::string& user, const std::string& role, int64_t now) {
    constexpr std::string_view op = "counting active grants";
    auto st = impl_->statement(kCountActiveMatching, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.integer(now).text(user).text(role);
    auto row = q.step(op);
    if (!row) return std::move(row).error();
    return *row ? uint64_t(q.column_int(0)) : 0;
}

// Factors.

base::Result<std::vector<Factor>> Store::factors_for_user(const std::string& user) {
    constexpr std::string_view op = "reading factors";
    auto st = impl_->statement(kFactorsForUser, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user);
    std::vector<Factor> out;
    for (;;) {
        auto row = q.step(op);
        if (!row) return std::move(row).error();
        if (!*row) break;
        Factor f;
        f.id = q.column_int(0);
        f.user = q.column_text(1);
        f.kind = q.column_text(2);
        f.label = q.column_text(3);
        f.secret = q.column_secret(4);
        f.algorithm = q.column_text(5);
        f.digits = static_cast<int>(q.column_int(6));
        f.period = q.column_int(7);
        f.created = q.column_int(8);
        out.push_back(std::move(f));
    }
    return out;
}

base::Result<void> Store::replace_factor(const Factor& f) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "replacing factor";
    Impl::Transaction tx(*impl_);
    if (auto r = tx.begin(op); !r) return r;
    {
        auto st = impl_->statement(kDeleteFactors, op);
        if (!st) return std::move(st).error();
        Query q(impl_->db.get(), *st);
        q.text(f.user).text(f.kind);
        if (auto r = q.run(op); !r) return r;
    }
    {
        auto st = impl_->statement(kInsertFactor, op);
        if (!st) return std::move(st).error();
        Query q(impl_->db.get(), *st);
        q.text(f.user)
            .text(f.kind)
            .text(f.label)
            .secret(f.secret)
            .text(f.algorithm)
            .integer(f.digits)
            .integer(f.period)
            .integer(f.created);
        if (auto r = q.run(op); !r) return r;
    }
    return tx.commit(op);
}

base::Result<bool> Store::delete_factors(const std::string& user, const std::string& kind) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "deleting factors";
    auto st = impl_->statement(kDeleteFactors, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user).text(kind);
    if (auto r = q.run(op); !r) return std::move(r).error();
    return q.changes() > 0;
}

// TOTP replay protection.

base::Result<StepClaim> Store::claim_totp_step(int64_t factor_id, int64_t step) {
    // FULL: once per accepted code, and a claim lost to a power cut would
    // reopen the code (invariant 5).
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "recording used TOTP step";
    {
        auto st = impl_->statement(kClaimStep, op);
        if (!st) return std::move(st).error();
        Query q(impl_->db.get(), *st);
        q.integer(factor_id).integer(step);
        if (auto r = q.run(op); !r) return std::move(r).error();
        if (q.changes() == 1) return StepClaim::Claimed;
    }
    auto st = impl_->statement(kHighWater, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.integer(factor_id);
    auto row = q.step(op);
    if (!row) return std::move(row).error();
    if (!*row) return base::make_error(std::string(op) + ": no high-water mark after the claim");
    return q.column_int(0) == step ? StepClaim::Replayed : StepClaim::Older;
}

// Failure counters.

base::Result<FailureState> Store::failure_state(const std::string& user) {
    constexpr std::string_view op = "reading failure state";
    auto st = impl_->statement(kGetFailures, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user);
    auto row = q.step(op);
    if (!row) return std::move(row).error();
    FailureState s;
    if (*row) {
        s.failures = static_cast<int>(q.column_int(0));
        s.first_failure = q.column_int(1);
        s.locked_until = q.column_int(2);
    }
    return s;
}

base::Result<void> Store::set_failure_state(const std::string& user, const FailureState& s) {
    if (auto synced = impl_->sync(Impl::Sync::Normal); !synced) return std::move(synced).error();
    constexpr std::string_view op = "storing failure state";
    auto st = impl_->statement(kSetFailures, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user).integer(s.failures).integer(s.first_failure).integer(s.locked_until);
    return q.run(op);
}

base::Result<void> Store::clear_failures(const std::string& user) {
    if (auto synced = impl_->sync(Impl::Sync::Normal); !synced) return std::move(synced).error();
    constexpr std::string_view op = "clearing failure state";
    auto st = impl_->statement(kClearFailures, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(user);
    return q.run(op);
}

// Sessions.

namespace {
Session read_session(const Query& q) {
    Session s;
    s.id = q.column_text(0);
    s.user = q.column_text(1);
    s.grant_id = q.column_text(2);
    s.pid = q.column_int(3);
    s.pid_start = q.column_int(4);
    s.service = q.column_text(5);
    s.rhost = q.column_text(6);
    s.tty = q.column_text(7);
    s.opened = q.column_int(8);
    s.closed = q.column_int(9);
    s.closed_by = q.column_text(10);
    return s;
}
}  // namespace

base::Result<void> Store::insert_session(const Session& s) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "storing session";
    auto st = impl_->statement(kInsertSession, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(s.id)
        .text(s.user)
        .text(s.grant_id)
        .integer(s.pid)
        .integer(s.pid_start)
        .text(s.service)
        .text(s.rhost)
        .text(s.tty)
        .integer(s.opened)
        .integer(s.closed)
        .text(s.closed_by);
    return q.run(op);
}

base::Result<bool> Store::close_session(const std::string& id, int64_t at, const std::string& by) {
    if (auto synced = impl_->sync(Impl::Sync::Full); !synced) return std::move(synced).error();
    constexpr std::string_view op = "closing session";
    auto st = impl_->statement(kCloseSession, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.integer(at).text(by).text(id);
    if (auto r = q.run(op); !r) return std::move(r).error();
    return q.changes() > 0;
}

base::Result<std::optional<Session>> Store::get_session(const std::string& id) {
    constexpr std::string_view op = "reading session";
    auto st = impl_->statement(kGetSession, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(id);
    auto row = q.step(op);
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<Session>();
    return std::optional<Session>(read_session(q));
}

namespace {
base::Result<std::vector<Session>> read_sessions(Query& q, std::string_view op) {
    std::vector<Session> out;
    for (;;) {
        auto row = q.step(op);
        if (!row) return std::move(row).error();
        if (!*row) break;
        out.push_back(read_session(q));
    }
    return out;
}
}  // namespace

base::Result<std::vector<Session>> Store::open_sessions_for_grant(const std::string& grant_id) {
    constexpr std::string_view op = "listing sessions of a grant";
    auto st = impl_->statement(kOpenSessionsForGrant, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.text(grant_id);
    return read_sessions(q, op);
}

base::Result<std::vector<Session>> Store::open_sessions() {
    constexpr std::string_view op = "listing open sessions";
    auto st = impl_->statement(kOpenSessions, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    return read_sessions(q, op);
}

// Audit.

base::Result<void> Store::append_audit(const AuditRecord& r) {
    if (auto synced = impl_->sync(Impl::Sync::Normal); !synced) return std::move(synced).error();
    constexpr std::string_view op = "appending audit record";
    auto st = impl_->statement(kAppendAudit, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.integer(r.time)
        .text(r.event)
        .text(r.actor)
        .text(r.user)
        .text(r.role)
        .text(r.grant_id)
        .text(r.source)
        .text(r.result)
        .text(r.reason);
    return q.run(op);
}

base::Result<void> Store::append_audit(const std::vector<AuditRecord>& records) {
    if (records.empty()) return {};
    if (auto synced = impl_->sync(Impl::Sync::Normal); !synced) return synced;
    Impl::Transaction tx(*impl_);
    if (auto r = tx.begin("appending audit records"); !r) return r;
    for (const auto& rec : records)
        if (auto r = append_audit(rec); !r) return r;
    return tx.commit("appending audit records");
}

base::Result<void> Store::checkpoint() {
    int rc = sqlite3_wal_checkpoint_v2(impl_->db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) return sqlite_error(impl_->db.get(), "checkpoint");
    return {};
}

base::Result<std::vector<AuditRecord>> Store::audit_tail(int limit) {
    constexpr std::string_view op = "reading audit trail";
    if (limit <= 0) return std::vector<AuditRecord>();
    auto st = impl_->statement(kAuditTail, op);
    if (!st) return std::move(st).error();
    Query q(impl_->db.get(), *st);
    q.integer(limit);
    std::vector<AuditRecord> out;
    for (;;) {
        auto row = q.step(op);
        if (!row) return std::move(row).error();
        if (!*row) break;
        AuditRecord a;
        a.time = q.column_int(0);
        a.event = q.column_text(1);
        a.actor = q.column_text(2);
        a.user = q.column_text(3);
        a.role = q.column_text(4);
        a.grant_id = q.column_text(5);
        a.source = q.column_text(6);
        a.result = q.column_text(7);
        a.reason = q.column_text(8);
        out.push_back(std::move(a));
    }
    return out;
}

// ---- free functions ----------------------------------------------------------

const char* failure_reason(const base::Error& e) {
    switch (e.code) {
        case ENOSPC:
            return "the state disk is full";
        case EROFS:
            return "the state file system is read-only";
        case EBUSY:
            return "the state database is locked by another process";
        case EUCLEAN:
            return "the state database is damaged";
        case EIO:
            return "the state disk reported an I/O error";
        default:
            return nullptr;
    }
}

const char* grant_state_name(GrantState s) {
    switch (s) {
        case GrantState::Active:
            return "active";
        case GrantState::Expired:
            return "expired";
        case GrantState::Revoked:
            return "revoked";
        case GrantState::Dropped:
            return "dropped";
    }
    return "unknown";
}

std::optional<GrantState> parse_grant_state(std::string_view s) {
    if (s == "active") return GrantState::Active;
    if (s == "expired") return GrantState::Expired;
    if (s == "revoked") return GrantState::Revoked;
    if (s == "dropped") return GrantState::Dropped;
    return std::nullopt;
}

std::string new_grant_id() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        // The kernel's generator is the fallback; without either, any id we
        // produced could collide with or predict another grant's.
        size_t got = 0;
        while (got < sizeof b) {
            ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) std::abort();
            got += static_cast<size_t>(n);
        }
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    static const char hex[] = "0123456789abcdef";
    std::string id;
    id.reserve(36);
    for (size_t i = 0; i < sizeof b; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
        id.push_back(hex[b[i] >> 4]);
        id.push_back(hex[b[i] & 0x0f]);
    }
    return id;
}

}  // namespace elevate::store
