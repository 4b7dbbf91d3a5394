#include "graph/overlap.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

namespace luamig::graph {

void check_rows_do_not_overlap(const RevisionMap& map, const std::vector<std::string>& rows,
                               const std::string& version_table) {
  if (rows.size() < 2) return;
  std::set<std::string> known;
  for (const auto& r : rows)
    if (map.find(r)) known.insert(r);
  for (const auto& r : rows) {
    if (!known.count(r)) continue;
    // Along down_revision only: a revision that depends_on another branch leaves that branch's head in the
    // table.
    std::set<std::string> ancestors;
    std::vector<std::string> todo{r};
    while (!todo.empty()) {
      std::string id = std::move(todo.back());
      todo.pop_back();
      const Revision* rev = map.find(id);
      if (!rev) continue;
      for (const auto& d : rev->down_revisions)
        if (ancestors.insert(d).second) todo.push_back(d);
    }
    std::vector<std::string> overlaps;
    for (const auto& other : known)
      if (other != r && ancestors.count(other)) overlaps.push_back(other);
    if (overlaps.empty()) continue;
    throw GraphError(fmt::format(
        "Requested revision {} overlaps with other requested revisions {}: the version table {} holds both a "
        "revision and its ancestor (it should hold one row per branch head); nothing was changed. Repair it "
        "with "
        "`luamig stamp --purge <revision>`",
        r, fmt::join(overlaps, ", "), version_table));
  }
}
}  // namespace luamig::graph
