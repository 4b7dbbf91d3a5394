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
#include "db/sqlite_guard.hpp"
#include "db/statement_shape.hpp"
#include "util/error.hpp"
#include "util/output.hpp"
#include "util/sql_failure.hpp"

namespace luamig::db {
namespace {

// SQLite's result code, shown where PostgreSQL would show an SQLSTATE: "SQLITE_CONSTRAINT (2067)".
std::string code_text(sqlite3* db) {
  static const char* names[] = {
      "OK",        "ERROR",      "INTERNAL", "PERM",     "ABORT", "BUSY",     "LOCKED",   "NOMEM", "READONLY",
      "INTERRUPT", "IOERR",      "CORRUPT",  "NOTFOUND", "FULL",  "CANTOPEN", "PROTOCOL", "EMPTY", "SCHEMA",
      "TOOBIG",    "CONSTRAINT", "MISMATCH", "MISUSE",   "NOLFS", "AUTH",     "FORMAT",   "RANGE", "NOTADB"};
  int ext = sqlite3_extended_errcode(db);
  int primary = ext & 0xff;
  const char* name =
      primary >= 0 && primary < static_cast<int>(sizeof names / sizeof *names) ? names[primary] : "?";
  return fmt::format("SQLITE_{} ({})", name, ext);
}

class Statement {
 public:
  Statement(sqlite3* db, const SqliteGuard& guard, const std::string& sql, const char** tail = nullptr)
      : db_(db), guard_(guard) {
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, tail) != SQLITE_OK)
      throw SqlFailure(guard.error_message(), sql, code_text(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  // Finalizes the statement now (it is done); get() is null after.
  void finish() {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }

  // Binds params[n-1] to $n (and ?n, and the n-th bare ?). The statement must use exactly as many values as
  // given, as on PostgreSQL: a missing or a surplus value is refused before anything runs.
  void bind(const std::vector<Param>& params, const std::string& sql) {
    int count = sqlite3_bind_parameter_count(stmt_);
    size_t takes = 0;
    bool named = false;  // :name or @name: not ours to count
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(stmt_, i);
      size_t n = 0;
      if (name && (name[0] == '$' || name[0] == '?') && name[1]) {
        n = static_cast<size_t>(std::atoi(name + 1));
      } else if (!name) {
        n = static_cast<size_t>(i);
      }
      if (n == 0) named = true;
      if (n > takes) takes = n;
    }
    if (!named && takes != params.size())
      throw SqlFailure(parameter_count_message(takes, params.size()), sql, "SQLITE_RANGE (25)");
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(stmt_, i);
      size_t n = 0;
      if (name && (name[0] == '$' || name[0] == '?') && name[1]) {
        n = static_cast<size_t>(std::atoi(name + 1));
      } else if (!name) {
        n = static_cast<size_t>(i);
      }
      if (n == 0 || n > params.size())
        throw SqlFailure(fmt::format("parameter {} has no value ({} given)", name ? name : std::to_string(i),
                                     params.size()),
                         sql, "SQLITE_RANGE (25)");
      const auto& p = params[n - 1];
      int rc = p ? sqlite3_bind_text(stmt_, i, p->data(), static_cast<int>(p->size()), SQLITE_TRANSIENT)
                 : sqlite3_bind_null(stmt_, i);
      if (rc != SQLITE_OK) throw SqlFailure(guard_.error_message(), sql, code_text(db_));
    }
  }

 private:
  sqlite3* db_;
  const SqliteGuard& guard_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Counts the connection's transactions; a stream opened inside one stops at its end, as a PostgreSQL cursor
// does (SQLite would otherwise go on reading outside it, from a later state of the database).
using TxGeneration = std::shared_ptr<unsigned long long>;

class SqliteStream : public RowStream {
 public:
  SqliteStream(sqlite3* db, const SqliteGuard& guard, const std::string& sql,
               const std::vector<Param>& params, TxGeneration tx = nullptr)
      : db_(db),
        guard_(guard),
        sql_(sql),
        stmt_(db, guard, sql),
        tx_(std::move(tx)),
        tx_at_start_(tx_ ? *tx_ : 0) {
    stmt_.bind(params, sql);
    int n = sqlite3_column_count(stmt_.get());
    for (int i = 0; i < n; ++i) columns_.emplace_back(sqlite3_column_name(stmt_.get(), i));
    // A statement that writes (INSERT/UPDATE/DELETE ... RETURNING) runs to its end now, as on PostgreSQL: it
    // has happened even when its rows are never read, its error surfaces here, and no write stays in progress
    // (which would block COMMIT). Its rows are held; a read-only query streams.
    if (stmt_.get() && !sqlite3_stmt_readonly(stmt_.get())) {
      std::vector<Cell> row;
      while (step(), !done_) {
        read_row(row);
        held_.push_back(row);
      }
      stmt_.finish();
      held_mode_ = true;
      done_ = false;
    }
  }
  const std::vector<std::string>& columns() const override { return columns_; }
  bool next(std::vector<Cell>& row) override {
    if (held_mode_) {
      if (held_pos_ >= held_.size()) return false;
      row = std::move(held_[held_pos_++]);
      return true;
    }
    if (done_) return false;
    if (tx_ && *tx_ != tx_at_start_)
      throw SqlFailure(
          "this query's rows can no longer be read: its transaction has ended (read a result within the "
          "revision and transaction that ran the query)",
          sql_, "SQLITE_MISUSE");
    if (!stepped_) step();
    stepped_ = false;
    if (done_) return false;
    read_row(row);
    return true;
  }

