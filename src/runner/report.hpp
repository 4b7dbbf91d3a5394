#pragma once
// How a failed step is told to the user: revision, file:line, the statement, the database's message and SQLSTATE.
#include <exception>
#include <string_view>

#include "graph/plan.hpp"

namespace luamig::runner {
// Prints the failure of `step` to stderr. `outcome` says what became of its work ("the revision was rolled back").
void report_step_outcome(const graph::Step& step, const std::exception& error, std::string_view outcome);
// Prints the failure of `step` (already rolled back) to stderr. `per_step` false: the whole command ran in one
// transaction (transaction_per_migration = false), so every step of it was rolled back.
void report_step_failure(const graph::Step& step, const std::exception& error, bool per_step = true);
}  // namespace luamig::runner
