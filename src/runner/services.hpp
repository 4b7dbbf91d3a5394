#pragma once
// What migrations and hooks reach through `op` during a run: statements go to the run's connection (live,
// echoing for a dry run, or the --sql script writer), under the configured server timeouts. Dry runs refuse
// what would commit.
#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "config/config.hpp"
#include "db/connection.hpp"
#include "db/transaction.hpp"
#include "luahost/engine.hpp"

namespace luamig::runner {

// Server timeouts applied to every transaction that runs Lua code (migrations and hooks).
struct Timeouts {
  std::optional<std::chrono::milliseconds> lock, statement;
};

// The limits Lua code runs under (lua_time_limit / lua_memory_limit, resolved per environment).
luahost::Limits engine_limits(const config::Config& cfg);

// Thrown when a dry run reaches something that would commit: the run stops there and rolls everything back.
struct DryRunStop : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RunServices : public luahost::Services {
 public:
  RunServices(db::Connection& conn, bool dry_run, Timeouts timeouts)
      : conn_(conn), dry_run_(dry_run), timeouts_(timeouts) {}

  // BEGIN, then SET LOCAL lock_timeout / statement_timeout when configured: every migration and hook
  // transaction starts here, so the limits are in force for all the SQL they run (in --sql mode they are in
  // the script). The guard rolls back unless committed.
  db::Transaction open_transaction();

  // Runs `block` outside any transaction (autocommit_block, `transactional = false` files) under the same
  // limits, set for the session and reset after.
  void outside_transaction(const std::function<void()>& block);

  long long execute(const std::string& sql, const std::vector<Param>& params) override;
  std::unique_ptr<RowStream> query(const std::string& sql, const std::vector<Param>& params) override;
  void autocommit_block(const std::function<void()>& block) override;
  void log(const std::string& level, const std::string& message) override;
  long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                      const std::vector<std::vector<Param>>& rows) override;
  bool in_transaction() const override { return conn_.in_transaction(); }
  void transaction(const std::function<void()>& block) override;
  std::unique_ptr<RowStream> query_all(const std::string& sql, const std::vector<Param>& params) override;
  void send(const std::string& sql, const std::vector<Param>& params) override;
  long long wait_sent() override { return conn_.wait_sent(); }
  std::string array_literal(const std::vector<Param>& values) override {
    return conn_.dialect().array_literal(values);
  }
  // An --sql script runs nothing here: no savepoints in it for statements that cannot fail now.
  void set_protected(bool on) override { conn_.set_statement_savepoints(on && !conn_.offline()); }

  // Whether the current attempt at a revision committed part of its work (autocommit_block, op.transaction):
  // then rerunning it from the start is not safe, and a failure cannot undo it.
  bool autocommitted() const { return autocommitted_; }
  // Set when a dry run had to stop: Lua turns the DryRunStop into a script error, this keeps the reason.
  const std::optional<std::string>& stop_reason() const { return stop_reason_; }
  // After the session was reset (runner/migrate.cpp reset_session): the SET LOCAL limits again, for the
  // version row and after_migration.
  // Sends the statements the connection deferred (Connection::flush).
  void flush() { conn_.flush(); }
  void reapply_timeouts() {
    if (conn_.in_transaction() && !conn_.offline()) apply_timeouts(true);
  }
  // Called before anything commits on its own (autocommit blocks, op.transaction): checks the migration lock.
  void set_before_commit(std::function<void()> check) { before_commit_ = std::move(check); }
  void start_attempt() {
    autocommitted_ = false;
    stop_reason_.reset();
  }

 private:
  // BEGIN + the SET LOCAL timeouts, for the transactions op.autocommit_block reopens.
  void begin();
  // A statement sent after a stop was requested is refused here: the cancel for the previous one may have
  // come too early to catch it.
  static void refuse_after_stop(const std::string& sql);
  [[noreturn]] void stop(const std::string& why);
  void apply_timeouts(bool local);
  void reset_timeouts() noexcept;

  db::Connection& conn_;
  bool dry_run_;
  Timeouts timeouts_;
  bool autocommitted_ = false;
  std::optional<std::string> stop_reason_;
  std::function<void()> before_commit_;
};
}  // namespace luamig::runner
