#pragma once
// Raw SQL (op.execute, op.query) parsed with PostgreSQL's own parser (libpg_query) and turned into records of
// the op plan's kinds (docs/ops-plan.md), so that one set of rules covers op calls and SQL alike. Statements
// without an op equivalent get kinds of their own: `set` (name, value, local), `dml` (verb, table),
// `validate_constraint` (table, name), `alter_table_other` (table, subtype), `other` (node).
#include <string>
#include <vector>

#include "luahost/plan.hpp"

namespace luamig::lint {

struct SqlStatement {
  std::string text;     // the statement as written (trimmed)
  int line_offset = 0;  // lines from the start of the SQL string to the statement's first token
  std::vector<luahost::OpRecord>
      records;  // what it does, one record per action (ALTER TABLE may hold several)
};

struct SqlParse {
  std::vector<SqlStatement> statements;
  std::string error;   // non-empty: PostgreSQL's parser rejected the SQL (then `statements` is empty)
  int error_line = 0;  // line offset of the error within the string
};

// Parses `sql` (one or more statements). $n parameters are accepted. Records get no file/line (the caller
// places them); their `sql` holds the statement.
SqlParse parse_sql(const std::string& sql);

// Names of the functions called in an SQL expression text, lowercased, without schema ("now", "random").
std::vector<std::string> functions_called(const std::string& expression);
}  // namespace luamig::lint
