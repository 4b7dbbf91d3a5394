// History ranges for `history -r LOWER:UPPER`, with Alembic's meaning.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "graph/revision_map.hpp"

namespace luamig::graph {

// `range` is "LOWER:UPPER" (exactly one ':'; either side may be empty). Returns the revisions from LOWER up
// to UPPER, both inclusive, newest first (reverse topological order), as Alembic's history prints them.
//   LOWER: "" or "base" = from the bases; "current" = the given current heads (none = base); "-N" = N steps
//          down from each head of the map; "+N" = N steps up from the base; anything else as resolve_target.
//   UPPER: "" or "heads" = all heads; "current" = the given current heads (none = nothing); "+N" = N steps up
//   from
//          LOWER (a single revision or base); "-N" = N steps down from each head; anything else as
//          resolve_target.
// The result holds the ancestors of UPPER (down_revisions and depends_on) that are LOWER or descend from
// LOWER (down_revisions only). GraphError: no ':' or more than one, a side that does not resolve, or a LOWER
// revision that is not an ancestor of UPPER.
std::vector<const Revision*> history_range(const RevisionMap& map, std::string_view range,
                                           const std::set<std::string>& current_heads);

}  // namespace luamig::graph
