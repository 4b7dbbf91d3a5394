#pragma once
// How a failed step is told to the user: revision, file:line, the statement, the database's message and SQLSTATE.
#include <exception>
#include <string_view>

#include "graph/plan.hpp"

namespace luamig::runner {
// Prints the failure of `step` to stderr. `outcome` says what became of its work (default: rolled back).
void report_step_failure(const graph::Step& step, const std::exception& error,
                         std::string_view outcome = "the revision was rolled back");
}  // namespace luamig::runner
