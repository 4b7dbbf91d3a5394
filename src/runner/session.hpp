#pragma once
// Getting to the database the way every command does: wait for the server if asked, then (for commands that
// change the database) take the migration lock.
#include <memory>

#include "db/connection.hpp"
#include "runner/project.hpp"

namespace luamig::runner {

// Opens the project's database connection. With wait_for_db (--wait-for-db) set, retries with growing pauses
// while the server cannot be reached, printing one line per retry with the reason. Throws RunError naming
// host, port, database and user (never the password).
// `read_only`: for commands that only read (a missing SQLite file is not created).
std::unique_ptr<db::Connection> connect(const Project& project, bool read_only = false);

// Takes the migration lock for the project's version table, waiting up to migration_lock_timeout
// (--lock-timeout) and printing one line when another process holds it. Throws RunError on a time-out, naming
// the holder.
std::unique_ptr<db::MigrationLock> take_migration_lock(const Project& project, db::Connection& conn);
}  // namespace luamig::runner
