#pragma once
// The linter's core: rules over the recorded op plans of revisions (luahost/plan.hpp), with the raw SQL of
// op.execute parsed by PostgreSQL's own parser (lint/sql_parse.hpp), knowing which tables earlier revisions
// created (lint/schema.hpp). No database and no Lua here: the command (commands/lint.cpp, lint/collect.hpp)
// gathers the plans; tests build them in memory.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lint/finding.hpp"
#include "luahost/plan.hpp"

namespace luamig::lint {

// One revision as the linter sees it: its upgrade() plan and what its file declares.
struct RevisionInput {
  std::string id;
  std::string path;                        // the revision's file
  std::vector<luahost::OpRecord> records;  // the plan of its upgrade()
  bool transactional = true;               // false: the file declares `transactional = false`
  bool has_downgrade = true;               // the file defines downgrade()
  bool downgrade_empty = false;            // ... whose body does nothing
  bool report = true;                      // false: only its schema changes count (before the linted range)
  std::string incomplete;       // non-empty: upgrade() failed offline with this error (the plan is partial)
  std::string incomplete_file;  // where
  int incomplete_line = 0;
};

// What is known beyond the revisions themselves.
struct Context {
  // Rows per table (pg_class.reltuples, with --url), by name and by "schema.name". Absent: unknown.
  std::map<std::string, double> table_rows;
  std::set<std::string> existing_tables;  // tables the database holds now (with --url)
  int server_version = 150000;  // server_version_num (with --url); below 110000 every default rewrites
  bool lock_timeout_configured = false;  // luamig.lua sets lock_timeout for the environment
  std::vector<std::string> heads;        // the graph's heads (more than one: multiple-heads)
};

struct Options {
  std::set<std::string> disable;             // rule ids never reported
  std::map<std::string, Severity> severity;  // rule id -> severity
  double large_table_rows = 100000;          // from this many rows a table is large: warnings become errors
  std::optional<Severity> only;              // report only findings at this severity or above
};

// Lints the revisions, in order (parents before children). Findings are in revision order, then line order;
// silenced findings are included with `silenced` set. `source_of(path)` returns a file's text for the
// `-- luamig: allow` comments (may return "" for unknown files).
std::vector<Finding> lint(const std::vector<RevisionInput>& revisions, const Context& context,
                          const Options& options,
                          const std::function<std::string(const std::string&)>& source_of = nullptr);
}  // namespace luamig::lint
