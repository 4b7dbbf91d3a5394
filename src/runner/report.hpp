#pragma once
// How a failed step is told to the user: revision, file:line, the statement, the database's message and SQLSTATE.
#include <exception>

#include "graph/plan.hpp"

namespace luamig::runner {
// Prints the failure of `step` (already rolled back) to stderr.
void report_step_failure(const graph::Step& step, const std::exception& error);
}  // namespace luamig::runner
