#pragma once
// How a failure is told to the user: revision or hook, file:line, the statement, the database's message and
// SQLSTATE, the Lua traceback, and what became of the work. These functions compose the text into the
// Failure's `report`; main prints it once (util/failure.hpp).
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
}  // namespace luamig::runner
