#include "daemon/store/schema.h"

#include "daemon/store/sqlite_handle.h"

#include <iterator>
#include <string_view>

namespace elevate::store::schema {
namespace {

struct Migration {
    int version;
    const char* sql;
};

// Append only: a migration that has shipped is never edited, a change is a new
// entry (docs/STATE.md). Each runs in its own transaction together with the
// user_version bump, so a crash leaves the database at a whole version.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE factors (
    id        INTEGER PRIMARY KEY,
    user      TEXT    NOT NULL CHECK (length(user) > 0),
    kind      TEXT    NOT NULL CHECK (length(kind) > 0),
    label     TEXT    NOT NULL DEFAULT '',
    secret    BLOB    NOT NULL,
    algorithm TEXT    NOT NULL,
    digits    INTEGER NOT NULL,
    period    INTEGER NOT NULL,
    created   INTEGER NOT NULL
);
CREATE INDEX factors_user_kind ON factors (user, kind);

CREATE TABLE grants (
    id       TEXT    NOT NULL PRIMARY KEY CHECK (length(id) > 0),
    user     TEXT    NOT NULL CHECK (length(user) > 0),
    role     TEXT    NOT NULL CHECK (length(role) > 0),
    start    INTEGER NOT NULL,
    "end"    INTEGER NOT NULL,
    reason   TEXT    NOT NULL DEFAULT '',
    factor   TEXT    NOT NULL DEFAULT '',
    source   TEXT    NOT NULL DEFAULT '',
    state    TEXT    NOT NULL CHECK (state IN ('active', 'expired', 'revoked', 'dropped')),
    ended_at INTEGER NOT NULL DEFAULT 0,
    ended_by TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX grants_state ON grants (state);
CREATE INDEX grants_user_start ON grants (user, start);

CREATE TABLE totp_used (
    user TEXT    NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (user, step)
) WITHOUT ROWID;

CREATE TABLE failures (
    user          TEXT    NOT NULL PRIMARY KEY,
    failures      INTEGER NOT NULL,
    first_failure INTEGER NOT NULL,
    locked_until  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    time     INTEGER NOT NULL,
    event    TEXT    NOT NULL,
    actor    TEXT    NOT NULL DEFAULT '',
    user     TEXT    NOT NULL DEFAULT '',
    role     TEXT    NOT NULL DEFAULT '',
    grant_id TEXT    NOT NULL DEFAULT '',
    source   TEXT    NOT NULL DEFAULT '',
    result   TEXT    NOT NULL DEFAULT '',
    reason   TEXT    NOT NULL DEFAULT ''
);
-- The audit trail is evidence: rows are never changed or removed through SQL.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
)sql"},
    {2, R"sql(
-- PAM sessions opened under a grant, so that expiry or revocation can end
-- them (role on_expiry = "terminate"). pid_start guards against pid reuse.
CREATE TABLE sessions (
    id        TEXT    NOT NULL PRIMARY KEY CHECK (length(id) > 0),
    user      TEXT    NOT NULL CHECK (length(user) > 0),
    grant_id  TEXT    NOT NULL DEFAULT '',
    pid       INTEGER NOT NULL,
    pid_start INTEGER NOT NULL DEFAULT 0,
    service   TEXT    NOT NULL DEFAULT '',
    rhost     TEXT    NOT NULL DEFAULT '',
    tty       TEXT    NOT NULL DEFAULT '',
    opened    INTEGER NOT NULL,
    closed    INTEGER NOT NULL DEFAULT 0,
    closed_by TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_open_grant ON sessions (grant_id) WHERE closed = 0;
-- Hot path: a user's active grants (PAM account and authorize).
CREATE INDEX grants_user_state ON grants (user, state);
)sql"},
    {3, R"sql(
-- Approval requests (role approval): numbered for people ("request 7").
CREATE TABLE requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user            TEXT    NOT NULL CHECK (length(user) > 0),
    role            TEXT    NOT NULL CHECK (length(role) > 0),
    reason          TEXT    NOT NULL DEFAULT '',
    duration        INTEGER NOT NULL,
    created         INTEGER NOT NULL,
    expires         INTEGER NOT NULL,
    needed          INTEGER NOT NULL CHECK (needed > 0),
    approvers       TEXT    NOT NULL,
    factor          TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'cancelled', 'expired')),
    decided_at      INTEGER NOT NULL DEFAULT 0,
    decided_by      TEXT    NOT NULL DEFAULT '',
    decision_reason TEXT    NOT NULL DEFAULT '',
    grant_id        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX requests_state ON requests (state);
CREATE INDEX requests_user_created ON requests (user, created);

CREATE TABLE approvals (
    request_id INTEGER NOT NULL REFERENCES requests (id),
    approver   TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    factor     TEXT    NOT NULL,
    PRIMARY KEY (request_id, approver)
) WITHOUT ROWID;

-- Users barred from elevating until an administrator clears it.
CREATE TABLE locks (
    user   TEXT    NOT NULL PRIMARY KEY,
    since  INTEGER NOT NULL,
    reason TEXT    NOT NULL
) WITHOUT ROWID;
)sql"},
    {4, R"sql(
-- TOTP time only moves forward (RFC 6238 section 5.2): per factor, the
-- highest time-step accepted; a code is accepted only for a later step. One
-- small row per factor that never needs pruning, removed with its factor.
CREATE TABLE totp_high_water (
    factor_id INTEGER NOT NULL PRIMARY KEY REFERENCES factors (id) ON DELETE CASCADE,
    step      INTEGER NOT NULL
);
-- Carried over from totp_used, so that nothing used becomes valid again:
-- those rows are per user and in seconds (step * the period of the factor
-- that matched); each TOTP factor of the user takes the latest of them in
-- its own steps. totp_used is no longer written; it is emptied, not dropped
-- (migrations only add).
INSERT INTO totp_high_water (factor_id, step)
    SELECT f.id, max(u.step) / f.period FROM factors f JOIN totp_used u ON u.user = f.user
    WHERE f.kind = 'totp' AND f.period > 0 GROUP BY f.id;
DELETE FROM totp_used;
)sql"},
    {5, R"sql(
-- Attack detection and risk (docs/RISK.md). Events are kept for the
-- configured retention and at most max_events_per_user per user; source
-- networks are aggregated by prefix and bounded by max_sources.
CREATE TABLE risk_events (
    id       INTEGER PRIMARY KEY,
    time     INTEGER NOT NULL,
    type     TEXT    NOT NULL CHECK (length(type) > 0),
    user     TEXT    NOT NULL DEFAULT '',
    network  TEXT    NOT NULL DEFAULT '',
    evidence TEXT    NOT NULL DEFAULT '',
    weight   INTEGER NOT NULL
);
CREATE INDEX risk_events_user ON risk_events (user, id);
CREATE INDEX risk_events_time ON risk_events (time);
-- Scores are stored as of `updated` and decay from there.
CREATE TABLE risk_users (
    user      TEXT    NOT NULL PRIMARY KEY,
    score     REAL    NOT NULL,
    updated   INTEGER NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE risk_sources (
    network TEXT    NOT NULL PRIMARY KEY,
    score   REAL    NOT NULL,
    updated INTEGER NOT NULL
) WITHOUT ROWID;
-- What a user's sign-ins looked like: networks seen, and sign-ins per hour.
CREATE TABLE risk_networks (
    user       TEXT    NOT NULL,
    network    TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (user, network)
) WITHOUT ROWID;
CREATE TABLE risk_hours (
    user  TEXT    NOT NULL,
    hour  INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    count INTEGER NOT NULL,
    PRIMARY KEY (user, hour)
) WITHOUT ROWID;
)sql"},
};

