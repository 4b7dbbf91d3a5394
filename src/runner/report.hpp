#pragma once
// How a run is told to the user: the step events (text or --json) and the failure texts (revision or hook,
// file:line, the statement, the database's message and SQLSTATE, the Lua traceback, what became of the work).
// The failure functions compose the text into the Failure's `report`; main prints it once (util/failure.hpp).
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "graph/plan.hpp"
#include "util/failure.hpp"

namespace luamig::runner {

// The failure of `step`: "ERROR: upgrade of revision b2 (add x) failed; <outcome>." (a hook failure names the
// hook function and file) and the details of `cause`. Kind Migration; the cause's position, SQL and traceback
// are kept.
Failure step_failure(const graph::Step& step, const Failure& cause, std::string_view outcome);

// A hook failure outside any revision (before_run, after_run, on_error, a hooks file's top level):
// "ERROR: hook <function> of <file> failed; <consequence>" and the details. Kind Migration.
Failure hook_failure(const Failure& cause, const std::string& consequence);

// Adds a line (or several) after the report: where the database is, what to do next.
void append_report(Failure& failure, const std::string& lines);

// Step events of upgrade/downgrade. As text on stderr: "Running upgrade a -> b, message" before the step
// runs, then "  done in 12 ms" (a dry run: "    -- b (12 ms)"). With --json, one JSON object per event on
// stdout (JSON Lines):
// {"event":"step_start",...}, {"event":"step_end",...,"duration_ms":12}; a failure adds
// {"event":"step_failed"} (report_step_failed).
void report_step_start(const graph::Step& step);
void report_step_end(const graph::Step& step, std::chrono::milliseconds duration, bool dry_run);
void report_step_failed(const graph::Step& step, const Failure& failure);
// How many step_end events were reported by this process (for the final summary).
size_t steps_reported();
}  // namespace luamig::runner
