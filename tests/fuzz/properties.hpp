// Properties of the hand-written parsers, checked on any input: by the deterministic random-input unit tests
// (tests/unit/fuzz_test.cpp) and by the libFuzzer targets (tests/fuzz/*_fuzz.cpp, built with
// -DLUAMIG_FUZZ=ON).
//
// Each check feeds one input to one parser. The parser may reject the input only with its documented
// exception (caught here); a violated property throws PropertyViolation, and any other exception escapes.
// Both are failures: the unit test reports them with the input, a fuzz target aborts so libFuzzer saves the
// input.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::fuzz {

struct PropertyViolation : std::logic_error {
  using std::logic_error::logic_error;
};

// parse_url / masked / mask_passwords: a password never survives masking (re-parsing the masked URL finds no
// password but "***"); an error message never shows the unmasked URL; masking is idempotent.
void check_url(std::string_view input);
// scan_header: no crash; a found revision has a line inside the text; headers written by format_header
// (below) read back as written.
void check_header(std::string_view input);
// parse_relative agrees with a reference; resolve_target on a fixed graph answers with ids of that graph or a
// GraphError.
void check_target(std::string_view input);
// inline_params agrees with statement_shape on the placeholders used; inlining leaves no placeholder behind;
// without parameters the text is returned as written.
void check_inline_params(std::string_view input);
// parse_duration / parse_size agree with a reference parser on plain "<decimal><unit>" text and reject the
// rest with ConfigError only.
void check_duration(std::string_view input);
// statement_shape: the shape does not change with leading comments or trailing whitespace.
void check_statement_shape(std::string_view input);
// lua/sqlite_ddl.lua: tokens give the text back exactly; tokenize and parse_table fail only with their own
// error messages, never with a Lua runtime error.
void check_sqlite_ddl(std::string_view input);
// importer tokenizer: fails only with SyntaxError on a line of the text; a token stream ends with End, has as
// many Dedents as Indents and lines that never go back.
void check_py_tokenizer(std::string_view input);

// Valid and near-valid inputs for each parser: the starting points of the random-input tests.
struct Target {
  const char* name;
  void (*check)(std::string_view);
  std::vector<std::string> (*seeds)();
  const char* alphabet;  // characters that matter to this parser, favoured by the mutator
};
const std::vector<Target>& targets();

// A header in the documented file format, for round trips.
struct HeaderSpec {
  std::string revision;
  std::vector<std::string> down_revisions;  // empty: nil
  bool down_as_list = false;
  std::vector<std::string> branch_labels, depends_on;
  std::string message;
  char quote = '"';  // '"', '\'' or '[' (long brackets)
};
std::string format_header(const HeaderSpec& spec);
void check_header_round_trip(const HeaderSpec& spec);

}  // namespace luamig::fuzz
