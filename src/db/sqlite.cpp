// SQLite through the system libsqlite3. Statements accept PostgreSQL-style "$1" placeholders (SQLite treats
// "$1" as a named parameter, bound here by name), so migrations written with $N run on both dialects.
#include "dialect/sqlite.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sqlite3.h>

#include <climits>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "db/connection.hpp"
#include "util/error.hpp"
#include "util/output.hpp"
#include "util/sql_failure.hpp"

namespace luamig::db {
namespace {

// SQLite's result code, shown where PostgreSQL would show an SQLSTATE: "SQLITE_CONSTRAINT (2067)".
std::string code_text(sqlite3* db) {
  static const char* names[] = {"OK", "ERROR", "INTERNAL", "PERM", "ABORT", "BUSY", "LOCKED", "NOMEM", "READONLY",
                                "INTERRUPT", "IOERR", "CORRUPT", "NOTFOUND", "FULL", "CANTOPEN", "PROTOCOL", "EMPTY",
                                "SCHEMA", "TOOBIG", "CONSTRAINT", "MISMATCH", "MISUSE", "NOLFS", "AUTH", "FORMAT",
                                "RANGE", "NOTADB"};
  int ext = sqlite3_extended_errcode(db);
  int primary = ext & 0xff;
  const char* name = primary >= 0 && primary < static_cast<int>(sizeof names / sizeof *names) ? names[primary] : "?";
  return fmt::format("SQLITE_{} ({})", name, ext);
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const char** tail = nullptr) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, tail) != SQLITE_OK)
      throw SqlFailure(sqlite3_errmsg(db), sql, code_text(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

  void bind(const std::vector<Param>& params, const std::string& sql) {
    int count = sqlite3_bind_parameter_count(stmt_);
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(stmt_, i);
      size_t n = 0;
      if (name && (name[0] == '$' || name[0] == '?') && name[1]) {
        n = static_cast<size_t>(std::atoi(name + 1));
      } else if (!name) {
        n = static_cast<size_t>(i);
      }
      if (n == 0 || n > params.size())
        throw SqlFailure(fmt::format("parameter {} has no value ({} given)", name ? name : std::to_string(i), params.size()),
                         sql, "SQLITE_RANGE");
      const auto& p = params[n - 1];
      int rc = p ? sqlite3_bind_text(stmt_, i, p->data(), static_cast<int>(p->size()), SQLITE_TRANSIENT)
                 : sqlite3_bind_null(stmt_, i);
      if (rc != SQLITE_OK) throw SqlFailure(sqlite3_errmsg(db_), sql, code_text(db_));
    }
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Counts the connection's transactions; a stream opened inside one stops at its end, as a PostgreSQL cursor does
// (SQLite would otherwise go on reading outside it, from a later state of the database).
using TxGeneration = std::shared_ptr<unsigned long long>;

class SqliteStream : public RowStream {
 public:
  SqliteStream(sqlite3* db, const std::string& sql, const std::vector<Param>& params, TxGeneration tx = nullptr)
      : db_(db), sql_(sql), stmt_(db, sql), tx_(std::move(tx)), tx_at_start_(tx_ ? *tx_ : 0) {
    stmt_.bind(params, sql);
    int n = sqlite3_column_count(stmt_.get());
    for (int i = 0; i < n; ++i) columns_.emplace_back(sqlite3_column_name(stmt_.get(), i));
  }
  const std::vector<std::string>& columns() const override { return columns_; }
  bool next(std::vector<Cell>& row) override {
    if (done_) return false;
    if (tx_ && *tx_ != tx_at_start_)
      throw SqlFailure("this query's rows can no longer be read: its transaction has ended (read a result within the "
                       "revision and transaction that ran the query)",
                       sql_, "SQLITE_MISUSE");
    int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_DONE) {
      done_ = true;
      return false;
    }
    if (rc != SQLITE_ROW) throw SqlFailure(sqlite3_errmsg(db_), sql_, code_text(db_));
    row.resize(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) {
      int c = static_cast<int>(i);
      switch (sqlite3_column_type(stmt_.get(), c)) {
        case SQLITE_NULL: row[i].kind = Cell::Null; row[i].text.clear(); continue;
        case SQLITE_INTEGER: row[i].kind = Cell::Integer; break;
        case SQLITE_FLOAT: row[i].kind = Cell::Float; break;
        default: row[i].kind = Cell::Text; break;
      }
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), c));
      row[i].text.assign(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), c)));
      if (row[i].kind == Cell::Float) {
        // SQLite prints floats with 15 significant digits; keep full precision.
        row[i].text = fmt::format("{:.17g}", sqlite3_column_double(stmt_.get(), c));
      }
    }
    return true;
  }

 private:
  sqlite3* db_;
  std::string sql_;
  Statement stmt_;
  TxGeneration tx_;
  unsigned long long tx_at_start_;
  std::vector<std::string> columns_;
  bool done_ = false;
};

class TransactionLock : public MigrationLock {
 public:
  void verify() override {}
  void release() noexcept override {}
};

