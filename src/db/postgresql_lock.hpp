#pragma once
// PostgreSQL's migration lock: a session-level advisory lock on a connection of its own. Internal to db/.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/url.hpp"
#include "db/connection.hpp"

namespace luamig::db {

// Opens a second connection to `url` and takes pg_try_advisory_lock(key) on it, polling until
// request.timeout. `main` runs the verification queries; it must outlive the lock.
std::unique_ptr<MigrationLock> acquire_postgresql_lock(const config::DatabaseUrl& url, Connection& main,
                                                       const LockRequest& request);

// The 64-bit advisory lock key of a version table: FNV-1a of "luamig\0<schema>\0<table>".
// TCP keepalive keywords for libpq (a dead peer or a proxy's idle cut is noticed within about a minute); a
// URL that sets them keeps its own.
const std::vector<std::pair<std::string, std::string>>& pg_keepalives();

long long migration_lock_key(const std::string& schema, const std::string& table);

// A libpq/libpqxx error message without "ERROR:  " and the "LINE 1:" context.
std::string pg_trim_message(std::string message);
}  // namespace luamig::db
