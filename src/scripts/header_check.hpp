#pragma once
// Strict checks of revision headers: the type of each header value, and top-level assignments whose name
// looks like a misspelled header (`down_revison = "a1"` would otherwise leave the file a silent new base).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "luahost/value.hpp"

namespace luamig::scripts {

// The names a migration file may set at its top level that luamig reads.
const std::vector<std::string>& header_names();

// "" when `v` is an acceptable value for header `key` (revision: a non-empty string; down_revision,
// branch_labels, depends_on: nil, a non-empty string or a list of non-empty strings), else what is wrong
// ("must be a string, a list of strings or nil (got a number)").
std::string header_value_error(std::string_view key, const luahost::Value& v);

// Line (1-based) of the first top-level assignment `key = ...` in `source`; 0 when none is found.
int assignment_line(std::string_view source, std::string_view key);

struct MisspelledHeader {
  std::string name;  // as written
  int line = 0;
  std::string suggestion;  // the header it probably means
};

// Top-level global assignments (a line starting with `name =`) whose name is not a header but is within a
// small edit distance of one (or equal ignoring case).
std::vector<MisspelledHeader> misspelled_headers(std::string_view source);

// Optimal string alignment distance (insertions, deletions, substitutions, transpositions of neighbours).
size_t edit_distance(std::string_view a, std::string_view b);
}  // namespace luamig::scripts
