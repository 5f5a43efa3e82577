// RAII owners for SQLite handles and a small bound-statement helper used by
// the store. Internal to daemon/store; nothing outside the store sees SQLite.
#pragma once

#include "common/base/result.h"
#include "common/base/secure_buffer.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace elevate::store {

struct SqliteCloser {
    // close_v2 defers the close until every statement is finalized, so the
    // order in which owners are destroyed cannot leak the connection.
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;

struct SqliteFinalizer {
    void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

// The class of the last error on `db` when it is the storage, not the data
// or the SQL: an errno value for base::Error::code (store.h,
// failure_reason), 0 otherwise.
inline int storage_failure(sqlite3* db) {
    if (db == nullptr) return ENOMEM;
    switch (sqlite3_errcode(db) & 0xff) {  // the primary code of an extended one
        case SQLITE_FULL:
            return ENOSPC;
        case SQLITE_READONLY:
            return EROFS;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return EBUSY;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return EUCLEAN;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN: {
            // A write refused by a full or read-only file system can arrive
            // as an I/O error; the system errno says which.
            const int sys = sqlite3_system_errno(db);
            if (sys == ENOSPC || sys == EDQUOT) return ENOSPC;
            if (sys == EROFS) return EROFS;
            return EIO;
        }
        default:
            return 0;
    }
}

// "<op>: <sqlite message>" for the last error on `db`, classified.
inline base::Error sqlite_error(sqlite3* db, std::string_view op) {
    std::string m(op);
    m += ": ";
    m += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    return base::make_error(std::move(m), storage_failure(db));
}

// One use of a (usually cached) prepared statement. Parameters are bound in
// order; the destructor resets the statement and clears its bindings so a
// cached statement never keeps a lock, a half-read cursor or a copy of the
// last parameters (which may be a secret) alive between calls.
class Query {
public:
    Query(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
    ~Query() {
        sqlite3_reset(st_);
        sqlite3_clear_bindings(st_);
    }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    // SQLite copies the text (SQLITE_TRANSIENT): callers may pass temporaries.
    Query& text(std::string_view v) {
        keep(sqlite3_bind_text64(st_, next_++, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
        return *this;
    }
    Query& integer(int64_t v) {
        keep(sqlite3_bind_int64(st_, next_++, v));
        return *this;
    }
    Query& real(double v) {
        keep(sqlite3_bind_double(st_, next_++, v));
        return *this;
    }
    // Bound without a copy (SQLITE_STATIC) so SQLite's freed heap never holds
    // the seed; `v` must outlive this Query, whose destructor drops the binding.
    Query& secret(const base::SecureBuffer& v) {
        static const char kEmpty = 0;
        const void* p = v.empty() ? &kEmpty : v.data();  // non-null: a zero-length blob, not NULL
        keep(sqlite3_bind_blob64(st_, next_++, p, v.size(), SQLITE_STATIC));
        return *this;
    }

    // Advances one row: true when a row is available, false when done.
    base::Result<bool> step(std::string_view op) {
        if (rc_ != SQLITE_OK) {
            std::string m(op);
            m += ": binding a parameter: ";
            m += sqlite3_errstr(rc_);
            return base::make_error(std::move(m));
        }
        int rc = sqlite3_step(st_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        return sqlite_error(db_, op);
    }
    // Runs a statement that returns no rows.
    base::Result<void> run(std::string_view op) {
        auto r = step(op);
        if (!r) return std::move(r).error();
        return {};
    }

    int64_t column_int(int i) const { return sqlite3_column_int64(st_, i); }
    double column_real(int i) const { return sqlite3_column_double(st_, i); }
    std::string column_text(int i) const {
        // text before bytes: the documented order that avoids a conversion.
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, i));
        if (p == nullptr) return {};
        return std::string(p, static_cast<size_t>(sqlite3_column_bytes(st_, i)));
    }
    // Text without a copy: valid until the next step or reset.
    std::string_view column_view(int i) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, i));
        if (p == nullptr) return {};
        return std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(st_, i)));
    }
    // Copies a BLOB straight into a SecureBuffer: no intermediate copy to wipe.
    base::SecureBuffer column_secret(int i) const {
        const void* p = sqlite3_column_blob(st_, i);
        int n = sqlite3_column_bytes(st_, i);
        if (p == nullptr || n <= 0) return {};
        return base::SecureBuffer(static_cast<const uint8_t*>(p), static_cast<size_t>(n));
    }
    int changes() const { return sqlite3_changes(db_); }

private:
    void keep(int rc) {
        if (rc_ == SQLITE_OK) rc_ = rc;
    }

    sqlite3* db_;
    sqlite3_stmt* st_;
    int next_ = 1;
    int rc_ = SQLITE_OK;  // first bind failure, reported by step()
};

}  // namespace elevate::store
