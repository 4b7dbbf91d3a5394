#pragma once
// The run loop: read heads -> plan -> per step: begin, run the Lua, update the version table, commit.
#include <string>

#include "graph/plan.hpp"
#include "runner/project.hpp"

namespace luamig::runner {

struct MigrateOptions {
  graph::Direction direction = graph::Direction::Up;
  std::string target;   // "head", "-1", "base", an id...
};

// Runs the planned steps. Prints one line per step. On failure: rolls the failing step back, prints the report
// (revision, file:line, SQL, SQLSTATE, traceback) and throws RunError (exit 1) whose message is already printed
// (RunError::reported()).
void migrate(Project& project, const MigrateOptions& options);

// Formats the per-step line: "Running upgrade a -> b, message".
std::string step_description(const graph::Step& step);
}  // namespace luamig::runner
