#pragma once
// How a failure is told to the user: revision or hook, file:line, the statement, the database's message and
// SQLSTATE, the Lua traceback.
#include <chrono>
#include <cstddef>
#include <exception>
#include <string>
#include <string_view>

#include "graph/plan.hpp"

namespace luamig::runner {
class HookError;

// Prints the failure of `step` to stderr. `outcome` says what became of its work ("the revision was rolled
// back"). A HookError names the hook file and function.
void report_step_outcome(const graph::Step& step, const std::exception& error, std::string_view outcome);
// Prints the failure of `step` (already rolled back) to stderr. `per_step` false: the whole command ran in
// one transaction (transaction_per_migration = false), so every step of it was rolled back.
void report_step_failure(const graph::Step& step, const std::exception& error, bool per_step = true);

// Prints a hook failure outside any revision (before_run, after_run, on_error, a hooks file's top level):
// "ERROR: hook <function> failed; <consequence>" and the details.
void report_hook_failure(const HookError& error, const std::string& consequence);

// Step events of upgrade/downgrade. As text on stderr: "Running upgrade a -> b, message" before the step
// runs, then "  done in 12 ms" (a dry run: "    -- b (12 ms)"). With --json, one JSON object per event on
// stdout (JSON Lines):
// {"event":"step_start",...}, {"event":"step_end",...,"duration_ms":12}; a failure adds
// {"event":"step_failed"}.
void report_step_start(const graph::Step& step);
void report_step_end(const graph::Step& step, std::chrono::milliseconds duration, bool dry_run);
// How many step_end events were reported by this process (for the final summary).
size_t steps_reported();
}  // namespace luamig::runner
