// The store's connection and statement cache, shared by the files that
// implement Store (store.cpp, requests.cpp). Internal to daemon/store.
#pragma once

#include "daemon/store/sqlite_handle.h"
#include "daemon/store/store.h"

#include <string>
#include <string_view>
#include <unordered_map>

namespace elevate::store {

inline constexpr const char kBegin[] = "BEGIN IMMEDIATE";
inline constexpr const char kCommit[] = "COMMIT";
inline constexpr const char kRollback[] = "ROLLBACK";

struct Store::Impl {
    SqliteDb db;  // declared first: destroyed after the cached statements
    std::string path;
    int version = 0;
    std::unordered_map<const char*, SqliteStmt> cache;

    // A cached statement for one of the SQL constants above, ready to bind.
    base::Result<sqlite3_stmt*> statement(const char* sql, std::string_view op) {
        auto it = cache.find(sql);
        if (it != cache.end()) return it->second.get();
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
            return sqlite_error(db.get(), std::string(op) + ": preparing statement");
        SqliteStmt owned(raw);
        cache.emplace(sql, std::move(owned));
        return raw;
    }

    // Grants, factors, sessions and TOTP claims commit with synchronous=FULL
    // (fsync per commit: acknowledged means on disk). High-rate bookkeeping
    // (audit rows, failure counters) commits with NORMAL: in WAL mode it
    // survives a daemon crash, and is synced by the next FULL commit or
    // checkpoint; only a power loss can take the last few.
    enum class Sync { Full, Normal };
    Sync sync_mode = Sync::Full;
    base::Result<void> sync(Sync wanted) {
        if (wanted == sync_mode) return {};
        const char* sql = wanted == Sync::Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
        if (sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK)
            return sqlite_error(db.get(), "setting synchronous");
        sync_mode = wanted;
        return {};
    }

    base::Result<void> exec(const char* sql, std::string_view op) {
        auto st = statement(sql, op);
        if (!st) return std::move(st).error();
        return Query(db.get(), *st).run(op);
    }

    // BEGIN IMMEDIATE takes the write lock up front, so a transaction cannot
    // fail halfway with SQLITE_BUSY on its first write. Rolls back unless
    // committed.
    class Transaction {
    public:
        explicit Transaction(Impl& s) : s_(s) {}
        ~Transaction() {
            if (open_ && sqlite3_get_autocommit(s_.db.get()) == 0) (void)s_.exec(kRollback, "rollback");
        }
        Transaction(const Transaction&) = delete;
        Transaction& operator=(const Transaction&) = delete;

        base::Result<void> begin(std::string_view op) {
            auto r = s_.exec(kBegin, std::string(op) + ": begin");
            open_ = r.ok();
            return r;
        }
        base::Result<void> commit(std::string_view op) {
            auto r = s_.exec(kCommit, std::string(op) + ": commit");
            if (r) open_ = false;
            return r;
        }

    private:
        Impl& s_;
        bool open_ = false;
    };
};

}  // namespace elevate::store
