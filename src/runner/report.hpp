#pragma once
// How a failure is told to the user: revision or hook, file:line, the statement, the database's message and
// SQLSTATE, the Lua traceback.
#include <exception>
#include <string>

#include "graph/plan.hpp"

namespace luamig::runner {
class HookError;

// Prints the failure of `step` (already rolled back) to stderr. A HookError names the hook file and function.
void report_step_failure(const graph::Step& step, const std::exception& error);

// Prints a hook failure outside any revision (before_run, after_run, on_error, a hooks file's top level):
// "ERROR: hook <function> failed; <consequence>" and the details.
void report_hook_failure(const HookError& error, const std::string& consequence);
}  // namespace luamig::runner
