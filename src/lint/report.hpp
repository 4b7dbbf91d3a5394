#pragma once
// How findings are shown: for people (one block per finding: file:line, severity, rule, message, the lock or
// failure, the statement, the safe alternative) and as JSON for tools.
#include <string>
#include <vector>

#include "lint/finding.hpp"

namespace luamig::lint {

std::string format_text(const std::vector<Finding>& findings, size_t revisions_linted);
// {"findings": [{rule, severity, revision, file, line, message, effect, statement, alternative, table,
// column,
//  source ("op" or "sql"), silenced}], "summary": {revisions, errors, warnings, silenced}}
std::string format_json(const std::vector<Finding>& findings, size_t revisions_linted);
// `luamig lint --rules`: every rule with its severity, effect, an example and its safe form.
std::string format_rules();
}  // namespace luamig::lint
