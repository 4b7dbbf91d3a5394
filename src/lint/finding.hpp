#pragma once
// What the linter reports: a finding of one rule at one migration line, and the registry of rules (id,
// default severity, the lock or failure the pattern causes, an example and its safe form). The rules
// themselves are in lint/rules.cpp; the registry's text is what `luamig lint --rules` and docs/lint.md show.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::lint {

enum class Severity { warning = 1, error = 2 };
const char* severity_name(Severity);
std::optional<Severity> parse_severity(std::string_view);  // "warning", "error"

struct Finding {
  std::string rule;  // "require-concurrent-index-creation"
  Severity severity = Severity::warning;
  std::string revision;       // revision id ("" for graph-wide findings such as multiple-heads)
  std::string file;           // the migration (or lib/) file of the op call or statement
  int line = 0;               // its line; 0 when unknown
  std::string message;        // what is wrong, naming the table and column
  std::string effect;         // the lock taken or the failure caused
  std::string statement;      // the SQL statement concerned, when there is one
  std::string alternative;    // the safe form, ready-to-paste luamig Lua for this table and column
  std::string table, column;  // the objects concerned ("" when none)
  bool from_sql = false;      // found in raw SQL (op.execute) rather than in an op call
  std::string silenced;       // non-empty: silenced, and why ("comment: <reason>", "config: disabled")
};

struct RuleInfo {
  const char* id;
  Severity severity;    // the default; `lint = { severity = { [id] = ... } }` changes it
  const char* summary;  // one line
  const char* effect;   // the lock or failure, in general
  const char* bad;      // a revision body that triggers it
  const char* good;     // the safe form of that example
};

// Every rule, in the order `luamig lint --rules` lists them.
const std::vector<RuleInfo>& rules();
const RuleInfo* find_rule(std::string_view id);
}  // namespace luamig::lint
