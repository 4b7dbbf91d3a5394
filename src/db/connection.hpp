#pragma once
// A database connection as the engine sees it. Only db/ includes database client headers.
#include <memory>
#include <string>
#include <vector>

#include "config/url.hpp"
#include "dialect/dialect.hpp"
#include "util/rows.hpp"

namespace luamig::db {

using ResultRows = std::vector<std::vector<std::optional<std::string>>>;

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
  // Server process id (PostgreSQL backend pid), 0 when meaningless.
  virtual int backend_pid() const { return 0; }
  // Writes `rows` into `table` with COPY ... FROM STDIN (the bulk path: ~30x faster than row-by-row INSERTs).
  // `table` and `columns` are SQL text, already quoted by the caller; each row has one Param per column.
  // Returns the number of rows written. Throws SqlFailure; the default refuses (RunError): no COPY support.
  virtual long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                              const std::vector<std::vector<Param>>& rows);
  // True for a connection that only prints SQL (--sql): nothing is executed and nothing can be read.
  virtual bool offline() const { return false; }
  // Runs a query whose result is small enough to hold (a LIMITed batch) in one round trip, and streams the held
  // rows: no cursor, so other statements may run before the rows are read. Default: stream().
  virtual std::unique_ptr<RowStream> query_all(const std::string& sql, const std::vector<Param>& params) {
    return stream(sql, params);
  }
  // Sends a statement without waiting for it, so the caller can work while the server does; wait_sent() returns
  // its affected row count and throws its SqlFailure. Any other use of the connection waits for it first.
  // At most one statement is in flight. Default: runs it at once.
  virtual void send(const std::string& sql, const std::vector<Param>& params) { sent_count_ = execute(sql, params); }
  virtual long long wait_sent() { return sent_count_; }

 private:
  long long sent_count_ = 0;
};

// Opens a connection for the URL's dialect. Throws RunError (exit 1) with a message naming host, port, database and
// user, never the password.
std::unique_ptr<Connection> connect(const config::DatabaseUrl& url);

// Dialect implementations.
std::unique_ptr<Connection> connect_postgresql(const config::DatabaseUrl& url);
std::unique_ptr<Connection> connect_sqlite(const config::DatabaseUrl& url);
}  // namespace luamig::db
