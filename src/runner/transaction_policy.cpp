#include "runner/transaction_policy.hpp"

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/sql_failure.hpp"

namespace luamig::runner {
namespace {

std::string steps_word(size_t n) { return n == 1 ? "" : "s"; }

class PerRevision : public TransactionPolicy {
 public:
  using TransactionPolicy::TransactionPolicy;
  void begin_step(bool transactional, size_t done) override {
    (void)done;
    if (transactional) {
      tx_.emplace(services_.open_transaction());
    } else if (conn_.in_transaction()) {
      conn_.commit();
    }
  }
  void end_step(bool transactional, size_t done) override {
    (void)transactional;
    if (tx_) tx_->commit();
    tx_.reset();
    committed_ = done + 1;
  }
  bool opens_step_transaction() const override { return true; }
  bool retries_lock_timeouts() const override { return true; }
  std::string consequence(bool transactional, bool autocommitted) const override {
    return rolled_back_consequence(transactional, autocommitted, "the revision was rolled back");
  }
  void end_run() override {}
};

class WholeCommand : public TransactionPolicy {
 public:
  using TransactionPolicy::TransactionPolicy;
  void begin_run() override {
    if (!tx_ && !conn_.in_transaction()) tx_.emplace(services_.open_transaction());
  }
  void begin_step(bool transactional, size_t done) override {
    if (transactional) return;
    // `transactional = false`: what the command did so far is committed before it.
    if (conn_.in_transaction()) {
      if (tx_) tx_->commit();
      tx_.reset();
      committed_ = done;
    }
  }
  void end_step(bool transactional, size_t done) override {
    if (transactional) return;
    if (tx_) tx_->commit();
    committed_ = done + 1;
    tx_.emplace(services_.open_transaction());
  }
  std::string consequence(bool transactional, bool autocommitted) const override {
    return rolled_back_consequence(
        transactional, autocommitted,
        committed_ > 0 ? "the revision was rolled back" : "every step of this command was rolled back");
  }
  std::string where_now(const std::string& heads, size_t done, size_t total) const override {
    (void)done;
    // Steps before a `transactional = false` one were committed with it.
    return fmt::format("The database is at {}: {} of {} step{} applied.",
                       committed_ > 0 ? heads : "its state before this command", committed_, total,
                       steps_word(total));
  }
  void end_run() override {
    if (!tx_ || !conn_.in_transaction()) return;
    try {
      tx_->commit();
    } catch (const SqlFailure& e) {
      tx_.reset();
      throw RunError(
          fmt::format("COMMIT failed: {} (SQLSTATE {}); nothing was applied", e.message(), e.sqlstate()));
    }
    tx_.reset();
  }
};

class DryRun : public TransactionPolicy {
 public:
  using TransactionPolicy::TransactionPolicy;
  // Everything, the version table's creation included, in one transaction rolled back at the end.
  void begin_run() override {
    if (!tx_) tx_.emplace(services_.open_transaction());
  }
  std::optional<std::string> refuses(bool transactional) const override {
    if (transactional) return std::nullopt;
    return "it declares `transactional = false`, so it cannot run inside the dry run's transaction";
  }
  void begin_step(bool, size_t) override {}
  void begin_version_row() override {}
  void end_step(bool, size_t) override {}
  // The dry run's one transaction: a failure ends the run, which rolls everything back.
  void abandon_attempt() noexcept override { tx_.reset(); }
  bool reports_database_state() const override { return false; }
  std::string consequence(bool, bool) const override {
    return "the dry run stopped and rolled everything back; nothing was changed";
  }
  void end_run() override { tx_.reset(); }
};

// --sql: the transactions of `inner` become BEGIN/COMMIT lines of the script; a failure cannot undo lines
// already written.
class Offline : public TransactionPolicy {
 public:
  Offline(std::unique_ptr<TransactionPolicy> inner, db::Connection& conn, RunServices& services)
      : TransactionPolicy(conn, services), inner_(std::move(inner)) {}
  void begin_run() override { inner_->begin_run(); }
  void begin_step(bool transactional, size_t done) override { inner_->begin_step(transactional, done); }
  void begin_version_row() override { inner_->begin_version_row(); }
  void end_step(bool transactional, size_t done) override { inner_->end_step(transactional, done); }
  void abandon_attempt() noexcept override { inner_->forget(); }
  bool opens_step_transaction() const override { return inner_->opens_step_transaction(); }
  void forget() noexcept override { inner_->forget(); }
  bool reports_database_state() const override { return false; }
  std::string consequence(bool, bool) const override {
    return "it cannot be written as an SQL script; the script above stops before it";
  }
  void end_run() override { inner_->end_run(); }

 private:
  std::unique_ptr<TransactionPolicy> inner_;
};
}  // namespace

std::string TransactionPolicy::where_now(const std::string& heads, size_t done, size_t total) const {
  return fmt::format("The database is at {}: {} of {} step{} applied.", heads, done, total,
                     steps_word(total));
}

std::string rolled_back_consequence(bool transactional, bool autocommitted, const char* otherwise) {
  if (!transactional)
    return "it declares `transactional = false`, so the statements it ran before the failure were committed "
           "and "
           "stay; the version table was not updated";
  if (autocommitted)
    return "its open transaction was rolled back, but the work it committed (autocommit_block, "
           "op.transaction) "
           "stays; the version table was not updated";
  return otherwise;
}

std::unique_ptr<TransactionPolicy> make_transaction_policy(RunMode mode, bool offline, db::Connection& conn,
                                                           RunServices& services) {
  std::unique_ptr<TransactionPolicy> policy;
  switch (mode) {
    case RunMode::PerRevision:
      policy = std::make_unique<PerRevision>(conn, services);
      break;
    case RunMode::WholeCommand:
      policy = std::make_unique<WholeCommand>(conn, services);
      break;
    case RunMode::DryRun:
      policy = std::make_unique<DryRun>(conn, services);
      break;
  }
  if (offline) return std::make_unique<Offline>(std::move(policy), conn, services);
  return policy;
}
}  // namespace luamig::runner
