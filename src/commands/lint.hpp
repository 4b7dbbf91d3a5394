#pragma once
// `luamig lint` and the check `upgrade` runs first when lint_on_upgrade is on.
#include <string>

#include "config/config.hpp"
#include "runner/project.hpp"

namespace luamig::commands {

struct LintFlags {
  std::string range;              // "A:B"; "" = the revisions not applied (with a database) or all (offline)
  bool all = false;               // every revision, even with a database
  bool json = false;              // JSON output
  bool rules = false;             // list the rules and exit
  std::string fail_on = "error";  // exit 1 when an unsilenced finding is at least this severe
};
// Returns the exit status: 1 when a finding reaches --fail-on, else 0.
int lint(const config::GlobalOptions&, const LintFlags&);

// With lint_on_upgrade on: lints the revisions not applied yet with the error-level rules; on a finding
// prints it with its alternative and throws RunError (exit 1) before anything is changed. Only the revisions
// an upgrade to `target` would apply are checked.
void lint_before_upgrade(runner::Project& project, const std::string& target);
}  // namespace luamig::commands
