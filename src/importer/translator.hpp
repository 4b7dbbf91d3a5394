#pragma once
// Turns one Alembic revision file (Python source) into a luamig revision file (Lua source): the header
// (revision, down_revision, branch_labels, depends_on, message) and upgrade()/downgrade() translated
// statement by statement. A statement outside the supported shapes becomes `error("manual port needed:
// <what>")` with the Python kept beside it as a comment, so the file still loads and the graph stays
// complete.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::importer {

struct ManualPart {
  int line = 0;  // first line in the Python file
  int end_line = 0;
  std::string what;  // "for loop", "f-string", "call to helper function fill_roles"
};

struct Translation {
  std::string revision;
  std::vector<std::string> down_revisions;
  std::vector<std::string> branch_labels;
  std::vector<std::string> depends_on;
  std::string message;      // first line of the module docstring
  std::string create_date;  // "Create Date:" line of the docstring, if any
  std::string lua;          // the whole Lua file
  std::vector<ManualPart> manual;
};

struct ImportError {
  int line = 0;
  std::string message;
};

// Throws ImportError when the file cannot be a revision at all (not tokenizable, no `revision = "..."`, a
// header value that is not a literal).
Translation translate_revision(std::string_view python_source, const std::string& source_name);

// The Lua for one statement list given as Python source (for tests): the body of a function.
Translation translate_body_for_test(std::string_view python_body);

}  // namespace luamig::importer
