#pragma once
// What the engine needs to know about a statement's text before running it, read with PostgreSQL's lexical
// rules (string literals, E'' strings, quoted identifiers, dollar quotes and comments are skipped, never
// looked into).
#include <cstddef>
#include <string>
#include <string_view>

namespace luamig::db {

struct StatementShape {
  // True when `DECLARE ... CURSOR FOR <statement>` is legal and has no side effect of its own: a SELECT,
  // VALUES, TABLE or WITH query (leading parentheses, comments and whitespace allowed) without a
  // data-modifying part (INSERT/UPDATE/DELETE/MERGE anywhere), SELECT ... INTO or a locking clause (FOR
  // UPDATE/SHARE). Anything else (SHOW, EXPLAIN, INSERT ... RETURNING, CALL...) must run as a plain
  // statement.
  bool cursor_allowed = false;
  // BEGIN, START, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT, RELEASE: statements that move the transaction
  // itself.
  bool transaction_control = false;
  // The highest $n placeholder used outside literals and comments (0 when none).
  size_t max_placeholder = 0;
};

StatementShape statement_shape(std::string_view sql);

// The one message for a statement given the wrong number of bound values, on every dialect.
std::string parameter_count_message(size_t takes, size_t given);
}  // namespace luamig::db
