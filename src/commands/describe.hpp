#pragma once
// Text shown by current, history, heads and show, in Alembic's format.
#include <set>
#include <string>

#include "graph/revision_map.hpp"
#include "util/json.hpp"

namespace luamig::commands {
// "a1b2 -> 3f2a (head), add phone" / "<base> -> a1b2, create users"; marks (head), (branchpoint),
// (mergepoint), (current) when `current` contains it.
std::string history_line(const graph::RevisionMap& map, const graph::Revision& r,
                         const std::set<std::string>& current);
// The multi-line verbose form (Rev:, Parent:, Branches into:, Path:, message).
std::string verbose_entry(const graph::RevisionMap& map, const graph::Revision& r,
                          const std::set<std::string>& current);
// "3f2a1c9d8e7b (head)" / "3f2a1c9d8e7b (head) (mergepoint)".
std::string short_line(const graph::RevisionMap& map, const graph::Revision& r);
// Every text above prints the revision's id, message, labels and path through out::escape.

// The JSON form of a revision (the README's "revision object"): id, down_revisions, depends_on,
// branch_labels, message, path, create_date, is_head, is_branchpoint, is_mergepoint, is_current.
json::Object revision_json(const graph::RevisionMap& map, const graph::Revision& r,
                           const std::set<std::string>& current);
}  // namespace luamig::commands
