#pragma once
// Where a run's transactions begin and end, one policy per mode:
//   PerRevision   transaction_per_migration = true (the default): each revision commits on its own.
//   WholeCommand  transaction_per_migration = false: one transaction for the command, the version table's
//   creation
//                 included; a `transactional = false` revision commits what came before it.
//   DryRun        --dry-run: everything in one transaction, rolled back at the end; a revision that cannot
//   run
//                 inside it stops the run (exit 0).
//   Offline       --sql: the transactions of the mode above are written into the script; nothing can be
//   undone.
// The run loop (runner/migrate.cpp) asks the policy at each boundary and never tests a mode flag itself. To
// add a mode: implement TransactionPolicy here and pick it in make_transaction_policy().
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "db/connection.hpp"
#include "db/transaction.hpp"
#include "runner/services.hpp"

namespace luamig::runner {

class TransactionPolicy {
 public:
  TransactionPolicy(db::Connection& conn, RunServices& services) : conn_(conn), services_(services) {}
  virtual ~TransactionPolicy() = default;

  // Opens the run's own transaction, if it has one (whole command, dry run) and it is not open yet, and keeps
  // its guard.
  virtual void begin_run() {}
  // A reason when a revision declaring `transactional` cannot run under this policy (the dry run stops
  // there).
  virtual std::optional<std::string> refuses(bool transactional) const {
    (void)transactional;
    return std::nullopt;
  }
  // Before the step's work: a transactional step's own transaction (per revision); a `transactional = false`
  // one commits what is open first. `done`: the steps finished so far.
  virtual void begin_step(bool transactional, size_t done) = 0;
  // A `transactional = false` step's work ran outside a transaction: open the one for its version row.
  virtual void begin_version_row() { tx_.emplace(services_.open_transaction()); }
  // After the version row and after_migration: commit what the step owns.
  virtual void end_step(bool transactional, size_t done) = 0;
  // After a failed attempt: undo what is open (a rollback, never throws).
  virtual void abandon_attempt() noexcept { tx_.reset(); }
  // Whether each transactional step gets a transaction of its own (then the run checks, after opening it,
  // that no other process moved the version table).
  virtual bool opens_step_transaction() const { return false; }
  // Whether a 55P03 failure may be retried (runner/retry.hpp).
  virtual bool retries_lock_timeouts() const { return false; }
  // Whether a failure calls on_error and tells where the database is (false: nothing was changed or can be
  // told).
  virtual bool reports_database_state() const { return true; }
  // What became of a failed step's work, after the rollback.
  virtual std::string consequence(bool transactional, bool autocommitted) const = 0;
  // "The database is at <heads>: 2 of 5 steps applied."
  virtual std::string where_now(const std::string& heads, size_t done, size_t total) const;
  // After the last step: commit or roll back what the run owns. Throws RunError when the final COMMIT fails.
  virtual void end_run() = 0;
  // Steps whose work is committed.
  size_t committed_steps() const { return committed_; }
  // Lets go of any open transaction without ending it (an --sql script that stops: nothing to roll back).
  virtual void forget() noexcept {
    if (tx_) tx_->release();
    tx_.reset();
  }

 protected:
  db::Connection& conn_;
  RunServices& services_;
  std::optional<db::Transaction> tx_;
  size_t committed_ = 0;
};

enum class RunMode { PerRevision, WholeCommand, DryRun };

// The policy for a mode; `offline` (--sql) wraps it in the Offline policy.
std::unique_ptr<TransactionPolicy> make_transaction_policy(RunMode mode, bool offline, db::Connection& conn,
                                                           RunServices& services);

// "the revision was rolled back" and its variants for a step that committed part of its work.
std::string rolled_back_consequence(bool transactional, bool autocommitted, const char* otherwise);
}  // namespace luamig::runner
