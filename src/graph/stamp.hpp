#pragma once
// `stamp`'s head algebra: the version table's rows after stamping, as a pure function of the graph. No SQL.
#include <set>
#include <string>
#include <vector>

#include "graph/revision_map.hpp"

namespace luamig::graph {

struct StampChange {
  std::set<std::string> heads;       // the rows after the stamp
  std::vector<std::string> deletes;  // rows to remove (every row with `purge`)
  std::vector<std::string> inserts;  // rows to add (every new head with `purge`)
};

// The heads after `stamp <revisions>` on a database whose version table holds `current`.
// Each argument resolves as a target (resolve_target: "head", "heads", "base", ids, prefixes, labels,
// relative forms) against `current`. Without `purge`, current heads on lineages unrelated to every target
// stay; those that are ancestors or descendants of a target are replaced by it; the single argument "base"
// clears the table. With `purge`, the rows become exactly the targets, and every old row is deleted (the
// repair for a table holding revisions no file defines). GraphError: an argument that does not resolve.
StampChange stamp_change(const RevisionMap& map, const std::set<std::string>& current,
                         const std::vector<std::string>& revisions, bool purge);
}  // namespace luamig::graph
