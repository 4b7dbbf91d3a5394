// RevisionMap: the validated, immutable revision graph.
//
// Edges: a revision's down_revisions are its "versioned" parents (they decide heads, bases, branches and the
// version table). depends_on adds extra prerequisites: they count for ordering, ancestry and cycles, but
// never for heads/bases/children.
//
// Internally revisions are stored in topological order (see ordered()); the index-based accessors below
// expose that order so planning code can work on dense vectors instead of string sets. Every operation is at
// most O(n log n) in the number of revisions; nothing recurses.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "graph/revision.hpp"

namespace luamig::graph {

class RevisionMap {
 public:
  // Takes ownership and validates. Throws GraphError (first problem found, in input order) for:
  //  - an invalid id (see revision_id_problem) or branch label, naming the file:line;
  //  - a duplicate id (names both files);
  //  - a down_revision or depends_on naming no revision (names the file:line and the missing id);
  //    depends_on may name an id or a branch label, and is normalised to ids;
  //  - a branch label used by two revisions, or equal to some revision id;
  //  - a cycle through down_revisions and/or depends_on: the message contains the whole path
  //    "a -> b -> c -> a" (each arrow goes from a revision to one it lists), then one line per revision with
  //    its file. The path starts at the smallest id of the cycle.
  // Duplicate entries inside one revision's down_revisions / depends_on / branch_labels are dropped silently.
  explicit RevisionMap(std::vector<Revision> revisions);

  const Revision* find(std::string_view id) const;  // exact id, nullptr if none
  const Revision& get(std::string_view id) const;   // exact id, throws GraphError

  // Revisions nobody lists as a down_revision (depends_on does not count), in topological order.
  std::vector<std::string> heads() const;
  // Revisions with no down_revisions (they may still have depends_on), in topological order.
  std::vector<std::string> bases() const;
  // Topological order, bases first: every revision comes after its down_revisions and depends_on. Among the
  // revisions available at each point the smallest id comes first, so the order is fully deterministic.
  std::vector<const Revision*> ordered() const;

  // Resolves one identifier to a full id:
  //  - exact id; exact branch label (-> the revision carrying the label);
  //  - "label@head": the single head descending from the labelled revision (several -> GraphError);
  //  - "label@<ident>": <ident> resolved, and it must share lineage with the labelled revision;
  //  - a unique prefix of >= 4 characters (ambiguous -> GraphError listing the candidates;
  //    shorter -> GraphError asking for at least four characters).
  // Does not handle "head", "heads", "base", "current" or relative forms (see resolve_target).
  std::string resolve_id(std::string_view ident) const;

  // All ancestors of the given ids including themselves (following down_revisions and depends_on).
  // Ids must be exact; an unknown id throws GraphError ("Can't locate revision identified by 'x'").
  std::set<std::string> ancestors_inclusive(const std::vector<std::string>& ids) const;
  // All descendants of the given ids including themselves; with include_dependents, revisions that depend_on
  // them (transitively) count as descendants too.
  std::set<std::string> descendants_inclusive(const std::vector<std::string>& ids,
                                              bool include_dependents = true) const;

  // Revisions listing `id` as a down_revision, in topological order. Throws GraphError for an unknown id.
  std::vector<std::string> children(std::string_view id) const;
  bool is_head(std::string_view id) const;  // false for unknown ids

  size_t size() const;

  // ---- Index-based view. Index i is the position of the revision in ordered(); every parent or dependency
  // of i has a smaller index. Indices are valid for the lifetime of this map.
  const Revision& at(size_t i) const { return revs_[i]; }
  std::optional<size_t> index_of(std::string_view id) const;
  std::optional<size_t> label_index(std::string_view label) const;  // the revision carrying the branch label
  // Index of an exact id; throws GraphError "Can't locate revision identified by 'x'" when unknown.
  size_t require_index(std::string_view id) const;
  const std::vector<size_t>& parent_indices(size_t i) const { return parents_[i]; }        // down_revisions
  const std::vector<size_t>& dependency_indices(size_t i) const { return deps_[i]; }       // depends_on
  const std::vector<size_t>& child_indices(size_t i) const { return children_[i]; }        // sorted
  const std::vector<size_t>& dependent_indices(size_t i) const { return dependents_[i]; }  // sorted
  const std::vector<size_t>& head_indices() const { return heads_; }                       // sorted
  const std::vector<size_t>& base_indices() const { return bases_; }                       // sorted
  // Whether `ancestor` == `descendant` or `ancestor` is an ancestor of `descendant` through down_revisions
  // and depends_on. Uses precomputed post-order intervals to prune the search: O(1) for unrelated revisions
  // of a tree-shaped graph, O(distance) for related ones, never worse than a plain search.
  bool is_ancestor(size_t ancestor, size_t descendant) const;
  // mask[i] != 0 iff i is one of `start` or an ancestor of one (down_revisions, plus depends_on if asked).
  std::vector<char> ancestor_mask(const std::vector<size_t>& start, bool include_dependencies = true) const;
  // mask[i] != 0 iff i is one of `start` or a descendant of one (children, plus dependents if asked).
  std::vector<char> descendant_mask(const std::vector<size_t>& start, bool include_dependents = true) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Index = std::unordered_map<std::string, size_t, Hash, std::equal_to<>>;

  void compute_intervals();
  std::vector<size_t> prefix_matches(std::string_view prefix) const;  // sorted by id
  std::string resolve_branch_ref(std::string_view label, std::string_view rest, std::string_view whole) const;

  std::vector<Revision> revs_;  // in topological order
  std::vector<std::vector<size_t>> parents_, deps_, children_, dependents_;
  std::vector<size_t> heads_, bases_;
  // Post-order rank over children+dependents edges, and the smallest rank among each revision's descendants:
  // a reaches b only if [low_[b], post_[b]] lies within [low_[a], post_[a]].
  std::vector<size_t> post_, low_;
  Index ids_;
  Index labels_;
};

}  // namespace luamig::graph