class SqliteConnection : public Connection {
 public:
  explicit SqliteConnection(const config::DatabaseUrl& url) : path_(url.path) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI;
    std::string open_path = url.path;
    if (!url.read_only) {
      flags |= SQLITE_OPEN_CREATE;
    } else if (url.path != ":memory:" && !std::filesystem::exists(url.path)) {
      // A read-only command never creates the file: a missing one reads as an empty database.
      out::warn(fmt::format(
          "SQLite database {} does not exist: nothing has been migrated there yet (not created)", url.path));
      open_path = ":memory:";
    }
    int rc = sqlite3_open_v2(open_path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      throw RunError(fmt::format("cannot open SQLite database {}: {}", url.path, msg));
    }
    // Other processes may hold the write lock for a whole revision: wait for it rather than fail.
    sqlite3_busy_timeout(db_, 10 * 60 * 1000);
    sqlite3_extended_result_codes(db_, 1);
  }
  std::string target() const override { return "sqlite:///" + path_; }
  ~SqliteConnection() override {
    if (in_tx_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
  }

  const dialect::Dialect& dialect() const override { return dialect_; }

  void begin() override {
    // IMMEDIATE takes the write lock now, so two processes serialise on whole revisions.
    exec_script("BEGIN IMMEDIATE");
    in_tx_ = true;
  }
  void commit() override {
    exec_script("COMMIT");
    in_tx_ = false;
    ++*tx_generation_;
  }
  void rollback() noexcept override {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    in_tx_ = false;
    ++*tx_generation_;
  }
  bool in_transaction() const override { return in_tx_; }

  long long execute(const std::string& sql, const std::vector<Param>& params) override {
    if (params.empty()) {
      // Without parameters the text may hold several statements.
      exec_script(sql);
      return sqlite3_changes(db_);
    }
    Statement stmt(db_, sql);
    stmt.bind(params, sql);
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) throw SqlFailure(sqlite3_errmsg(db_), sql, code_text(db_));
    return sqlite3_changes(db_);
  }

  ResultRows fetch(const std::string& sql, const std::vector<Param>& params) override {
    SqliteStream s(db_, sql, params);
    ResultRows rows;
    std::vector<Cell> row;
    while (s.next(row)) {
      std::vector<std::optional<std::string>> out;
      for (auto& c : row) out.emplace_back(c.kind == Cell::Null ? std::nullopt : std::optional<std::string>(c.text));
      rows.push_back(std::move(out));
    }
    return rows;
  }

  std::unique_ptr<RowStream> stream(const std::string& sql, const std::vector<Param>& params) override {
    return std::make_unique<SqliteStream>(db_, sql, params, in_tx_ ? tx_generation_ : nullptr);
  }

  // No COPY in SQLite: one prepared INSERT, stepped once per row, inside the caller's transaction. The column limit
  // is PostgreSQL's, so a migration that loads rows on SQLite loads them on PostgreSQL too.
  long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                      const std::vector<std::vector<Param>>& rows) override {
    constexpr size_t kMaxCopyColumns = 32;
    if (columns.empty() || columns.size() > kMaxCopyColumns)
      throw RunError(fmt::format("COPY takes 1 to {} columns here, not {}", kMaxCopyColumns, columns.size()));
    std::vector<std::string> slots;
    for (size_t i = 1; i <= columns.size(); ++i) slots.push_back(fmt::format("${}", i));
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ({})", table, fmt::join(columns, ", "), fmt::join(slots, ", "));
    Statement stmt(db_, sql);
    for (const auto& row : rows) {
      if (row.size() != columns.size())
        throw std::logic_error(fmt::format("COPY row has {} values for {} columns", row.size(), columns.size()));
      stmt.bind(row, sql);
      int rc = sqlite3_step(stmt.get());
      if (rc != SQLITE_DONE) throw SqlFailure(sqlite3_errmsg(db_), sql, code_text(db_));
      sqlite3_reset(stmt.get());
    }
    return static_cast<long long>(rows.size());
  }

  bool is_open() const override { return db_ != nullptr; }

  // sqlite3_interrupt is documented as safe to call from another thread.
  void cancel() noexcept override { sqlite3_interrupt(db_); }

  // SQLite's write lock is the transaction itself: begin() takes it with BEGIN IMMEDIATE for each revision, and the
  // runner re-reads the version table in every one (Dialect::serializes_by_transaction). The migration lock only
  // sets how long BEGIN IMMEDIATE waits for another process: the busy timeout.
  std::unique_ptr<MigrationLock> acquire_migration_lock(const LockRequest& request) override {
    auto ms = request.timeout.count();
    sqlite3_busy_timeout(db_, ms <= 0 || ms > INT_MAX ? INT_MAX : static_cast<int>(ms));
    return std::make_unique<TransactionLock>();
  }

 private:
  void exec_script(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw SqlFailure(msg, sql, code_text(db_));
    }
  }

  sqlite3* db_ = nullptr;
  std::string path_;
  dialect::SQLite dialect_;
  bool in_tx_ = false;
  TxGeneration tx_generation_ = std::make_shared<unsigned long long>(0);
};
}  // namespace

std::unique_ptr<Connection> connect_sqlite(const config::DatabaseUrl& url) {
  return std::make_unique<SqliteConnection>(url);
}
}  // namespace luamig::db
