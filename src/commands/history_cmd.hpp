#pragma once
#include <string>

#include "runner/project.hpp"

namespace luamig::commands {
// For `show REV`: prints when, by whom and how REV was applied, from the history table, when a database URL
// is configured and the table exists; otherwise nothing (show stays a files-only command).
void show_applied(runner::Project& project, const std::string& id);
}  // namespace luamig::commands
