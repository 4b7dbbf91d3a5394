#include "graph/stamp.hpp"

#include "graph/target.hpp"

namespace luamig::graph {

StampChange stamp_change(const RevisionMap& map, const std::set<std::string>& current,
                         const std::vector<std::string>& revisions, bool purge) {
  std::set<std::string> targets;
  for (const auto& r : revisions) {
    auto t = resolve_target(map, r, current);
    targets.insert(t.begin(), t.end());
  }
  StampChange change;
  if (!purge) {
    // Keep current heads on other lineages; replace those that share lineage with a target.
    std::vector<std::string> tv(targets.begin(), targets.end());
    auto anc = map.ancestors_inclusive(tv);
    auto desc = map.descendants_inclusive(tv);
    const bool to_base = revisions.size() == 1 && revisions[0] == "base";
    for (const auto& h : current)
      if (!to_base && !anc.count(h) && !desc.count(h)) change.heads.insert(h);
  }
  change.heads.insert(targets.begin(), targets.end());
  if (purge) {
    change.deletes.assign(current.begin(), current.end());
    change.inserts.assign(change.heads.begin(), change.heads.end());
  } else {
    for (const auto& h : current)
      if (!change.heads.count(h)) change.deletes.push_back(h);
    for (const auto& id : change.heads)
      if (!current.count(id)) change.inserts.push_back(id);
  }
  return change;
}
}  // namespace luamig::graph
