#pragma once
// One attempt at one step: load the revision's file, open what the transaction policy says, before_migration,
// upgrade()/downgrade(), the version row, after_migration, and the policy's end of step. Returns what
// happened as a value; the run loop (runner/migrate.cpp) decides what follows (retry, report, stop).
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/echo_connection.hpp"
#include "db/version_table.hpp"
#include "graph/plan.hpp"
#include "luahost/engine.hpp"
#include "luahost/plan.hpp"
#include "runner/hooks.hpp"
#include "runner/observer.hpp"
#include "runner/services.hpp"
#include "runner/transaction_policy.hpp"
#include "util/failure.hpp"

namespace luamig::runner {

struct StepOutcome {
  enum class Status {
    Done,     // the step's work and version row are done
    Failed,   // `failure` says why; nothing was rolled back yet
    Refused,  // the policy cannot run this step (a dry run and `transactional = false`): `reason`
    Stopped,  // a dry run reached something that would commit: `reason`
    Moved,    // the version table moved under the run before the step began (another process): plan again
  };
  Status status = Status::Done;
  std::optional<Failure> failure;
  std::string reason;
  bool loaded = false;         // the file loaded (a failure before that is never retried)
  bool transactional = true;   // what the file declared
  bool autocommitted = false;  // the attempt committed part of its work (autocommit_block, op.transaction)
  std::chrono::nanoseconds duration{0};
  std::chrono::system_clock::time_point wall_started;  // when the attempt began (wall clock, for the history)
};

// What the executor works with; all owned by the run.
struct StepParts {
  const graph::RevisionMap& map;
  const std::vector<graph::Step>& steps;
  std::set<std::string>&
      heads;  // the version table's rows as this run knows them; updated by each version row
  db::VersionTable& version_table;
  RunServices& services;
  luahost::Engine& engine;
  Hooks& hooks;
  TransactionPolicy& policy;
  StepObserver& observer;
  db::EchoConnection* echo = nullptr;  // a dry run's echoing connection: on while the step's statements run
  const luahost::Value* context = nullptr;  // hooks' ctx
  std::function<void(const graph::Step&, const luahost::Plan&)> on_plan;
  // True when another process moved the version table (checked after the step's transaction opened).
  std::function<bool()> moved_under_us;
  // Right before the version row is written, in its transaction (a session reset).
  std::function<void()> before_version_row;
  // Right after the version row, in its transaction, with the heads before it and when the attempt started.
  std::function<void(const graph::Step&, const std::set<std::string>&, std::chrono::system_clock::time_point)>
      after_version_row;
};

class StepExecutor {
 public:
  explicit StepExecutor(StepParts parts) : p_(std::move(parts)) {}
  // Runs attempt number `attempt` (0 = first: the step is announced) of step `index`; `done` steps are
  // finished.
  StepOutcome attempt(size_t index, int attempt, size_t done);
  // Writes the step's version row and moves `heads` on.
  void record_version_change(const graph::Step& step);

 private:
  luahost::Script load_script(const graph::Step& step);
  void run_script(const graph::Step& step, luahost::Script& script);
  void echo(bool on) {
    if (p_.echo) p_.echo->set_enabled(on);
  }
  StepParts p_;
};

// A migration file may ask for more (or less) time than lua_time_limit with a top-level `time_limit =
// "10min"` (a duration string, or a number of seconds; "0" for none). Read after the file's top level ran.
std::optional<std::chrono::milliseconds> declared_time_limit(const luahost::Script& script);
}  // namespace luamig::runner
