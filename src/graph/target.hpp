// Target resolution: turns a user's target ("head", "ae10+2", "-1", ...) into the set of revisions the
// database should be at, with Alembic's meaning.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "graph/revision_map.hpp"

namespace luamig::graph {

// Returns the set of revision ids the database should be at ("base" = empty set). Forms:
//   "heads"      all heads;
//   "head"       the single head (several heads -> GraphError listing them, suggesting 'heads',
//                '<branch>@head' or a merge; an empty map gives the empty set);
//   "base"       the empty set;
//   id, unique prefix (>= 4 chars), branch label, "label@head", "label@<id>": see RevisionMap::resolve_id;
//   "label@heads"  the heads descending from the labelled revision;
//   "+N", "-N"   relative to current_heads, which must then hold a single revision ("+N" from an empty
//                database walks up from the base, which must be unique);
//   "label@+N", "label@-N"  the same, considering only the current heads on that branch (for "+N" with
//                none there, walks up from the branch's applied tip, or from its base);
//   "<ident>+N", "<ident>-N"  relative to that revision; <ident> may also be "head" (or "base" for "+N").
// Walking follows down_revisions only. "-N" goes to the down_revision: walking down from a base reaches
// "base" (the empty set); walking further, or down from a merge point, is a GraphError. "+N" goes to the
// child: several children (an ambiguous walk) or none (a head) are GraphErrors.
// Also GraphError: an unknown or ambiguous identifier, bad syntax, a current head unknown to the map.
std::set<std::string> resolve_target(const RevisionMap& map, std::string_view target,
                                     const std::set<std::string>& current_heads);

// ---- Building blocks shared with history ranges.

// "<base>+N" / "<base>-N" with N all digits; base may be empty. nullopt if `text` is not of that form.
// Throws GraphError if N does not fit in a long.
struct RelativeSpec {
  std::string_view base;
  long steps;  // signed
};
std::optional<RelativeSpec> parse_relative(std::string_view text);

// Walks |steps| versioned edges from `start` (nullopt = base) as described for resolve_target; `what` is
// the user's text, for messages. With `lineage`, upward candidates are restricted to revisions i with
// lineage[i] != 0. Returns nullopt for "base".
std::optional<size_t> walk(const RevisionMap& map, std::optional<size_t> start, long steps,
                           std::string_view what, const std::vector<char>* lineage = nullptr);

// The revision a branch reference is anchored at: the revision carrying the label, else resolve_id(label).
size_t branch_anchor(const RevisionMap& map, std::string_view label);
// lineage[i] != 0 iff i is an ancestor or a descendant of `anchor`, or anchor itself (down_revisions only).
std::vector<char> lineage_of(const RevisionMap& map, size_t anchor);

// Indices of the given ids; GraphError "Can't locate revision identified by 'x'" for unknown ones.
std::vector<size_t> indices_of(const RevisionMap& map, const std::set<std::string>& ids);

// "a, b" or "(none)", for messages about current heads.
std::string heads_text(const std::set<std::string>& heads);

}  // namespace luamig::graph
