// Revision: one migration script as the revision graph sees it, and the graph's error type.
//
// Pure data and small text helpers; no I/O. Validation of a set of revisions happens in RevisionMap.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace luamig::graph {

struct Revision {
  std::string id;
  std::vector<std::string> down_revisions;  // empty = a base; >1 = merge point
  std::vector<std::string> branch_labels;
  // Ids or branch labels this revision depends on. Inside a RevisionMap they are normalised to full ids
  // (labels resolved, duplicates removed).
  std::vector<std::string> depends_on;
  std::string message;  // first comment line of the file
  std::string path;     // file it came from ("" in tests)
  int line = 0;         // line of the `revision = ` assignment, 0 if unknown
  std::string create_date;
  bool has_downgrade = true;
};

// Expected failures of the graph (exit status 2 in the CLI). what() is a complete user-facing message that
// names the files/lines involved when they are known. Unknown targets, ambiguous prefixes and malformed
// target/range syntax are GraphErrors too.
class GraphError : public Error {
 public:
  explicit GraphError(const std::string& message) : Error(FailureKind::Graph, message) {}
};

inline constexpr std::size_t kMaxRevisionIdLength = 32;

// Returns "" when `id` is a valid revision id, otherwise a short reason suitable after "revision id 'x' ...",
// e.g. "is empty", "is longer than 32 characters", "contains '@'", "contains whitespace".
// Valid ids: 1..32 characters, no whitespace or control characters, none of '@' '-' '+' ':', and not one of
// the reserved words "head", "heads", "base", "current".
std::string revision_id_problem(std::string_view id);

// Same for a branch label: non-empty, no whitespace or control characters, none of '@' '+' ':' (a '-' is
// allowed), not a reserved word.
std::string branch_label_problem(std::string_view label);

// "path:line", "path" (line unknown) or "" (path unknown).
std::string location(const Revision& rev);

// "'id' (path:line)", or just "'id'" when the path is unknown. Used to name revisions in messages.
std::string describe(const Revision& rev);

// The GraphError message for an argument ("head", "label@head") that matches several heads: lists them and
// suggests 'heads', '<branch>@head' or a merge revision.
std::string multiple_heads_message(std::string_view argument, const std::vector<std::string>& heads);

// Joins strings as "'a', 'b', 'c'" (each quoted), for messages.
std::string quoted_list(const std::vector<std::string>& items);

}  // namespace luamig::graph
