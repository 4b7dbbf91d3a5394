// A db::Connection with no server behind it, for unit tests of the run loop: it records every statement
// (BEGIN/COMMIT/ROLLBACK included), keeps an in-memory alembic_version table that follows transactions, and
// fails statements on request with a chosen SQLSTATE.
#pragma once

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "db/registry.hpp"
#include "dialect/dialect.hpp"
#include "util/sql_failure.hpp"

namespace luamig::test {

class RecordingConnection : public db::Connection {
 public:
  struct State {
    std::vector<std::string> log;  // every statement, in order
    std::vector<std::string>
        committed;               // statements whose work is committed (outside a transaction: at once)
    std::set<std::string> rows;  // alembic_version, committed
    bool table = false;          // alembic_version exists (committed)
    bool open = true;
    struct Injection {
      std::string match;  // a statement containing this text fails
      std::string sqlstate, message;
      int times;  // how many times; then it succeeds
      bool drops_connection;
    };
    std::vector<Injection> injections;
  };

  explicit RecordingConnection(std::shared_ptr<State> state)
      : state_(std::move(state)), dialect_(luamig::db::database("postgresql").make_dialect()) {}

  // Makes the next `times` statements containing `match` fail with `sqlstate`.
  static void fail(State& s, std::string match, std::string sqlstate, std::string message, int times = 1,
                   bool drops_connection = false) {
    s.injections.push_back(
        {std::move(match), std::move(sqlstate), std::move(message), times, drops_connection});
  }

  const dialect::Dialect& dialect() const override { return *dialect_; }
  void begin() override {
    run("BEGIN");
    in_tx_ = true;
    pending_.clear();
    rows_ = state_->rows;
    table_ = state_->table;
  }
  void commit() override {
    run("COMMIT");
    in_tx_ = false;
    state_->committed.insert(state_->committed.end(), pending_.begin(), pending_.end());
    pending_.clear();
    state_->rows = rows_;
    state_->table = table_;
  }
  void rollback() noexcept override {
    state_->log.push_back("ROLLBACK");
    in_tx_ = false;
    pending_.clear();
  }
  bool in_transaction() const override { return in_tx_; }

  long long execute(const std::string& statement, const std::vector<Param>& params = {}) override {
    run(statement);
    const std::string sql = unquoted(statement);
    auto& rows = in_tx_ ? rows_ : state_->rows;
    auto& table = in_tx_ ? table_ : state_->table;
    long long n = 0;
    auto p = [&](size_t i) { return i < params.size() && params[i] ? *params[i] : std::string(); };
    if (sql.rfind("CREATE TABLE alembic_version", 0) == 0) {
      table = true;
    } else if (sql.rfind("INSERT INTO alembic_version", 0) == 0) {
      n = rows.insert(p(0)).second ? 1 : 0;
    } else if (sql.rfind("DELETE FROM alembic_version WHERE", 0) == 0) {
      n = static_cast<long long>(rows.erase(p(0)));
    } else if (sql.rfind("DELETE FROM alembic_version", 0) == 0) {
      n = static_cast<long long>(rows.size());
      rows.clear();
    } else if (sql.rfind("UPDATE alembic_version", 0) == 0) {
      if (rows.erase(p(1))) {
        rows.insert(p(0));
        n = 1;
      }
    }
    (in_tx_ ? pending_ : state_->committed).push_back(statement);
    return n;
  }
  db::ResultRows fetch(const std::string& statement, const std::vector<Param>& params = {}) override {
    (void)params;
    run(statement);
    const std::string sql = unquoted(statement);
    const bool table = in_tx_ ? table_ : state_->table;
    if (statement == dialect_->table_exists_query())
      return table ? db::ResultRows{{std::string("1")}} : db::ResultRows{};
    if (sql.rfind("SELECT version_num FROM alembic_version", 0) == 0) {
      if (!table) throw SqlFailure("relation \"alembic_version\" does not exist", statement, "42P01");
      db::ResultRows out;
      for (const auto& r : in_tx_ ? rows_ : state_->rows) out.push_back({r});
      return out;
    }
    return {};
  }
  std::unique_ptr<RowStream> stream(const std::string& sql, const std::vector<Param>& params) override {
    (void)params;
    run(sql);
    struct Empty : RowStream {
      const std::vector<std::string>& columns() const override { return cols; }
      bool next(std::vector<Cell>&) override { return false; }
      std::vector<std::string> cols;
    };
    return std::make_unique<Empty>();
  }
  std::string target() const override { return "postgresql://recording@test/db"; }
  bool is_open() const override { return state_->open; }
  void cancel() noexcept override {}
  std::unique_ptr<db::MigrationLock> acquire_migration_lock(const db::LockRequest&) override {
    struct Lock : db::MigrationLock {
      void verify() override {}
      void release() noexcept override {}
    };
    return std::make_unique<Lock>();
  }

 private:
  static std::string unquoted(std::string sql) {
    sql.erase(std::remove(sql.begin(), sql.end(), '"'), sql.end());
    return sql;
  }
  // Records `sql` and fails it when an injection matches.
  void run(const std::string& sql) {
    state_->log.push_back(sql);
    for (auto& inj : state_->injections) {
      if (inj.times <= 0 || sql.find(inj.match) == std::string::npos) continue;
      --inj.times;
      if (inj.drops_connection) state_->open = false;
      throw SqlFailure(inj.message, sql, inj.sqlstate);
    }
  }

  std::shared_ptr<State> state_;
  std::unique_ptr<dialect::Dialect> dialect_;
  bool in_tx_ = false;
  std::vector<std::string> pending_;
  std::set<std::string> rows_;
  bool table_ = false;
};
}  // namespace luamig::test
