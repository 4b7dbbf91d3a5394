#pragma once
// Hardening of every SQLite connection luamig opens. Migrations run arbitrary SQL (op.execute, op.query...),
// and SQLite's SQL reaches files and raw memory: ATTACH DATABASE and VACUUM INTO open any path,
// load_extension() loads code, fts3_tokenizer() registers a tokenizer from a raw pointer (and reveals one),
// some pragmas name directories or map memory. The guard turns on SQLite's own defences and installs an
// authorizer that refuses the rest, with a message that names what was refused.
#include <sqlite3.h>

#include <string>

namespace luamig::db {

class SqliteGuard {
 public:
  // Applies the settings to `db` and installs the authorizer. Throws RunError when SQLite refuses a setting.
  // REQUIRES: `this` outlives `db`'s use (the authorizer points at it) and does not move.
  explicit SqliteGuard(sqlite3* db);
  SqliteGuard(const SqliteGuard&) = delete;
  SqliteGuard& operator=(const SqliteGuard&) = delete;

  // BEGIN, COMMIT and ROLLBACK are the engine's: they pass only while an EngineTransaction is alive. A
  // migration's own COMMIT would otherwise end the revision's transaction half-way and the rest would be
  // committed outside it.
  class EngineTransaction {
   public:
    explicit EngineTransaction(SqliteGuard& g) : g_(g) { g_.engine_transaction_ = true; }
    ~EngineTransaction() { g_.engine_transaction_ = false; }
    EngineTransaction(const EngineTransaction&) = delete;
    EngineTransaction& operator=(const EngineTransaction&) = delete;

   private:
    SqliteGuard& g_;
  };

  // The message for the connection's last error: the authorizer's own when it refused the statement, else
  // `message` (SQLite's, from sqlite3_errmsg when null).
  std::string error_message(const char* message = nullptr) const;

 private:
  static int authorize(void* self, int action, const char* a1, const char* a2, const char* db,
                       const char* trigger);
  int refuse(std::string why);

  sqlite3* db_;
  bool engine_transaction_ = false;
  std::string refusal_;
};

// The authorizer's decision for one action, without a connection: "" to allow, else why it is refused.
// Exposed for unit tests; `engine_transaction` as for SqliteGuard::EngineTransaction.
std::string sqlite_refusal(int action, const char* a1, const char* a2, bool engine_transaction);

}  // namespace luamig::db
