#pragma once
// Turning a statement with bound parameters into self-contained SQL text, for --sql scripts and dry-run
// listings.
#include <string>
#include <string_view>
#include <vector>

#include "dialect/dialect.hpp"
#include "util/rows.hpp"

namespace luamig::dialect {

struct InlinedSql {
  std::string text;
  // True when the text ends inside a `--` comment: a terminator must go on a new line.
  bool ends_in_line_comment = false;
};

// Replaces each placeholder $1..$n of `sql` by the literal of params[n-1] (quote_literal, or NULL), leaving
// string literals, quoted identifiers, dollar-quoted bodies and comments untouched (a `$1` inside a function
// body stays). Without parameters the text is returned as written. Throws std::invalid_argument when a
// placeholder has no parameter (its message names the placeholder).
InlinedSql inline_params(const Dialect& dialect, std::string_view sql, const std::vector<Param>& params);

// The statement as a script line: inlined, with exactly one terminating ';'.
std::string script_statement(const Dialect& dialect, std::string_view sql, const std::vector<Param>& params);
}  // namespace luamig::dialect
