#pragma once
// The run loop: read heads -> plan -> per step: begin, run the Lua, update the version table, commit.
#include <string>

#include "graph/plan.hpp"
#include "runner/project.hpp"

namespace luamig::runner {

struct MigrateOptions {
  graph::Direction direction = graph::Direction::Up;
  std::string target;   // "head", "-1", "base", an id...; with `sql` also "FROM:TO"
  // Offline: connect to nothing, print the SQL script (BEGIN/COMMIT per revision, version-table statements) on
  // stdout. The starting point comes from "FROM:TO" (default for upgrade: base, with the version table's DDL).
  bool sql = false;
  // Run every step for real in one transaction, print each step's statements and duration, roll back at the end.
  // Stops (exit 0, nothing changed) before a step that cannot run in a transaction.
  bool dry_run = false;
};

// Runs the planned steps. Prints one line per step. On failure: rolls the failing step back, prints the report
// (revision, file:line, SQL, SQLSTATE, traceback) and throws RunError (exit 1) whose message is already printed
// (RunError::reported()).
void migrate(Project& project, const MigrateOptions& options);

// Formats the per-step line: "Running upgrade a -> b, message".
std::string step_description(const graph::Step& step);
}  // namespace luamig::runner
