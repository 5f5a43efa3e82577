// Schema of elevate.db and its migrations. Internal to daemon/store; the
// schema and the rules for changing it are described in docs/STATE.md.
#pragma once

#include "common/base/result.h"

#include <sqlite3.h>

#include <string>

namespace elevate::store::schema {

// The user_version this code creates and understands.
int latest_version();

// Brings the database up to latest_version(), one transaction per
// migration. Refuses a database newer than this code. Returns the version.
base::Result<int> migrate(sqlite3* db, const std::string& db_path);
// The same, stopping at version `target` (tests build older databases with
// the migrations that shipped). A database already past it is left alone.
base::Result<int> migrate(sqlite3* db, const std::string& db_path, int target);

// PRAGMA user_version of `db`.
base::Result<int> read_version(sqlite3* db);

}  // namespace elevate::store::schema
