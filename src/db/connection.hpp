#pragma once
// A database connection as the engine sees it. Only db/ includes database client headers.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/url.hpp"
#include "dialect/dialect.hpp"
#include "util/rows.hpp"

namespace luamig::db {

using ResultRows = std::vector<std::vector<std::optional<std::string>>>;

// The lock that makes concurrent runs of luamig against one database take turns. Held from before the version
// table is read until the command is done, across per-revision commits and autocommit blocks. Released by
// release() or the destructor; also released by the server when the process dies.
class MigrationLock {
 public:
  virtual ~MigrationLock() = default;
  // Throws RunError when the lock is no longer held (its connection was closed, or a pooler in transaction
  // mode handed the session to another client). Answers from a check start_verify() began, if one is
  // pending.
  virtual void verify() = 0;
  // Starts the same check in the background (PostgreSQL: on the lock's own connection, beside the main
  // connection's work); the next verify() reads its answer instead of asking again. Default: nothing.
  virtual void start_verify() {}
  // Releases the lock now. Never throws.
  virtual void release() noexcept = 0;
};

struct LockRequest {
  // The version table the lock protects: its schema ("" = the connection's current schema) and name make the
  // key, so two projects with different version tables in one database never wait for each other.
  std::string table, schema;
  // How long to wait for another holder. 0 = forever.
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // Called once when the lock is busy, with a description of the holder ("pid 42 (application_name 'x',
  // ...)").
  std::function<void(const std::string& holder)> on_wait;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual const dialect::Dialect& dialect() const = 0;
  // Transaction control. The connection tracks whether a transaction is open.
  virtual void begin() = 0;
  virtual void commit() = 0;
  // Never throws: a failed rollback (connection gone) is ignored, the server discards the transaction anyway.
  virtual void rollback() noexcept = 0;
  virtual bool in_transaction() const = 0;
  // Runs one statement with bound parameters; returns the affected row count. Throws SqlFailure.
  virtual long long execute(const std::string& sql, const std::vector<Param>& params = {}) = 0;
  // Runs a query and returns all rows as text (NULL = nullopt). For small catalog/version queries.
  virtual ResultRows fetch(const std::string& sql, const std::vector<Param>& params = {}) = 0;
  // Streams a query's rows in constant memory. REQUIRES: the stream is destroyed before the next statement.
  virtual std::unique_ptr<RowStream> stream(const std::string& sql, const std::vector<Param>& params) = 0;
  // What this connection reached, resolved (PostgreSQL: libpq's host, port, database and user after it
  // applied its environment, service file and defaults), never with a password:
  // "postgresql://app@db:5432/app", "sqlite:///luamig.db". "" when meaningless.
  virtual std::string target() const { return ""; }
  // Server process id (PostgreSQL backend pid), 0 when meaningless.
  virtual int backend_pid() const { return 0; }
  // Writes `rows` into `table` with COPY ... FROM STDIN (the bulk path: ~30x faster than row-by-row INSERTs).
  // `table` and `columns` are SQL text, already quoted by the caller; each row has one Param per column.
  // Returns the number of rows written. Throws SqlFailure; the default refuses (RunError): no COPY support.
  virtual long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                              const std::vector<std::vector<Param>>& rows);
  // True for a connection that only prints SQL (--sql): nothing is executed and nothing can be read.
  virtual bool offline() const { return false; }
  // Runs a query whose result is small enough to hold (a LIMITed batch) in one round trip, and streams the
  // held rows: no cursor, so other statements may run before the rows are read. Default: stream().
  virtual std::unique_ptr<RowStream> query_all(const std::string& sql, const std::vector<Param>& params) {
    return stream(sql, params);
  }
  // Sends a statement without waiting for it, so the caller can work while the server does; wait_sent()
  // returns its affected row count and throws its SqlFailure. Any other use of the connection waits for it
  // first. At most one statement is in flight. Default: runs it at once.
  virtual void send(const std::string& sql, const std::vector<Param>& params) {
    sent_count_ = execute(sql, params);
  }
  virtual long long wait_sent() { return sent_count_; }
  // While on, every statement run inside an open transaction is wrapped in its own savepoint, so that a
  // failing one is undone alone and leaves the transaction usable (PostgreSQL otherwise aborts the whole
  // transaction). Turned on while migration code runs under a protected call (pcall). Default: no-op (SQLite
  // undoes a failed statement on its own and keeps the transaction).
  virtual void set_statement_savepoints(bool on) { (void)on; }

  // A statement whose outcome the caller only checks (the version row, the history row, the session reset,
  // the lock check before COMMIT): inside a transaction it may wait and travel with the next ones in one
  // round trip, sent at the latest by commit() or by any other use of the connection, before that use.
  // `check` (may be empty) sees its affected row count and, when `want_rows`, its rows; what it throws, and
  // the statement's own SqlFailure, surface from the call that sent it (commit() included, which then does
  // not commit). Outside a transaction, and by default, the statement runs at once. Deferred statements of a
  // transaction that is rolled back are dropped.
  struct Checked {
    long long affected = 0;
    ResultRows rows;
  };
  using Check = std::function<void(const Checked&)>;
  virtual void defer(const std::string& sql, const std::vector<Param>& params, bool want_rows, Check check);
  // Sends what defer() holds now and runs the checks. A no-op when nothing is held.
  virtual void flush() {}
  // How many transactions ended without COMMIT on this connection so far (ROLLBACK, a failed COMMIT): what
  // was read or written inside a transaction and remembered is stale once this moves. nullopt: not counted
  // (remember nothing).
  virtual std::optional<unsigned long> rollbacks() const { return std::nullopt; }

  // False once the connection to the server is known to be gone (the server closed it, a restart...).
  virtual bool is_open() const = 0;
  // Asks the server to cancel the statement running on this connection; a no-op when none runs. Safe to call
  // from another thread while this connection is in use. Never throws.
  virtual void cancel() noexcept = 0;

  // Takes the migration lock for this connection's database, waiting up to request.timeout. Polls
  // interrupt::requested() while waiting and throws interrupt::Stopped on a stop. Throws RunError on a
  // time-out (the message names the holder) or when the lock cannot work (a pooler in transaction mode). The
  // lock may use a connection of its own; it must be destroyed before this connection.
  virtual std::unique_ptr<MigrationLock> acquire_migration_lock(const LockRequest& request) = 0;

 private:
  long long sent_count_ = 0;
};

// Opens a connection for the URL's dialect. Throws RunError (exit 1) with a message naming host, port,
// database and user, never the password.
std::unique_ptr<Connection> connect(const config::DatabaseUrl& url);

// Like connect(), but retries for up to `wait` (0 = no retry) with growing pauses while the server cannot be
// reached; `on_retry` is called before each pause with the reason, the pause and the time waited so far.
// Polls interrupt::requested().
using OnConnectRetry = std::function<void(const std::string& reason, std::chrono::milliseconds pause,
                                          std::chrono::nanoseconds waited)>;
std::unique_ptr<Connection> connect_waiting(const config::DatabaseUrl& url, std::chrono::milliseconds wait,
                                            const OnConnectRetry& on_retry);

// True for a failure that means the connection is gone (SQLSTATE class 08, or the server shutting the session
// down: 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
bool is_connection_loss(const std::string& sqlstate);

// Dialect implementations.
std::unique_ptr<Connection> connect_postgresql(const config::DatabaseUrl& url);
std::unique_ptr<Connection> connect_sqlite(const config::DatabaseUrl& url);
}  // namespace luamig::db
