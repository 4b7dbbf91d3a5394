#include "graph/plan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/output.hpp"

namespace luamig::graph {
namespace {

// For each of `targets`, whether it is one of `from` or an ancestor of one (down_revisions and depends_on).
std::vector<char> reached(const RevisionMap& map, const std::vector<size_t>& from,
                          const std::vector<size_t>& targets) {
  std::vector<char> out(targets.size(), 0);
  for (size_t k = 0; k < targets.size(); ++k)
    for (size_t f : from)
      if (map.is_ancestor(targets[k], f)) {
        out[k] = 1;
        break;
      }
  return out;
}

std::string target_list(const RevisionMap& map, const std::vector<size_t>& idx) {
  std::vector<std::string> names;
  for (size_t i : idx) names.push_back(map.at(i).id);
  return quoted_list(names);
}

}  // namespace

VersionChange version_change(const RevisionMap& map, const std::set<std::string>& current_heads,
                             const Step& step) {
  const Revision& r = *step.revision;
  auto heads = indices_of(map, current_heads);
  size_t ri = map.require_index(r.id);
  VersionChange vc;
  if (step.direction == Direction::Up) {
    if (current_heads.count(r.id))
      throw GraphError(fmt::format("Cannot upgrade to {}: it is already a current head", describe(r)));
    std::vector<std::string> f;
    for (const auto& d : r.down_revisions)
      if (current_heads.count(d)) f.push_back(d);
    if (f.empty()) {
      vc.inserts.push_back(r.id);
    } else {
      vc.update = std::pair{f.front(), r.id};
      vc.deletes.assign(f.begin() + 1, f.end());
    }
    return vc;
  }

  if (!current_heads.count(r.id))
    throw GraphError(fmt::format("Cannot downgrade {}: it is not a current head (current heads: {})",
                                 describe(r), heads_text(current_heads)));
  std::vector<size_t> cands;
  for (size_t p : map.parent_indices(ri)) cands.push_back(p);
  for (size_t d : map.dependency_indices(ri))
    if (std::find(cands.begin(), cands.end(), d) == cands.end()) cands.push_back(d);
  if (cands.size() > 1) {  // drop candidates implied by another candidate
    std::vector<size_t> kept;
    for (size_t k = 0; k < cands.size(); ++k) {
      std::vector<size_t> others;
      for (size_t j = 0; j < cands.size(); ++j)
        if (j != k) others.push_back(cands[j]);
      if (!reached(map, others, {cands[k]})[0]) kept.push_back(cands[k]);
    }
    cands = std::move(kept);
  }
  std::vector<size_t> others;
  for (size_t h : heads)
    if (h != ri) others.push_back(h);
  auto covered = reached(map, others, cands);
  std::vector<std::string> next;
  for (size_t k = 0; k < cands.size(); ++k)
    if (!covered[k]) next.push_back(map.at(cands[k]).id);
  if (next.empty()) {
    vc.deletes.push_back(r.id);
  } else {
    vc.update = std::pair{r.id, next.front()};
    vc.inserts.assign(next.begin() + 1, next.end());
  }
  return vc;
}

void apply(std::set<std::string>& heads, const VersionChange& change) {
  for (const auto& d : change.deletes)
    if (!heads.erase(d))
      throw GraphError(fmt::format("Version table has no row '{}' to delete", out::escape(d)));
  if (change.update) {
    const auto& [from, to] = *change.update;
    if (!heads.erase(from))
      throw GraphError(fmt::format("Version table has no row '{}' to update", out::escape(from)));
    if (!heads.insert(to).second)
      throw GraphError(fmt::format("Version table already has a row '{}'", out::escape(to)));
  }
  for (const auto& i : change.inserts)
    if (!heads.insert(i).second)
      throw GraphError(fmt::format("Version table already has a row '{}'", out::escape(i)));
}

std::vector<Step> plan_upgrade(const RevisionMap& map, const std::set<std::string>& current_heads,
                               std::string_view target) {
  auto cur = indices_of(map, current_heads);
  auto wanted = indices_of(map, resolve_target(map, target, current_heads));
  auto have = map.ancestor_mask(cur, true);
  if (wanted.empty() && !cur.empty())
    throw GraphError(
        fmt::format("Destination '{}' is not a valid upgrade target from current head(s) {}: use "
                    "`luamig downgrade {}` to go back",
                    target, heads_text(current_heads), target));
  for (size_t t : wanted) {
    if (!have[t]) continue;
    for (size_t c : map.child_indices(t))
      if (have[c])
        throw GraphError(
            fmt::format("Destination '{}' is not a valid upgrade target from current head(s) {}: "
                        "revision {} is already applied and the database is past it. Use `luamig "
                        "downgrade {}` to go back to it",
                        target, heads_text(current_heads), describe(map.at(t)), target));
  }
  auto need = map.ancestor_mask(wanted, true);
  std::vector<Step> steps;
  for (size_t i = 0; i < need.size(); ++i)
    if (need[i] && !have[i]) steps.push_back(Step{&map.at(i), Direction::Up});
  return steps;
}

std::vector<Step> plan_downgrade(const RevisionMap& map, const std::set<std::string>& current_heads,
                                 std::string_view target) {
  auto cur = indices_of(map, current_heads);
  auto wanted = indices_of(map, resolve_target(map, target, current_heads));
  auto have = map.ancestor_mask(cur, true);
  std::vector<size_t> missing;
  for (size_t t : wanted)
    if (!have[t]) missing.push_back(t);
  if (!missing.empty())
    throw GraphError(
        fmt::format("Destination '{}' is not a valid downgrade target from current head(s) {}: "
                    "revision(s) {} are not applied. Use `luamig upgrade {}` to go forward",
                    target, heads_text(current_heads), target_list(map, missing), target));
  std::vector<char> removed = have;
  if (!wanted.empty()) {
    auto keep = map.ancestor_mask(wanted, true);
    std::vector<size_t> roots;
    for (size_t t : wanted) {
      for (size_t c : map.child_indices(t)) roots.push_back(c);
      for (size_t c : map.dependent_indices(t)) roots.push_back(c);
    }
    if (auto at = target.find('@'); at != std::string_view::npos && roots.size() > 1) {
      // "label@...": only roll back the labelled branch (Alembic filters the roots the same way).
      auto lineage = lineage_of(map, branch_anchor(map, target.substr(0, at)));
      std::vector<size_t> on_branch;
      for (size_t r : roots)
        if (lineage[r]) on_branch.push_back(r);
      if (on_branch.empty())
        throw GraphError(
            fmt::format("Destination '{}' is not a valid downgrade target from current head(s) {}", target,
                        heads_text(current_heads)));
      roots = std::move(on_branch);
    }
    auto after = map.descendant_mask(roots, true);
    for (size_t i = 0; i < removed.size(); ++i)
      removed[i] = static_cast<char>(have[i] && after[i] && !keep[i]);
  }
  std::vector<Step> steps;
  for (size_t i = removed.size(); i-- > 0;)
    if (removed[i]) steps.push_back(Step{&map.at(i), Direction::Down});
  return steps;
}

}  // namespace luamig::graph