 private:
  void read_row(std::vector<Cell>& row) {
    row.resize(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) {
      int c = static_cast<int>(i);
      switch (sqlite3_column_type(stmt_.get(), c)) {
        case SQLITE_NULL:
          row[i].kind = Cell::Null;
          row[i].text.clear();
          continue;
        case SQLITE_INTEGER:
          row[i].kind = Cell::Integer;
          break;
        case SQLITE_FLOAT:
          row[i].kind = Cell::Float;
          break;
        default:
          row[i].kind = Cell::Text;
          break;
      }
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), c));
      row[i].text.assign(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), c)));
      if (row[i].kind == Cell::Float) {
        // SQLite prints floats with 15 significant digits; keep full precision.
        row[i].text = fmt::format("{:.17g}", sqlite3_column_double(stmt_.get(), c));
      }
    }
  }

  void step() {
    stepped_ = true;
    if (!stmt_.get()) {  // only whitespace or comments
      done_ = true;
      return;
    }
    int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_DONE) {
      done_ = true;
      return;
    }
    if (rc != SQLITE_ROW) {
      done_ = true;
      throw SqlFailure(guard_.error_message(), sql_, code_text(db_));
    }
  }

  sqlite3* db_;
  const SqliteGuard& guard_;
  std::string sql_;
  Statement stmt_;
  TxGeneration tx_;
  unsigned long long tx_at_start_;
  std::vector<std::string> columns_;
  bool done_ = false;
  bool stepped_ = false;    // a row is waiting, stepped to but not yet read
  bool held_mode_ = false;  // a writing statement: run to its end, rows in held_
  std::vector<std::vector<Cell>> held_;
  size_t held_pos_ = 0;
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
    try {
      guard_ = std::make_unique<SqliteGuard>(db_);
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }
  std::string target() const override { return "sqlite:///" + path_; }
  ~SqliteConnection() override {
    if (in_tx_) {
      SqliteGuard::EngineTransaction engine(*guard_);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    sqlite3_close_v2(db_);
  }

  const dialect::Dialect& dialect() const override { return dialect_; }

  void begin() override {
    // IMMEDIATE takes the write lock now, so two processes serialise on whole revisions.
    SqliteGuard::EngineTransaction engine(*guard_);
    exec_script("BEGIN IMMEDIATE");
    in_tx_ = true;
  }
  void commit() override {
    {
      SqliteGuard::EngineTransaction engine(*guard_);
      exec_script("COMMIT");
    }
    in_tx_ = false;
    ++*tx_generation_;
  }
  void rollback() noexcept override {
    if (sqlite3_get_autocommit(db_) == 0) {
      SqliteGuard::EngineTransaction engine(*guard_);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    in_tx_ = false;
    ++*tx_generation_;
    ++rollbacks_;
  }
  bool in_transaction() const override { return in_tx_; }
  std::optional<unsigned long> rollbacks() const override { return rollbacks_; }

  long long execute(const std::string& sql, const std::vector<Param>& params) override {
    if (params.empty()) {
      // Without parameters the text may hold several statements; none may expect a value.
      run_script(sql);
      return sqlite3_changes(db_);
    }
    Statement stmt(db_, *guard_, sql);
    stmt.bind(params, sql);
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) throw SqlFailure(guard_->error_message(), sql, code_text(db_));
    return sqlite3_changes(db_);
  }

  ResultRows fetch(const std::string& sql, const std::vector<Param>& params) override {
    SqliteStream s(db_, *guard_, sql, params);
    ResultRows rows;
    std::vector<Cell> row;
    while (s.next(row)) {
      std::vector<std::optional<std::string>> out;
      for (auto& c : row)
        out.emplace_back(c.kind == Cell::Null ? std::nullopt : std::optional<std::string>(c.text));
      rows.push_back(std::move(out));
    }
    return rows;
  }

  std::unique_ptr<RowStream> stream(const std::string& sql, const std::vector<Param>& params) override {
    return std::make_unique<SqliteStream>(db_, *guard_, sql, params, in_tx_ ? tx_generation_ : nullptr);
  }

  // No COPY in SQLite: one prepared INSERT, stepped once per row, inside the caller's transaction. The column
  // limit is PostgreSQL's, so a migration that loads rows on SQLite loads them on PostgreSQL too.
  long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                      const std::vector<std::vector<Param>>& rows) override {
    constexpr size_t kMaxCopyColumns = 32;
    if (columns.empty() || columns.size() > kMaxCopyColumns)
      throw RunError(fmt::format("COPY takes 1 to {} columns here, not {}", kMaxCopyColumns, columns.size()));
    std::vector<std::string> slots;
    for (size_t i = 1; i <= columns.size(); ++i) slots.push_back(fmt::format("${}", i));
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ({})", table, fmt::join(columns, ", "),
                                  fmt::join(slots, ", "));
    Statement stmt(db_, *guard_, sql);
    for (const auto& row : rows) {
      if (row.size() != columns.size())
        throw std::logic_error(
            fmt::format("COPY row has {} values for {} columns", row.size(), columns.size()));
      stmt.bind(row, sql);
      int rc = sqlite3_step(stmt.get());
      if (rc != SQLITE_DONE) throw SqlFailure(guard_->error_message(), sql, code_text(db_));
      sqlite3_reset(stmt.get());
    }
    return static_cast<long long>(rows.size());
  }

  bool is_open() const override { return db_ != nullptr; }

  // sqlite3_interrupt is documented as safe to call from another thread.
  void cancel() noexcept override { sqlite3_interrupt(db_); }

  // SQLite's write lock is the transaction itself: begin() takes it with BEGIN IMMEDIATE for each revision,
  // and the runner re-reads the version table in every one (Dialect::serializes_by_transaction). The
  // migration lock only sets how long BEGIN IMMEDIATE waits for another process: the busy timeout.
  std::unique_ptr<MigrationLock> acquire_migration_lock(const LockRequest& request) override {
    auto ms = request.timeout.count();
    sqlite3_busy_timeout(db_, ms <= 0 || ms > INT_MAX ? INT_MAX : static_cast<int>(ms));
    return std::make_unique<TransactionLock>();
  }

 private:
  void run_script(const std::string& sql) {
    const char* rest = sql.c_str();
    const char* end = rest + sql.size();
    while (rest < end) {
      sqlite3_stmt* raw = nullptr;
      const char* tail = nullptr;
      if (sqlite3_prepare_v2(db_, rest, static_cast<int>(end - rest), &raw, &tail) != SQLITE_OK)
        throw SqlFailure(guard_->error_message(), sql, code_text(db_));
      std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
      rest = tail ? tail : end;
      if (!raw) continue;  // whitespace or a comment
      if (sqlite3_bind_parameter_count(raw) > 0) {
        size_t takes = 0;
        for (int i = 1; i <= sqlite3_bind_parameter_count(raw); ++i) {
          const char* name = sqlite3_bind_parameter_name(raw, i);
          size_t n = name && name[1] ? static_cast<size_t>(std::atoi(name + 1)) : static_cast<size_t>(i);
          if (n > takes) takes = n;
        }
        throw SqlFailure(parameter_count_message(takes, 0), sql, "SQLITE_RANGE (25)");
      }
      int rc;
      while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      }
      if (rc != SQLITE_DONE) throw SqlFailure(guard_->error_message(), sql, code_text(db_));
    }
  }

  void exec_script(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = guard_->error_message(err);
      sqlite3_free(err);
      throw SqlFailure(msg, sql, code_text(db_));
    }
  }

  sqlite3* db_ = nullptr;
  std::unique_ptr<SqliteGuard> guard_;
  std::string path_;
  dialect::SQLite dialect_;
  bool in_tx_ = false;
  unsigned long rollbacks_ = 0;
  TxGeneration tx_generation_ = std::make_shared<unsigned long long>(0);
};
}  // namespace

std::unique_ptr<Connection> connect_sqlite(const config::DatabaseUrl& url) {
  return std::make_unique<SqliteConnection>(url);
}
}  // namespace luamig::db
