#include "runner/services.hpp"

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/output.hpp"
#include "util/sql_failure.hpp"

namespace luamig::runner {

luahost::Limits engine_limits(const config::Config& cfg) {
  luahost::Limits limits;
  limits.time = cfg.lua_time_limit;
  limits.memory = cfg.lua_memory_limit;
  return limits;
}

void RunServices::begin() {
  conn_.begin();
  apply_timeouts(true);
}

db::Transaction RunServices::open_transaction() {
  db::Transaction tx(conn_);
  apply_timeouts(true);
  return tx;
}

void RunServices::outside_transaction(const std::function<void()>& block) {
  apply_timeouts(false);
  try {
    block();
  } catch (...) {
    reset_timeouts();
    throw;
  }
  reset_timeouts();
}

long long RunServices::execute(const std::string& sql, const std::vector<Param>& params) {
  refuse_after_stop(sql);
  return conn_.execute(sql, params);
}

std::unique_ptr<RowStream> RunServices::query(const std::string& sql, const std::vector<Param>& params) {
  refuse_after_stop(sql);
  return conn_.stream(sql, params);
}

void RunServices::autocommit_block(const std::function<void()>& block) {
  if (dry_run_)
    stop("it calls op.autocommit_block, which commits the work before it; a dry run cannot commit");
  bool was_in_tx = conn_.in_transaction();
  if (before_commit_) before_commit_();
  if (was_in_tx) {
    autocommitted_ = true;
    conn_.commit();
  }
  outside_transaction(block);
  if (was_in_tx) begin();
}

void RunServices::log(const std::string& level, const std::string& message) {
  // In --sql mode stdout is the script: messages go to stderr.
  if (level == "warn" || level == "error" || conn_.offline())
    out::warn("  " + out::escape(message));
  else
    out::line("  " + out::escape(message));
}

long long RunServices::copy_rows(const std::string& table, const std::vector<std::string>& columns,
                                 const std::vector<std::vector<Param>>& rows) {
  refuse_after_stop("COPY " + table);
  return conn_.copy_rows(table, columns, rows);
}

void RunServices::transaction(const std::function<void()>& block) {
  if (dry_run_) stop("it calls op.transaction, which commits; a dry run cannot commit");
  if (conn_.in_transaction())
    throw RunError(
        "op.transaction: a transaction is already open (it is for `transactional = false` migrations "
        "and op.autocommit_block)");
  auto tx = open_transaction();
  block();
  if (before_commit_) before_commit_();
  tx.commit();
  autocommitted_ = true;
}

std::unique_ptr<RowStream> RunServices::query_all(const std::string& sql, const std::vector<Param>& params) {
  refuse_after_stop(sql);
  return conn_.query_all(sql, params);
}

void RunServices::send(const std::string& sql, const std::vector<Param>& params) {
  refuse_after_stop(sql);
  conn_.send(sql, params);
}

void RunServices::refuse_after_stop(const std::string& sql) {
  if (int sig = interrupt::requested())
    throw SqlFailure(fmt::format("not run: luamig received {}", interrupt::signal_name(sig)), sql, "57014");
}

void RunServices::stop(const std::string& why) {
  stop_reason_ = why;
  throw DryRunStop(why);
}

void RunServices::apply_timeouts(bool local) {
  const auto& d = conn_.dialect();
  for (const auto& [name, value] :
       {std::pair{"lock_timeout", timeouts_.lock}, {"statement_timeout", timeouts_.statement}}) {
    if (!value) continue;
    // Deferred: SET LOCAL goes out with the transaction's BEGIN, before its first statement.
    if (auto sql = d.set_timeout(name, *value, local); !sql.empty()) conn_.defer(sql, {}, false, {});
  }
}

void RunServices::reset_timeouts() noexcept {
  try {
    const auto& d = conn_.dialect();
    if (timeouts_.lock)
      if (auto sql = d.reset_setting("lock_timeout"); !sql.empty()) conn_.execute(sql);
    if (timeouts_.statement)
      if (auto sql = d.reset_setting("statement_timeout"); !sql.empty()) conn_.execute(sql);
  } catch (...) {
    // The connection is gone or in a failed state; the step fails on its own.
  }
}
}  // namespace luamig::runner
