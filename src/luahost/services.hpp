#pragma once
// What migration code can ask of the engine's host: implemented by the runner (online, offline, dry-run).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "util/rows.hpp"

namespace luamig::luahost {

using luamig::Cell;
using luamig::Param;
using luamig::RowStream;

class Services {
 public:
  virtual ~Services() = default;
  // Runs one statement with parameters; returns the affected row count (-1 when unknown, e.g. offline).
  // Throws SqlFailure.
  virtual long long execute(const std::string& sql, const std::vector<Param>& params) = 0;
  // Runs a query and streams its rows. Throws SqlFailure; throws RunError when there is no live database.
  virtual std::unique_ptr<RowStream> query(const std::string& sql, const std::vector<Param>& params) = 0;
  // Commits the work so far, runs `block` outside a transaction, then opens a new transaction.
  virtual void autocommit_block(const std::function<void()>& block) = 0;
  virtual void log(const std::string& level, const std::string& message) = 0;

  // Writes rows into a table with COPY (the bulk path of backfills and op.copy_rows). `table` and `columns`
  // are SQL text, already quoted; each row holds one Param per column. Returns the number of rows written.
  // Throws SqlFailure. Default: refused.
  virtual long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                              const std::vector<std::vector<Param>>& rows) {
    (void)table, (void)columns, (void)rows;
    throw RunError("COPY is not available here");
  }
  // Runs a query with a small result (a LIMITed batch) in one round trip and streams the held rows; other
  // statements may run before they are read. Default: query().
  virtual std::unique_ptr<RowStream> query_all(const std::string& sql, const std::vector<Param>& params) {
    return query(sql, params);
  }
  // Starts a statement without waiting; wait_sent() returns its row count (or throws its SqlFailure). The
  // next statement of any kind waits for it first. Default: runs it at once.
  virtual void send(const std::string& sql, const std::vector<Param>& params) {
    sent_count_ = execute(sql, params);
  }
  virtual long long wait_sent() { return sent_count_; }
  // The database's array literal of `values` (one bound parameter carrying a batch). Default: refused.
  virtual std::string array_literal(const std::vector<Param>& values) {
    (void)values;
    throw RunError("array parameters are not available here");
  }
  // Migration code entered (true) or left (false) its outermost protected call (pcall, xpcall,
  // coroutine.resume). While inside one, each statement run in an open transaction gets a savepoint of its
  // own, so that a failure the code catches undoes that statement alone and leaves the transaction usable.
  // Default: nothing to do.
  virtual void set_protected(bool on) { (void)on; }
  // True while a transaction is open on the migration's connection (false in a `transactional = false`
  // migration and inside op.autocommit_block).
  virtual bool in_transaction() const { return true; }
  // Runs `block` in a transaction of its own: BEGIN, block, COMMIT; ROLLBACK and rethrow when it throws.
  // REQUIRES: !in_transaction(). Default: refused.
  virtual void transaction(const std::function<void()>& block) {
    (void)block;
    throw RunError("op.transaction is not available here");
  }

 private:
  long long sent_count_ = 0;
};
}  // namespace luamig::luahost
