#pragma once
// The run loop: read heads -> plan -> per step: begin, run the Lua, update the version table, commit.
#include <functional>
#include <memory>
#include <string>

#include "db/connection.hpp"
#include "graph/plan.hpp"
#include "luahost/plan.hpp"
#include "runner/observer.hpp"
#include "runner/project.hpp"

namespace luamig::runner {

struct MigrateOptions {
  graph::Direction direction = graph::Direction::Up;
  std::string target;  // "head", "-1", "base", an id...; with `sql` also "FROM:TO"
  // Offline: connect to nothing, print the SQL script (BEGIN/COMMIT per revision, version-table statements)
  // on stdout. The starting point comes from "FROM:TO" (default for upgrade: base, with the version table's
  // DDL).
  bool sql = false;
  // Run every step for real in one transaction, print each step's statements and duration, roll back at the
  // end. Stops (exit 0, nothing changed) before a step that cannot run in a transaction.
  bool dry_run = false;
  bool no_validate = false;  // upgrade: skip the history validation (validate_on_upgrade)
  // false: neither read nor write the history table (throwaway databases of verify and trace).
  bool record_history = true;
  bool force = false;  // downgrade even where the environment sets allow_downgrade = false
  // Called after each step's upgrade()/downgrade() returned, with its recorded plan (ops, their SQL,
  // file:line), online and with `sql` alike. Unset (the default): the plan is never copied out of Lua.
  std::function<void(const graph::Step&, const luahost::Plan&)> on_plan;
  // Hears about every step (start, end, failure) after the text report does. Not owned; unset: none.
  StepObserver* observer = nullptr;
  // Opens the database connection instead of the project's URL (the run loop's unit tests pass a recording
  // connection). Unset: runner::connect(project).
  std::function<std::unique_ptr<db::Connection>()> open_connection;
  // When set, the run's connection is handed through it once opened (tools that watch every statement:
  // trace).
  std::function<std::unique_ptr<db::Connection>(std::unique_ptr<db::Connection>)> wrap_connection;
  // With `sql`: where the script's lines go instead of stdout (the linter reads plans and discards the
  // script).
  std::function<void(const std::string&)> script_sink;
  // With `sql`: called instead of stopping when a step's upgrade()/downgrade() fails (an op that needs a live
  // database, a Lua error), with the plan recorded up to the failure; the run goes on with the next step.
  std::function<void(const graph::Step&, const Failure&, const luahost::Plan&)> on_offline_failure;
};

// Runs the planned steps with the environment's hooks (runner/hooks.hpp) and timeouts. Prints which
// environment and database first, then one line per step. A downgrade where allow_downgrade = false, without
// `force`, is refused before connecting (RunError, FailureKind::Refused). On failure: rolls the failing step
// back, calls the on_error hooks and throws RunError (FailureKind::Migration) whose Failure carries the whole
// report (revision or hook, file:line, SQL, SQLSTATE, traceback, what became of the work, where the database
// is): main prints it.
void migrate(Project& project, const MigrateOptions& options);

// Formats the per-step line: "Running upgrade a -> b, message".
std::string step_description(const graph::Step& step);
}  // namespace luamig::runner
