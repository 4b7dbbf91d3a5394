#pragma once
// What `luamig trace` records about each statement of a migration: the relation locks it took, the tables it
// rewrote or scanned, how long it ran and how long its locks were held.
//
// How each fact is measured (PostgreSQL):
// - locks: after the statement, pg_locks rows of the migration's own backend (granted relation locks), minus
// those
//   it held before. Inside a transaction every lock stays until COMMIT, so the difference is exactly what the
//   statement took. A statement that runs outside a transaction (CONCURRENTLY) releases its locks before it
//   returns: its locks are sampled from pg_locks by a second connection while it runs (marked `sampled`). So
//   that a quick statement cannot slip between two samples, that connection first holds ACCESS EXCLUSIVE on
//   every table; the statement waits for its first lock (pg_locks shows it not granted, with the mode it asks
//   for) and is let go as soon as that is seen. This is done on the throwaway database only, where nobody
//   else waits.
// - rewrite: the relation's pg_class.relfilenode changed (a new file was written for it).
// - validating scan: pg_stat_xact_user_tables.seq_scan of the table grew during the statement. That view
// counts the
//   current transaction's own activity before it is flushed at commit, so it is exact for the statement (the
//   cumulative pg_stat_user_tables is only updated after commit, and at most once a second).
// Only tables that existed when the transaction started are reported: locks on a table the migration itself
// created in the same transaction block nobody. Locks on indexes come with their table's and are left out; a
// rewritten index is reported among the rewrites ("index users_email_key").
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "db/connection.hpp"

namespace luamig::verify {

struct RelationLock {
  std::string relation;  // "users", "audit.events" (tables; a statement's strongest lock on each)
  std::string mode;      // "ACCESS EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", ...
  int strength = 0;      // 1 (ACCESS SHARE) .. 8 (ACCESS EXCLUSIVE)
  double held_ms = 0;    // from the start of the statement that took it to the end of its transaction
};

struct StatementTrace {
  std::string sql;
  std::string file;  // the migration file and line of the op call that produced it
  int line = 0;
  bool in_transaction = true;
  bool sampled = false;  // outside a transaction: locks seen while it ran
  int transaction = 0;   // statements of one transaction share this number
  double ms = 0;
  std::string lock_timeout;           // the lock_timeout in force when it ran ("0" = none)
  std::vector<RelationLock> locks;    // the locks it took
  std::vector<std::string> rewrites;  // relations given a new file
  std::vector<std::string> scans;     // tables read in full (a constraint validated, a table rewritten)
  std::chrono::steady_clock::time_point started;
};

// Collects the statements of a run. One per trace; TracingConnection appends to it.
struct TraceRecorder {
  std::vector<StatementTrace> statements;
  int transactions = 0;
};

// Wraps the run's connection (runner::MigrateOptions::wrap_connection). `url` opens the second connection
// that samples the locks of statements run outside a transaction.
std::unique_ptr<db::Connection> tracing_connection(std::unique_ptr<db::Connection> inner,
                                                   TraceRecorder& recorder, std::string url);

// "AccessExclusiveLock" -> ("ACCESS EXCLUSIVE", 8).
std::pair<std::string, int> lock_mode(const std::string& pg_locks_mode);
}  // namespace luamig::verify
