#pragma once
// A tokenizer for the subset of Python that Alembic revision files are written in: names, numbers, strings of
// every quoting form (single, double, triple; r/b/u/f prefixes), operators, comments, explicit and implicit
// line joining, and INDENT/DEDENT for blocks. Comments (including `# type:` comments) are dropped.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::importer {

enum class Tok { Name, Number, String, Op, Newline, Indent, Dedent, End };

struct Token {
  Tok kind = Tok::End;
  std::string text;      // Name/Number/Op: the source text; String: the decoded value
  int line = 0;          // 1-based line of the token's first character
  int end_line = 0;      // line of its last character (triple-quoted strings span lines)
  bool fstring = false;  // String: an f-string (its value is the raw template)
  bool bytes = false;    // String: a b"..." literal
};

struct SyntaxError : std::runtime_error {
  int line;
  SyntaxError(int line_, const std::string& m) : std::runtime_error(m), line(line_) {}
};

// Throws SyntaxError (with the line) on an unterminated string or inconsistent dedent.
std::vector<Token> tokenize(std::string_view source);

}  // namespace luamig::importer
