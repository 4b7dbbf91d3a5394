// Migration planning: which revisions to run, in which order, and how the version table changes per step.
//
// The version table (alembic_version) holds one row per applied head. Invariant kept by version_change: the
// set of applied revisions is always ancestors_inclusive(rows).
//
// Including this header gives the whole graph API (RevisionMap, resolve_target, history_range).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graph/history.hpp"
#include "graph/revision.hpp"
#include "graph/revision_map.hpp"
#include "graph/target.hpp"

namespace luamig::graph {

enum class Direction { Up, Down };

struct Step {
  const Revision* revision;  // points into the RevisionMap the plan was made from
  Direction direction;
};

struct VersionChange {
  std::vector<std::string> deletes;
  std::vector<std::string> inserts;
  std::optional<std::pair<std::string, std::string>> update;  // from, to
};

// How the version table changes for one step, as Alembic's HeadMaintainer does it.
// Upgrade of R (R must not be a current head):
//   F = R.down_revisions ∩ current_heads, in down_revisions order.
//   F empty (a base or a branch-out) -> insert R;
//   otherwise update F[0] to R and delete the rest of F (merge).
//   Heads that R only depends_on are not touched.
// Downgrade of R (R must be a current head):
//   candidates = R.down_revisions then R.depends_on, minus those that are ancestors of another candidate,
//   minus those that are ancestors (inclusive) of any other current head.
//   None -> delete R; one -> update R to it; several (unmerge) -> update R to the first, insert the others.
//   Alembic does the same: its "normalized down revisions" include dependencies. Without depends_on this is
//   exactly "R.down_revisions that are not ancestors of another remaining head".
// GraphError: a current head unknown to the map, R already a head (upgrade) or not a head (downgrade).
VersionChange version_change(const RevisionMap& map, const std::set<std::string>& current_heads,
                             const Step& step);

// Applies a VersionChange to a set of heads. GraphError if it does not fit (deleting/updating a missing head,
// inserting or updating to an existing one).
void apply(std::set<std::string>& heads, const VersionChange& change);
// The same; these overloads only exist so that an unqualified `apply(heads, change)` never picks std::apply
// through argument-dependent lookup (std::set is in namespace std).
inline void apply(std::set<std::string>& heads, VersionChange& change) {
  apply(heads, static_cast<const VersionChange&>(change));
}
inline void apply(std::set<std::string>& heads, VersionChange&& change) {
  apply(heads, static_cast<const VersionChange&>(change));
}

// Planning. current_heads = the rows of the version table (may be empty); target as for resolve_target.
// GraphError: a current head unknown to the map ("Can't locate revision identified by 'x'"), a target that
// does not resolve, or a target that is not reachable in that direction (the message suggests the other
// command).
//
// Upgrade: steps = ancestors_inclusive(target) minus ancestors_inclusive(current), in topological order
//   (RevisionMap::ordered()). Empty when everything is already applied. An error when a target revision is
//   already applied and some child of it is applied too (it lies behind the database: use downgrade), or when
//   the target is "base" and the database is not empty.
std::vector<Step> plan_upgrade(const RevisionMap& map, const std::set<std::string>& current_heads,
                               std::string_view target);

// Downgrade (Alembic semantics):
//   - target "base" (empty set): every applied revision is removed;
//   - otherwise: the applied revisions that descend (down_revisions or depends_on) from a target revision and
//     are not ancestors of one are removed; unrelated branches stay;
//   - with a "label@..." target, only the descendants on that label's lineage are removed (so
//     `downgrade feature@-2` leaves sibling branches alone).
//   For a linear history this is ancestors(current) minus ancestors(target). Steps come in reverse
//   topological order, so each step's revision is a current head when it runs. An error when a target
//   revision is not applied (use upgrade).
std::vector<Step> plan_downgrade(const RevisionMap& map, const std::set<std::string>& current_heads,
                                 std::string_view target);

}  // namespace luamig::graph
