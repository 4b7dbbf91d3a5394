// graph::stamp_change: the version table's rows after `stamp`, without a database.
#include <catch2/catch.hpp>

#include "graph/plan.hpp"
#include "graph/stamp.hpp"

using namespace luamig::graph;
using Set = std::set<std::string>;

namespace {
Revision rev(std::string id, std::vector<std::string> down, std::vector<std::string> labels = {}) {
  Revision r;
  r.id = std::move(id);
  r.down_revisions = std::move(down);
  r.branch_labels = std::move(labels);
  r.path = r.id + ".lua";
  return r;
}

// a -> b -> c on the main line; x -> y on a second branch (label "other").
RevisionMap two_branches() {
  return RevisionMap(
      {rev("a", {}), rev("b", {"a"}), rev("c", {"b"}), rev("x", {}, {"other"}), rev("y", {"x"})});
}
}  // namespace

TEST_CASE("stamp_change: a target replaces the heads on its lineage and keeps the others", "[unit][graph]") {
  auto map = two_branches();
  auto change = stamp_change(map, {"b", "y"}, {"c"}, false);
  CHECK(change.heads == Set{"c", "y"});
  CHECK(change.deletes == std::vector<std::string>{"b"});
  CHECK(change.inserts == std::vector<std::string>{"c"});
  // Backwards on the lineage too.
  change = stamp_change(map, {"c", "y"}, {"a"}, false);
  CHECK(change.heads == Set{"a", "y"});
}

TEST_CASE("stamp_change: base clears, heads stamps every head, a no-op changes nothing", "[unit][graph]") {
  auto map = two_branches();
  auto change = stamp_change(map, {"b", "y"}, {"base"}, false);
  CHECK(change.heads.empty());
  CHECK(change.deletes == std::vector<std::string>{"b", "y"});
  CHECK(change.inserts.empty());
  change = stamp_change(map, {}, {"heads"}, false);
  CHECK(change.heads == Set{"c", "y"});
  change = stamp_change(map, {"c"}, {"c"}, false);
  CHECK(change.deletes.empty());
  CHECK(change.inserts.empty());
}

TEST_CASE("stamp_change: --purge replaces every row, unknown ones included", "[unit][graph]") {
  auto map = two_branches();
  auto change = stamp_change(map, {"zzz", "y"}, {"b"}, true);
  CHECK(change.heads == Set{"b"});
  CHECK(change.deletes == std::vector<std::string>{"y", "zzz"});
  CHECK(change.inserts == std::vector<std::string>{"b"});
}

TEST_CASE("stamp_change: an argument that does not resolve is a GraphError", "[unit][graph]") {
  auto map = two_branches();
  CHECK_THROWS_AS(stamp_change(map, {}, {"nope"}, false), GraphError);
}