constexpr bool versions_are_consecutive() {
    int expected = 1;
    for (const auto& m : kMigrations) {
        if (m.version != expected++) return false;
    }
    return true;
}
static_assert(versions_are_consecutive(), "migrations must be numbered 1, 2, 3, ... in order");

base::Error migration_error(sqlite3* db, const std::string& db_path, int version, std::string_view what) {
    return sqlite_error(
        db, "migrating " + db_path + " to schema version " + std::to_string(version) + ": " + std::string(what));
}

// Runs one migration inside BEGIN IMMEDIATE, so a second process migrating
// the same file waits (busy_timeout) and then sees the new version.
base::Result<void> apply(sqlite3* db, const std::string& db_path, const Migration& m) {
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
        return migration_error(db, db_path, m.version, "begin");
    auto fail = [&](std::string_view what) {
        base::Error e = migration_error(db, db_path, m.version, what);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return e;
    };
    auto current = read_version(db);
    if (!current) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return std::move(current).error();
    }
    if (*current < m.version) {
        if (sqlite3_exec(db, m.sql, nullptr, nullptr, nullptr) != SQLITE_OK) return fail("schema change");
        // PRAGMA values cannot be bound; the number comes from the table
        // above, never from input.
        const std::string bump = "PRAGMA user_version = " + std::to_string(m.version);
        if (sqlite3_exec(db, bump.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return fail("user_version");
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("commit");
    return {};
}

}  // namespace

int latest_version() {
    return static_cast<int>(std::size(kMigrations));
}

base::Result<int> read_version(sqlite3* db) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK)
        return sqlite_error(db, "reading schema version");
    SqliteStmt st(raw);
    Query q(db, st.get());
    auto row = q.step("reading schema version");
    if (!row) return std::move(row).error();
    if (!*row) return base::make_error("reading schema version: no result");
    return static_cast<int>(q.column_int(0));
}

base::Result<int> migrate(sqlite3* db, const std::string& db_path) {
    return migrate(db, db_path, latest_version());
}

base::Result<int> migrate(sqlite3* db, const std::string& db_path, int target) {
    auto version = read_version(db);
    if (!version) return base::make_error(db_path + ": " + version.error().message);
    const int latest = latest_version();
    if (target < 1 || target > latest)
        return base::make_error(db_path + ": cannot migrate to schema version " + std::to_string(target));
    if (*version > latest) {
        return base::make_error(db_path + " has schema version " + std::to_string(*version) +
                                ", newer than this elevated understands (" + std::to_string(latest) +
                                "); run the elevated that wrote it, or restore a backup made for this version");
    }
    if (*version < 0) {
        return base::make_error(db_path + " has an invalid schema version " + std::to_string(*version) +
                                "; restore it from a backup");
    }
    for (const auto& m : kMigrations) {
        if (m.version <= *version || m.version > target) continue;
        auto r = apply(db, db_path, m);
        if (!r) return std::move(r).error();
    }
    auto now = read_version(db);
    if (now && *now < target)
        return base::make_error(db_path + ": schema version is " + std::to_string(*now) +
                                " after migrating, expected " + std::to_string(target));
    return now;
}

}  // namespace elevate::store::schema
