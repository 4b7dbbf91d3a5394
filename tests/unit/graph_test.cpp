// Unit tests for src/graph: RevisionMap validation and queries, target resolution, version-table changes,
// upgrade/downgrade planning and history ranges.
//
// Over 600 lines, on purpose: one case per graph rule (validation, targets, plans, version-table changes).
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "graph/plan.hpp"

using namespace luamig::graph;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;
using Heads = std::set<std::string>;

namespace {

Revision rev(std::string id, Strings down = {}, Strings labels = {}, Strings deps = {}) {
  Revision r;
  r.id = std::move(id);
  r.down_revisions = std::move(down);
  r.branch_labels = std::move(labels);
  r.depends_on = std::move(deps);
  return r;
}

Revision rev_at(std::string id, Strings down, std::string path, int line) {
  Revision r = rev(std::move(id), std::move(down));
  r.path = std::move(path);
  r.line = line;
  return r;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const GraphError& e) {
    return e.what();
  }
  return "<no GraphError>";
}

Strings ids(const std::vector<const Revision*>& revs) {
  Strings out;
  for (const auto* r : revs) out.push_back(r->id);
  return out;
}

Strings step_ids(const std::vector<Step>& steps) {
  Strings out;
  for (const auto& s : steps) out.push_back(s.revision->id);
  return out;
}

// Applies each step's version change in turn, checking that the applied set (ancestors of the rows) grows or
// shrinks by exactly the step's revision. Returns the final rows.
Heads run(const RevisionMap& map, Heads heads, const std::vector<Step>& steps) {
  auto applied = [&](const Heads& h) { return map.ancestors_inclusive(Strings(h.begin(), h.end())); };
  for (const auto& step : steps) {
    auto before = applied(heads);
    apply(heads, version_change(map, heads, step));
    auto after = applied(heads);
    if (step.direction == Direction::Up) {
      REQUIRE_FALSE(before.count(step.revision->id));
      before.insert(step.revision->id);
    } else {
      REQUIRE(before.count(step.revision->id));
      before.erase(step.revision->id);
    }
    REQUIRE(after == before);
  }
  return heads;
}

//   a <- b <- c1 <- c2          (c1 labelled "cbranch")
//         \<- d1 <- d2          (d1 labelled "dbranch")
std::vector<Revision> branched() {
  return {rev("a"),
          rev("b", {"a"}),
          rev("c1", {"b"}, {"cbranch"}),
          rev("c2", {"c1"}),
          rev("d1", {"b"}, {"dbranch"}),
          rev("d2", {"d1"})};
}

// branched() plus the merge m = (c2, d2) and n on top of it.
std::vector<Revision> merged() {
  auto revs = branched();
  revs.push_back(rev("n", {"m"}));
  revs.push_back(rev("m", {"c2", "d2"}));
  return revs;
}

// a <- b <- c <- d <- e
std::vector<Revision> chain5() {
  return {rev("e", {"d"}), rev("d", {"c"}), rev("c", {"b"}), rev("b", {"a"}), rev("a")};
}

// p <- q <- r, and r depends_on the branch labelled "other" (x, a second base).
std::vector<Revision> with_dependency() {
  return {rev("p"), rev("q", {"p"}), rev("x", {}, {"other"}), rev("r", {"q"}, {}, {"other"})};
}

std::string chain_id(int i) { return fmt::format("r{:05}", i); }

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Construction and queries

TEST_CASE("linear chain: heads, bases, order, lookup", "[unit][graph]") {
  RevisionMap map(chain5());
  CHECK(map.size() == 5);
  CHECK(map.heads() == Strings{"e"});
  CHECK(map.bases() == Strings{"a"});
  CHECK(ids(map.ordered()) == Strings{"a", "b", "c", "d", "e"});
  REQUIRE(map.find("c") != nullptr);
  CHECK(map.find("c")->down_revisions == Strings{"b"});
  CHECK(map.find("zz") == nullptr);
  CHECK(map.get("d").id == "d");
  CHECK_THROWS_AS(map.get("nope"), GraphError);
  CHECK_THAT(error_of([&] { map.get("nope"); }), Contains("Can't locate revision identified by 'nope'"));
  CHECK(map.children("b") == Strings{"c"});
  CHECK(map.is_head("e"));
  CHECK_FALSE(map.is_head("d"));
  CHECK_FALSE(map.is_head("nope"));
  CHECK(map.ancestors_inclusive({"c"}) == Heads{"a", "b", "c"});
  CHECK(map.descendants_inclusive({"c"}) == Heads{"c", "d", "e"});
}

TEST_CASE("empty map", "[unit][graph]") {
  RevisionMap map({});
  CHECK(map.size() == 0);
  CHECK(map.heads().empty());
  CHECK(map.bases().empty());
  CHECK(resolve_target(map, "head", {}).empty());
  CHECK(resolve_target(map, "heads", {}).empty());
  CHECK(plan_upgrade(map, {}, "head").empty());
  CHECK(plan_downgrade(map, {}, "base").empty());
}

TEST_CASE("branches: two heads, one base, deterministic order", "[unit][graph]") {
  RevisionMap map(branched());
  CHECK(map.heads() == Strings{"c2", "d2"});
  CHECK(map.bases() == Strings{"a"});
  CHECK(ids(map.ordered()) == Strings{"a", "b", "c1", "c2", "d1", "d2"});
  CHECK(map.children("b") == Strings{"c1", "d1"});
}

TEST_CASE("heads are sorted topologically then by id", "[unit][graph]") {
  // zz is a base and a head, y descends from a: a < y < zz in the order.
  RevisionMap map({rev("a"), rev("y", {"a"}), rev("zz")});
  CHECK(ids(map.ordered()) == Strings{"a", "y", "zz"});
  CHECK(map.heads() == Strings{"y", "zz"});
  CHECK(map.bases() == Strings{"a", "zz"});
}

TEST_CASE("merge point: single head, order respects both parents", "[unit][graph]") {
  RevisionMap map(merged());
  CHECK(map.heads() == Strings{"n"});
  CHECK(map.bases() == Strings{"a"});
  CHECK(ids(map.ordered()) == Strings{"a", "b", "c1", "c2", "d1", "d2", "m", "n"});
  CHECK(map.get("m").down_revisions == Strings{"c2", "d2"});
  CHECK(map.ancestors_inclusive({"m"}) == Heads{"a", "b", "c1", "c2", "d1", "d2", "m"});
}

TEST_CASE("multiple bases", "[unit][graph]") {
  RevisionMap map({rev("a1"), rev("a2", {"a1"}), rev("b1"), rev("b2", {"b1"})});
  CHECK(map.bases() == Strings{"a1", "b1"});
  CHECK(map.heads() == Strings{"a2", "b2"});
  CHECK(ids(map.ordered()) == Strings{"a1", "a2", "b1", "b2"});
}

TEST_CASE("ordered puts every revision after its down_revisions and depends_on", "[unit][graph]") {
  RevisionMap map(
      {rev("m", {"k"}), rev("k", {}, {}, {"z"}), rev("z"), rev("b", {"z"}), rev("a", {"b", "m"})});
  auto order = ids(map.ordered());
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
  for (const auto* r : map.ordered()) {
    for (const auto& d : r->down_revisions) CHECK(pos[d] < pos[r->id]);
    for (const auto& d : r->depends_on) CHECK(pos[d] < pos[r->id]);
  }
  CHECK(order == Strings{"z", "b", "k", "m", "a"});
}

TEST_CASE("depends_on: labels normalised, not counted for heads", "[unit][graph]") {
  RevisionMap map(with_dependency());
  CHECK(map.get("r").depends_on == Strings{"x"});
  CHECK(map.heads() == Strings{"x", "r"});
  CHECK(map.bases() == Strings{"p", "x"});
  CHECK(ids(map.ordered()) == Strings{"p", "q", "x", "r"});
  CHECK(map.ancestors_inclusive({"r"}) == Heads{"p", "q", "r", "x"});
  CHECK(map.descendants_inclusive({"x"}) == Heads{"x", "r"});
  CHECK(map.descendants_inclusive({"x"}, false) == Heads{"x"});
}

TEST_CASE("duplicate entries inside one revision are dropped", "[unit][graph]") {
  RevisionMap map({rev("a"), rev("b", {"a", "a"}, {"l", "l"}, {"a", "a"})});
  CHECK(map.get("b").down_revisions == Strings{"a"});
  CHECK(map.get("b").branch_labels == Strings{"l"});
  CHECK(map.get("b").depends_on == Strings{"a"});
  CHECK(map.children("a") == Strings{"b"});
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

TEST_CASE("cycle detection reports the whole path", "[unit][graph]") {
  SECTION("three revisions") {
    auto msg = error_of([] { RevisionMap({rev("a", {"b"}), rev("b", {"c"}), rev("c", {"a"})}); });
    CHECK_THAT(msg, Contains("a -> b -> c -> a"));
  }
  SECTION("path starts at the smallest id and names the files") {
    auto msg = error_of([] {
      RevisionMap({rev_at("base0", {}, "v/base0.lua", 1), rev_at("q", {"base0", "s"}, "v/q.lua", 3),
                   rev_at("s", {"r"}, "v/s.lua", 4), rev_at("r", {"q"}, "v/r.lua", 5),
                   rev_at("tip", {"s"}, "v/tip.lua", 6)});
    });
    CHECK_THAT(msg, Contains("q -> s -> r -> q"));
    CHECK_THAT(msg, Contains("v/q.lua:3"));
    CHECK_THAT(msg, Contains("v/s.lua:4"));
    CHECK_THAT(msg, Contains("v/r.lua:5"));
    CHECK_THAT(msg, !Contains("tip.lua"));
  }
  SECTION("self loop") {
    CHECK_THAT(error_of([] { RevisionMap({rev("a", {"a"})}); }), Contains("a -> a"));
  }
  SECTION("through depends_on") {
    auto msg = error_of([] { RevisionMap({rev("a"), rev("b", {"a"}, {}, {"c"}), rev("c", {"b"})}); });
    CHECK_THAT(msg, Contains("b -> c -> b"));
    CHECK_THAT(msg, Contains("depends_on"));
  }
}

TEST_CASE("duplicate id names both files", "[unit][graph]") {
  auto msg = error_of([] {
    RevisionMap({rev_at("abc123", {}, "versions/one.lua", 2), rev_at("abc123", {}, "versions/two.lua", 7)});
  });
  CHECK_THAT(msg, Contains("abc123"));
  CHECK_THAT(msg, Contains("versions/one.lua:2"));
  CHECK_THAT(msg, Contains("versions/two.lua:7"));
}

TEST_CASE("missing down_revision or depends_on", "[unit][graph]") {
  auto msg = error_of([] {
    RevisionMap({rev_at("a", {}, "v/a.lua", 1), rev_at("b", {"zzz"}, "v/b.lua", 9)});
  });
  CHECK_THAT(msg, Contains("v/b.lua:9"));
  CHECK_THAT(msg, Contains("'zzz'"));
  CHECK_THAT(msg, Contains("down_revision"));

  auto r = rev_at("b", {"a"}, "v/b.lua", 4);
  r.depends_on = {"nowhere"};
  msg = error_of([&] { RevisionMap({rev("a"), r}); });
  CHECK_THAT(msg, Contains("v/b.lua:4"));
  CHECK_THAT(msg, Contains("'nowhere'"));
  CHECK_THAT(msg, Contains("depends_on"));
}

TEST_CASE("invalid revision ids", "[unit][graph]") {
  auto bad = [](std::string id) { return error_of([&] { RevisionMap({rev_at(id, {}, "v/x.lua", 12)}); }); };
  for (std::string id : Strings{"", "a@b", "a-b", "a+b", "a:b", "a b", "a\tb", "head", "heads", "base",
                                "current", std::string(33, 'a')}) {
    INFO("id: [" << id << "]");
    auto msg = bad(id);
    CHECK_THAT(msg, Contains("Invalid revision id"));
    CHECK_THAT(msg, Contains("v/x.lua:12"));
  }
  CHECK_THAT(bad(std::string(33, 'a')), Contains("longer than 32"));
  CHECK_THAT(bad("a-b"), Contains("'-'"));
  CHECK_THAT(bad(""), Contains("empty"));
  CHECK_NOTHROW(RevisionMap({rev(std::string(32, 'a'))}));
  CHECK_NOTHROW(RevisionMap({rev("ae1027a6acf_x")}));
}

TEST_CASE("branch label problems", "[unit][graph]") {
  CHECK_THAT(error_of([] {
               RevisionMap({rev("a", {}, {"lbl"}), rev("b", {"a"}, {"lbl"})});
             }),
             Contains("Branch label 'lbl' is used by two revisions: 'a' and 'b'"));
  CHECK_THAT(error_of([] { RevisionMap({rev("a", {}, {"b"}), rev("b", {"a"})}); }), Contains("also the id"));
  CHECK_THAT(error_of([] { RevisionMap({rev("a", {}, {"x@y"})}); }), Contains("Invalid branch label"));
  CHECK_THAT(error_of([] { RevisionMap({rev("a", {}, {"head"})}); }), Contains("Invalid branch label"));
  CHECK_NOTHROW(RevisionMap({rev("a", {}, {"my-branch"})}));
}

// ---------------------------------------------------------------------------------------------------------------
// Identifier and target resolution

TEST_CASE("resolve_id: exact ids, prefixes, labels", "[unit][graph]") {
  RevisionMap map({rev("abc"), rev("aaaa1111", {"abc"}), rev("aaaa2222", {"abc"}, {"feature"}),
                   rev("bbbb3333", {"aaaa1111"}), rev("aaaa9999", {"bbbb3333"})});
  CHECK(map.resolve_id("abc") == "abc");  // exact ids may be short
  CHECK(map.resolve_id("aaaa1") == "aaaa1111");
  CHECK(map.resolve_id("bbbb") == "bbbb3333");
  CHECK(map.resolve_id("feature") == "aaaa2222");
  CHECK(map.resolve_id("feature@head") == "aaaa2222");
  CHECK_THAT(error_of([&] { map.resolve_id("abc@head"); }), Contains("Multiple head revisions"));

  auto ambiguous = error_of([&] { map.resolve_id("aaaa"); });
  CHECK_THAT(ambiguous, Contains("Multiple revisions start with 'aaaa'"));
  CHECK_THAT(ambiguous, Contains("'aaaa1111'"));
  CHECK_THAT(ambiguous, Contains("'aaaa2222'"));
  CHECK_THAT(ambiguous, Contains("'aaaa9999'"));

  auto too_short = error_of([&] { map.resolve_id("bbb"); });
  CHECK_THAT(too_short, Contains("No such revision or branch 'bbb'"));
  CHECK_THAT(too_short, Contains("at least four characters"));

  CHECK_THAT(error_of([&] { map.resolve_id("zzzz"); }), Contains("No such revision or branch 'zzzz'"));
  CHECK_THAT(error_of([&] { map.resolve_id(""); }), Contains("Empty"));
  CHECK_THAT(error_of([&] { map.resolve_id("nolabel@head"); }), Contains("No such branch 'nolabel'"));
}

TEST_CASE("resolve_id: label at head and label at revision", "[unit][graph]") {
  RevisionMap map(branched());
  CHECK(map.resolve_id("cbranch") == "c1");
  CHECK(map.resolve_id("cbranch@head") == "c2");
  CHECK(map.resolve_id("dbranch@head") == "d2");
  CHECK(map.resolve_id("dbranch@d2") == "d2");
  CHECK(map.resolve_id("dbranch@b") == "b");  // an ancestor shares the lineage
  CHECK_THAT(error_of([&] { map.resolve_id("dbranch@c2"); }), Contains("not a member of branch 'dbranch'"));
  auto multi = error_of([&] { map.resolve_id("b@head"); });
  CHECK_THAT(multi, Contains("Multiple head revisions"));
  CHECK_THAT(multi, Contains("c2"));
  CHECK_THAT(multi, Contains("d2"));
}

TEST_CASE("resolve_target: head, heads, base", "[unit][graph]") {
  RevisionMap chain(chain5());
  CHECK(resolve_target(chain, "head", {}) == Heads{"e"});
  CHECK(resolve_target(chain, "heads", {}) == Heads{"e"});
  CHECK(resolve_target(chain, "base", {"c"}).empty());
  CHECK(resolve_target(chain, "c", {}) == Heads{"c"});

  RevisionMap map(branched());
  CHECK(resolve_target(map, "heads", {}) == Heads{"c2", "d2"});
  CHECK(resolve_target(map, "cbranch@heads", {}) == Heads{"c2"});
  CHECK(resolve_target(map, "b@heads", {}) == Heads{"c2", "d2"});
  CHECK(resolve_target(map, "dbranch@head", {}) == Heads{"d2"});
  CHECK(resolve_target(map, "dbranch", {}) == Heads{"d1"});
}

TEST_CASE("resolve_target: several heads make head an error that lists them", "[unit][graph]") {
  RevisionMap map(branched());
  auto msg = error_of([&] { resolve_target(map, "head", {}); });
  CHECK_THAT(msg, Contains("Multiple head revisions are present for given argument 'head'"));
  CHECK_THAT(msg, Contains("c2, d2"));
  CHECK_THAT(msg, Contains("upgrade heads"));
  CHECK_THAT(msg, Contains("merge"));
  CHECK_THAT(error_of([&] { plan_upgrade(map, {}, "head"); }), Contains("Multiple head revisions"));
  CHECK_THAT(error_of([&] { resolve_target(map, "head-1", {}); }), Contains("Multiple head revisions"));
}

TEST_CASE("resolve_target: relative to the current head", "[unit][graph]") {
  RevisionMap map(chain5());
  CHECK(resolve_target(map, "-1", {"e"}) == Heads{"d"});
  CHECK(resolve_target(map, "-4", {"e"}) == Heads{"a"});
  CHECK(resolve_target(map, "-5", {"e"}).empty());  // down to base
  CHECK_THAT(error_of([&] { resolve_target(map, "-6", {"e"}); }), Contains("walks past base"));
  CHECK(resolve_target(map, "+2", {"b"}) == Heads{"d"});
  CHECK(resolve_target(map, "+0", {"b"}) == Heads{"b"});
  CHECK(resolve_target(map, "+1", {}) == Heads{"a"});  // from an empty database
  CHECK(resolve_target(map, "+3", {}) == Heads{"c"});
  CHECK_THAT(error_of([&] { resolve_target(map, "+1", {"e"}); }), Contains("is a head"));
  CHECK_THAT(error_of([&] { resolve_target(map, "+3", {"c"}); }), Contains("didn't produce 3 migrations"));
  CHECK_THAT(error_of([&] { resolve_target(map, "-1", {}); }), Contains("walks past base"));
  CHECK_THAT(error_of([&] { resolve_target(map, "-1", {"zzz"}); }),
             Contains("Can't locate revision identified by 'zzz'"));
}

TEST_CASE("resolve_target: relative to a named revision", "[unit][graph]") {
  RevisionMap map(chain5());
  CHECK(resolve_target(map, "b+2", {}) == Heads{"d"});
  CHECK(resolve_target(map, "d-3", {"e"}) == Heads{"a"});
  CHECK(resolve_target(map, "d-4", {}).empty());
  CHECK(resolve_target(map, "head-2", {}) == Heads{"c"});
  CHECK(resolve_target(map, "base+1", {}) == Heads{"a"});
  CHECK_THAT(error_of([&] { resolve_target(map, "d+2", {}); }), Contains("is a head"));
  CHECK_THAT(error_of([&] { resolve_target(map, "b-3", {}); }), Contains("walks past base"));
  CHECK_THAT(error_of([&] { resolve_target(map, "qq+1", {}); }), Contains("No such revision or branch 'qq'"));
  CHECK_THAT(error_of([&] { resolve_target(map, "heads-1", {}); }), Contains("cannot be used"));
}

TEST_CASE("resolve_target: relative walks on branches and merges", "[unit][graph]") {
  RevisionMap map(branched());
  CHECK(resolve_target(map, "-1", {"c2"}) == Heads{"c1"});
  CHECK_THAT(error_of([&] { resolve_target(map, "+1", {"b"}); }), Contains("Ambiguous walk"));
  CHECK_THAT(error_of([&] { resolve_target(map, "+1", {"b"}); }), Contains("c1, d1"));
  CHECK_THAT(error_of([&] {
               resolve_target(map, "-1", {"c2", "d2"});
             }),
             Contains("multiple current revisions"));
  CHECK_THAT(error_of([&] {
               resolve_target(map, "+1", {"c1", "d1"});
             }),
             Contains("multiple current revisions"));
  CHECK(resolve_target(map, "c1+1", {}) == Heads{"c2"});
  CHECK(resolve_target(map, "c2-2", {}) == Heads{"b"});
  CHECK_THAT(error_of([&] { resolve_target(map, "b+1", {}); }), Contains("Ambiguous walk"));

  // Branch-relative: only current heads on that branch count.
  CHECK(resolve_target(map, "cbranch@+1", {"b"}) == Heads{"c1"});
  CHECK(resolve_target(map, "dbranch@+2", {"b"}) == Heads{"d2"});
  CHECK(resolve_target(map, "dbranch@+1", {"c2", "d1"}) == Heads{"d2"});
  CHECK(resolve_target(map, "dbranch@-1", {"c2", "d2"}) == Heads{"d1"});
  CHECK(resolve_target(map, "dbranch@+1", {"c2"}) == Heads{"d1"});  // backtracks to the branch point b
  CHECK(resolve_target(map, "cbranch@+2", {}) == Heads{"b"});

  RevisionMap merge(merged());
  CHECK_THAT(error_of([&] { resolve_target(merge, "-1", {"m"}); }), Contains("merge point"));
  CHECK(resolve_target(merge, "d2+1", {}) == Heads{"m"});
  CHECK(resolve_target(merge, "n-1", {}) == Heads{"m"});

  RevisionMap bases({rev("a1"), rev("b1")});
  CHECK_THAT(error_of([&] { resolve_target(bases, "+1", {}); }), Contains("several bases"));
}

TEST_CASE("resolve_target: bad syntax", "[unit][graph]") {
  RevisionMap map(chain5());
  CHECK_THROWS_AS(resolve_target(map, "", {}), GraphError);
  CHECK_THROWS_AS(resolve_target(map, "a b", {}), GraphError);
  CHECK_THROWS_AS(resolve_target(map, "+", {}), GraphError);
  CHECK_THROWS_AS(resolve_target(map, "c+x", {}), GraphError);
  CHECK_THROWS_AS(resolve_target(map, "@head", {}), GraphError);
  CHECK_THROWS_AS(resolve_target(map, "+99999999999999999999999", {}), GraphError);
}

// ---------------------------------------------------------------------------------------------------------------
// Version table changes

TEST_CASE("version_change: linear upgrade and downgrade", "[unit][graph]") {
  RevisionMap map(chain5());
  auto up_a = version_change(map, {}, Step{&map.get("a"), Direction::Up});
  CHECK(up_a.inserts == Strings{"a"});
  CHECK(up_a.deletes.empty());
  CHECK_FALSE(up_a.update);

  auto up_b = version_change(map, {"a"}, Step{&map.get("b"), Direction::Up});
  CHECK(up_b.inserts.empty());
  CHECK(up_b.deletes.empty());
  REQUIRE(up_b.update);
  CHECK(*up_b.update == std::pair<std::string, std::string>{"a", "b"});

  auto down_b = version_change(map, {"b"}, Step{&map.get("b"), Direction::Down});
  REQUIRE(down_b.update);
  CHECK(*down_b.update == std::pair<std::string, std::string>{"b", "a"});

  auto down_a = version_change(map, {"a"}, Step{&map.get("a"), Direction::Down});  // to base
  CHECK(down_a.deletes == Strings{"a"});
  CHECK(down_a.inserts.empty());
  CHECK_FALSE(down_a.update);
  Heads h{"a"};
  apply(h, down_a);
  CHECK(h.empty());

  CHECK_THAT(error_of([&] {
               version_change(map, {"c"}, Step{&map.get("b"), Direction::Down});
             }),
             Contains("not a current head"));
  CHECK_THAT(error_of([&] {
               version_change(map, {"c"}, Step{&map.get("c"), Direction::Up});
             }),
             Contains("already a current head"));
  CHECK_THAT(error_of([&] {
               version_change(map, {"nope"}, Step{&map.get("a"), Direction::Up});
             }),
             Contains("Can't locate revision identified by 'nope'"));
}

TEST_CASE("version_change: branch-out, merge and unmerge", "[unit][graph]") {
  RevisionMap map(merged());
  SECTION("branch-out inserts") {
    auto vc = version_change(map, {"c2"}, Step{&map.get("d1"), Direction::Up});
    CHECK(vc.inserts == Strings{"d1"});
    CHECK(vc.deletes.empty());
    CHECK_FALSE(vc.update);
  }
  SECTION("merge updates the first parent and deletes the others") {
    auto vc = version_change(map, {"c2", "d2"}, Step{&map.get("m"), Direction::Up});
    REQUIRE(vc.update);
    CHECK(*vc.update == std::pair<std::string, std::string>{"c2", "m"});
    CHECK(vc.deletes == Strings{"d2"});
    CHECK(vc.inserts.empty());
    Heads h{"c2", "d2"};
    apply(h, vc);
    CHECK(h == Heads{"m"});
  }
  SECTION("unmerge updates to the first parent and inserts the others") {
    auto vc = version_change(map, {"m"}, Step{&map.get("m"), Direction::Down});
    REQUIRE(vc.update);
    CHECK(*vc.update == std::pair<std::string, std::string>{"m", "c2"});
    CHECK(vc.inserts == Strings{"d2"});
    CHECK(vc.deletes.empty());
    Heads h{"m"};
    apply(h, vc);
    CHECK(h == Heads{"c2", "d2"});
  }
  SECTION("downgrading a branch whose parent is still covered deletes it") {
    auto vc = version_change(map, {"c2", "d1"}, Step{&map.get("d1"), Direction::Down});
    CHECK(vc.deletes == Strings{"d1"});
    CHECK(vc.inserts.empty());
    CHECK_FALSE(vc.update);
  }
  SECTION("downgrading the last branch restores the branch point") {
    auto vc = version_change(map, {"c1"}, Step{&map.get("c1"), Direction::Down});
    REQUIRE(vc.update);
    CHECK(*vc.update == std::pair<std::string, std::string>{"c1", "b"});
  }
}

TEST_CASE("version_change: depends_on heads are left alone", "[unit][graph]") {
  RevisionMap map(with_dependency());
  auto up = version_change(map, {"q", "x"}, Step{&map.get("r"), Direction::Up});
  REQUIRE(up.update);
  CHECK(*up.update == std::pair<std::string, std::string>{"q", "r"});
  CHECK(up.deletes.empty());

  // x is still a row: downgrading r goes back to q only.
  auto down = version_change(map, {"r", "x"}, Step{&map.get("r"), Direction::Down});
  REQUIRE(down.update);
  CHECK(*down.update == std::pair<std::string, std::string>{"r", "q"});
  CHECK(down.inserts.empty());

  // x only covered through r: it must come back as a row.
  auto down2 = version_change(map, {"r"}, Step{&map.get("r"), Direction::Down});
  REQUIRE(down2.update);
  CHECK(*down2.update == std::pair<std::string, std::string>{"r", "q"});
  CHECK(down2.inserts == Strings{"x"});
}

TEST_CASE("apply rejects changes that do not fit", "[unit][graph]") {
  Heads h{"a"};
  VersionChange del;
  del.deletes = {"zz"};
  CHECK_THROWS_AS(apply(h, del), GraphError);
  VersionChange upd;
  upd.update = std::pair<std::string, std::string>{"zz", "b"};
  CHECK_THROWS_AS(apply(h, upd), GraphError);
  VersionChange ins;
  ins.inserts = {"a"};
  CHECK_THROWS_AS(apply(h, ins), GraphError);
}

// ---------------------------------------------------------------------------------------------------------------
// Planning

TEST_CASE("plan_upgrade: linear", "[unit][graph]") {
  RevisionMap map(chain5());
  auto steps = plan_upgrade(map, {}, "head");
  CHECK(step_ids(steps) == Strings{"a", "b", "c", "d", "e"});
  for (const auto& s : steps) CHECK(s.direction == Direction::Up);
  CHECK(run(map, {}, steps) == Heads{"e"});
  CHECK(step_ids(plan_upgrade(map, {"b"}, "d")) == Strings{"c", "d"});
  CHECK(step_ids(plan_upgrade(map, {"b"}, "+1")) == Strings{"c"});
  CHECK(plan_upgrade(map, {"e"}, "head").empty());
  CHECK(plan_upgrade(map, {"c"}, "c").empty());
}

TEST_CASE("plan_upgrade: branched graph", "[unit][graph]") {
  RevisionMap map(branched());
  SECTION("to heads from nothing") {
    auto steps = plan_upgrade(map, {}, "heads");
    CHECK(step_ids(steps) == Strings{"a", "b", "c1", "c2", "d1", "d2"});
    CHECK(run(map, {}, steps) == Heads{"c2", "d2"});
  }
  SECTION("one branch only") {
    auto steps = plan_upgrade(map, {}, "cbranch@head");
    CHECK(step_ids(steps) == Strings{"a", "b", "c1", "c2"});
    CHECK(run(map, {}, steps) == Heads{"c2"});
  }
  SECTION("branch out from an upgraded branch") {
    auto steps = plan_upgrade(map, {"c2"}, "d2");
    CHECK(step_ids(steps) == Strings{"d1", "d2"});
    CHECK(run(map, {"c2"}, steps) == Heads{"c2", "d2"});
  }
  SECTION("from two branch tips to heads") {
    auto steps = plan_upgrade(map, {"c1", "d1"}, "heads");
    CHECK(step_ids(steps) == Strings{"c2", "d2"});
    CHECK(run(map, {"c1", "d1"}, steps) == Heads{"c2", "d2"});
  }
}

TEST_CASE("plan_upgrade: through a merge", "[unit][graph]") {
  RevisionMap map(merged());
  auto steps = plan_upgrade(map, {"c1", "d2"}, "head");
  CHECK(step_ids(steps) == Strings{"c2", "m", "n"});
  CHECK(run(map, {"c1", "d2"}, steps) == Heads{"n"});

  steps = plan_upgrade(map, {"b"}, "m");
  CHECK(step_ids(steps) == Strings{"c1", "c2", "d1", "d2", "m"});
  CHECK(run(map, {"b"}, steps) == Heads{"m"});
}

TEST_CASE("plan_upgrade: depends_on pulls in the other branch", "[unit][graph]") {
  RevisionMap map(with_dependency());
  auto steps = plan_upgrade(map, {"q"}, "r");
  CHECK(step_ids(steps) == Strings{"x", "r"});
  CHECK(run(map, {"q"}, steps) == Heads{"x", "r"});
  steps = plan_upgrade(map, {}, "heads");
  CHECK(step_ids(steps) == Strings{"p", "q", "x", "r"});
  auto heads = run(map, {}, steps);
  CHECK(heads == Heads{"x", "r"});
  CHECK(plan_upgrade(map, heads, "heads").empty());
  CHECK(plan_upgrade(map, {"r"}, "x").empty());  // x is applied through the dependency, nothing follows it
}

TEST_CASE("plan_upgrade: errors", "[unit][graph]") {
  RevisionMap map(branched());
  CHECK_THAT(error_of([&] { plan_upgrade(map, {"zzz"}, "heads"); }),
             Contains("Can't locate revision identified by 'zzz'"));
  auto back = error_of([&] { plan_upgrade(map, {"c2"}, "b"); });
  CHECK_THAT(back, Contains("not a valid upgrade target"));
  CHECK_THAT(back, Contains("downgrade"));
  CHECK_THAT(error_of([&] { plan_upgrade(map, {"c2"}, "base"); }), Contains("downgrade"));
  CHECK_THAT(error_of([&] { plan_upgrade(map, {"c2"}, "-1"); }), Contains("downgrade"));
  CHECK_THAT(error_of([&] { plan_upgrade(map, {}, "nothere"); }), Contains("No such revision or branch"));
  CHECK(plan_upgrade(map, {}, "base").empty());
}

TEST_CASE("plan_downgrade: linear", "[unit][graph]") {
  RevisionMap map(chain5());
  auto steps = plan_downgrade(map, {"e"}, "base");
  CHECK(step_ids(steps) == Strings{"e", "d", "c", "b", "a"});
  for (const auto& s : steps) CHECK(s.direction == Direction::Down);
  CHECK(run(map, {"e"}, steps).empty());
  CHECK(step_ids(plan_downgrade(map, {"e"}, "-2")) == Strings{"e", "d"});
  CHECK(step_ids(plan_downgrade(map, {"e"}, "b")) == Strings{"e", "d", "c"});
  CHECK(run(map, {"e"}, plan_downgrade(map, {"e"}, "b")) == Heads{"b"});
  CHECK(plan_downgrade(map, {"c"}, "c").empty());
  CHECK(plan_downgrade(map, {}, "base").empty());
}

TEST_CASE("plan_downgrade: branched and merged graphs", "[unit][graph]") {
  RevisionMap map(merged());
  SECTION("everything to base") {
    auto steps = plan_downgrade(map, {"n"}, "base");
    CHECK(step_ids(steps) == Strings{"n", "m", "d2", "d1", "c2", "c1", "b", "a"});
    CHECK(run(map, {"n"}, steps).empty());
  }
  SECTION("below the merge: unmerge then keep both branches") {
    auto steps = plan_downgrade(map, {"n"}, "c2");
    CHECK(step_ids(steps) == Strings{"n", "m"});
    CHECK(run(map, {"n"}, steps) == Heads{"c2", "d2"});
  }
  SECTION("to the branch point") {
    auto steps = plan_downgrade(map, {"c2", "d2"}, "b");
    CHECK(step_ids(steps) == Strings{"d2", "d1", "c2", "c1"});
    CHECK(run(map, {"c2", "d2"}, steps) == Heads{"b"});
  }
  SECTION("one branch only, the other stays") {
    auto steps = plan_downgrade(map, {"c2", "d2"}, "d1");
    CHECK(step_ids(steps) == Strings{"d2"});
    CHECK(run(map, {"c2", "d2"}, steps) == Heads{"c2", "d1"});
    steps = plan_downgrade(map, {"c2", "d2"}, "cbranch@-2");
    CHECK(step_ids(steps) == Strings{"c2", "c1"});
    CHECK(run(map, {"c2", "d2"}, steps) == Heads{"d2"});  // b stays applied through d2
    // Without the label the same target rolls back both branches.
    CHECK(step_ids(plan_downgrade(map, {"c2", "d2"}, "c2-2")) == Strings{"d2", "d1", "c2", "c1"});
  }
  SECTION("errors") {
    auto fwd = error_of([&] { plan_downgrade(map, {"c2"}, "d1"); });
    CHECK_THAT(fwd, Contains("not a valid downgrade target"));
    CHECK_THAT(fwd, Contains("upgrade"));
    CHECK_THAT(error_of([&] {
                 plan_downgrade(map, {"c2", "d2"}, "-1");
               }),
               Contains("multiple current revisions"));
    CHECK_THAT(error_of([&] { plan_downgrade(map, {"gone"}, "base"); }),
               Contains("Can't locate revision identified by 'gone'"));
  }
}

TEST_CASE("plan_downgrade: dependencies", "[unit][graph]") {
  RevisionMap map(with_dependency());
  auto steps = plan_downgrade(map, {"x", "r"}, "q");
  CHECK(step_ids(steps) == Strings{"r"});
  CHECK(run(map, {"x", "r"}, steps) == Heads{"x", "q"});
  // Downgrading the dependency takes its dependents with it.
  steps = plan_downgrade(map, {"r"}, "p");
  CHECK(step_ids(steps) == Strings{"r", "q"});
  CHECK(run(map, {"r"}, steps) == Heads{"x", "p"});
  steps = plan_downgrade(map, {"r"}, "base");
  CHECK(step_ids(steps) == Strings{"r", "x", "q", "p"});
  CHECK(run(map, {"r"}, steps).empty());
}

TEST_CASE("upgrade then downgrade round trip on a wide graph", "[unit][graph]") {
  // Three bases, branches, a merge of all three and a dependency across branches.
  std::vector<Revision> revs{
      rev("a1"),       rev("a2", {"a1"}),           rev("b1"),         rev("b2", {"b1"}, {}, {"a1"}),
      rev("c1"),       rev("c2", {"c1"}),           rev("c3", {"c1"}), rev("m", {"a2", "b2", "c2"}),
      rev("t", {"m"}), rev("u", {"c3"}, {}, {"b2"})};
  RevisionMap map(revs);
  CHECK(map.heads() == Strings{"t", "u"});
  auto up = plan_upgrade(map, {}, "heads");
  CHECK(up.size() == revs.size());
  auto heads = run(map, {}, up);
  CHECK(heads == Heads{"t", "u"});
  auto down = plan_downgrade(map, heads, "base");
  CHECK(down.size() == revs.size());
  CHECK(run(map, heads, down).empty());
  // Partial: downgrade to c1 removes c2, c3, m, t, u only.
  auto partial = plan_downgrade(map, heads, "c1");
  CHECK(step_ids(partial) == Strings{"u", "t", "m", "c3", "c2"});
  CHECK(run(map, heads, partial) == Heads{"a2", "b2", "c1"});
}

// ---------------------------------------------------------------------------------------------------------------
// History ranges

TEST_CASE("history_range", "[unit][graph]") {
  RevisionMap map(merged());
  const Strings all{"n", "m", "d2", "d1", "c2", "c1", "b", "a"};
  CHECK(ids(history_range(map, "base:head", {})) == all);
  CHECK(ids(history_range(map, ":head", {})) == all);
  CHECK(ids(history_range(map, ":", {})) == all);
  CHECK(ids(history_range(map, "base:heads", {})) == all);
  CHECK(ids(history_range(map, "c1:", {})) == Strings{"n", "m", "c2", "c1"});
  CHECK(ids(history_range(map, "b:c2", {})) == Strings{"c2", "c1", "b"});
  CHECK(ids(history_range(map, ":d1", {})) == Strings{"d1", "b", "a"});
  CHECK(ids(history_range(map, "current:", {"c2"})) == Strings{"n", "m", "c2"});
  CHECK(ids(history_range(map, ":current", {"c2"})) == Strings{"c2", "c1", "b", "a"});
  CHECK(ids(history_range(map, "current:", {})) == all);
  CHECK(history_range(map, ":current", {}).empty());
  CHECK(ids(history_range(map, "dbranch:dbranch@head", {})) == Strings{"n", "m", "d2", "d1"});
  CHECK_THAT(error_of([&] { history_range(map, "c1:d2", {}); }), Contains("not an ancestor"));
  CHECK_THAT(error_of([&] { history_range(map, "head", {}); }), Contains("[start]:[end]"));
  CHECK_THAT(error_of([&] { history_range(map, "a:b:c", {}); }), Contains("[start]:[end]"));
  CHECK_THAT(error_of([&] { history_range(map, "zzzz:", {}); }), Contains("No such revision"));
  CHECK_THAT(error_of([&] { history_range(map, "current:", {"gone"}); }), Contains("Can't locate"));
}

TEST_CASE("history_range: relative forms", "[unit][graph]") {
  RevisionMap map(chain5());
  CHECK(ids(history_range(map, "-3:", {})) == Strings{"e", "d", "c", "b"});
  CHECK(ids(history_range(map, "-1:current", {"d"})) == Strings{"d"});
  CHECK(ids(history_range(map, "b:+2", {})) == Strings{"d", "c", "b"});
  CHECK(ids(history_range(map, ":-2", {})) == Strings{"c", "b", "a"});
  CHECK(ids(history_range(map, "c-1:c+1", {})) == Strings{"d", "c", "b"});
  CHECK(ids(history_range(map, "+2:", {})) == Strings{"e", "d", "c", "b"});
  CHECK_THAT(error_of([&] { history_range(map, "-9:", {}); }), Contains("walks past base"));
}

// ---------------------------------------------------------------------------------------------------------------
// Randomised consistency checks (fixed seeds, plain modulo so results do not depend on the standard library)

namespace {

std::vector<Revision> random_dag(std::mt19937& rng, size_t n) {
  std::vector<Revision> revs;
  for (size_t i = 0; i < n; ++i) {
    Revision r = rev(fmt::format("n{:03}x{}", i, rng() % 1000));
    if (i > 0 && rng() % 8 != 0) {
      r.down_revisions.push_back(revs[rng() % i].id);
      if (rng() % 5 == 0) r.down_revisions.push_back(revs[rng() % i].id);  // merge (maybe a duplicate)
    }
    if (i > 0 && rng() % 6 == 0) r.depends_on.push_back(revs[rng() % i].id);
    revs.push_back(std::move(r));
  }
  for (size_t k = revs.size(); k > 1; --k)
    std::swap(revs[k - 1], revs[rng() % k]);  // input order must not matter
  return revs;
}

}  // namespace

TEST_CASE("random graphs: is_ancestor agrees with ancestor_mask", "[unit][graph]") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    RevisionMap map(random_dag(rng, 60));
    for (size_t d = 0; d < map.size(); ++d) {
      auto mask = map.ancestor_mask({d});
      for (size_t a = 0; a < map.size(); ++a) REQUIRE(map.is_ancestor(a, d) == static_cast<bool>(mask[a]));
    }
  }
}

TEST_CASE("random graphs: plans keep the version table consistent", "[unit][graph]") {
  std::mt19937 rng(777);
  for (int round = 0; round < 30; ++round) {
    RevisionMap map(random_dag(rng, 40));
    auto all = map.ordered();
    Heads heads;
    for (int move = 0; move < 12; ++move) {
      const auto applied = map.ancestors_inclusive(Strings(heads.begin(), heads.end()));
      std::string target = rng() % 7 == 0 ? (rng() % 2 ? "heads" : "base") : all[rng() % all.size()]->id;
      INFO("round " << round << " move " << move << " target " << target);
      bool down = target == "base" || (target != "heads" && applied.count(target));
      std::set<std::string> expected;
      if (!down) {
        auto steps = plan_upgrade(map, heads, target);
        auto wanted =
            target == "heads" ? map.ancestors_inclusive(map.heads()) : map.ancestors_inclusive({target});
        expected = applied;
        expected.insert(wanted.begin(), wanted.end());
        for (size_t k = 1; k < steps.size(); ++k)
          REQUIRE(map.index_of(steps[k - 1].revision->id) < map.index_of(steps[k].revision->id));
        heads = run(map, heads, steps);
      } else {
        if (target != "base") {
          bool past = false;  // an applied revision with an applied child: upgrade refuses, downgrade works
          for (const auto& c : map.children(target)) past = past || applied.count(c);
          if (past) REQUIRE_THROWS_AS(plan_upgrade(map, heads, target), GraphError);
        }
        auto steps = plan_downgrade(map, heads, target);
        for (const auto& id : applied) {
          bool goes =
              target == "base" || (map.is_ancestor(*map.index_of(target), *map.index_of(id)) && id != target);
          if (!goes) expected.insert(id);
        }
        heads = run(map, heads, steps);
      }
      REQUIRE(map.ancestors_inclusive(Strings(heads.begin(), heads.end())) == expected);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scale

TEST_CASE("10000-revision chain constructs and plans without deep recursion", "[unit][graph]") {
  const int n = 10000;
  std::vector<Revision> revs;
  revs.reserve(n);
  for (int i = n - 1; i >= 0; --i)
    revs.push_back(i == 0 ? rev(chain_id(0)) : rev(chain_id(i), {chain_id(i - 1)}));
  RevisionMap map(std::move(revs));
  REQUIRE(map.size() == n);
  CHECK(map.heads() == Strings{chain_id(n - 1)});
  CHECK(map.bases() == Strings{chain_id(0)});
  auto order = map.ordered();
  REQUIRE(order.size() == n);
  CHECK(order.front()->id == chain_id(0));
  CHECK(order.back()->id == chain_id(n - 1));
  CHECK(map.resolve_id(chain_id(500)) == chain_id(500));
  CHECK_THAT(error_of([&] { map.resolve_id("r0500"); }), Contains("'r05009'"));
  CHECK(map.ancestors_inclusive({chain_id(n - 1)}).size() == n);

  auto up = plan_upgrade(map, {}, "head");
  REQUIRE(up.size() == n);
  CHECK(up.front().revision->id == chain_id(0));
  CHECK(up.back().revision->id == chain_id(n - 1));
  Heads heads;
  for (const auto& s : up) apply(heads, version_change(map, heads, s));
  CHECK(heads == Heads{chain_id(n - 1)});

  CHECK(resolve_target(map, "-9999", heads) == Heads{chain_id(0)});
  CHECK(resolve_target(map, "-10000", heads).empty());
  CHECK(step_ids(plan_downgrade(map, heads, "-2")) == Strings{chain_id(n - 1), chain_id(n - 2)});

  auto down = plan_downgrade(map, heads, "base");
  REQUIRE(down.size() == n);
  CHECK(down.front().revision->id == chain_id(n - 1));
  for (const auto& s : down) apply(heads, version_change(map, heads, s));
  CHECK(heads.empty());

  CHECK(history_range(map, "-10:", {}).size() == 11);
  CHECK(history_range(map, "base:head", {}).size() == n);
}

TEST_CASE("cycle in a 10000-revision graph is found without recursion", "[unit][graph]") {
  const int n = 10000;
  std::vector<Revision> revs;
  for (int i = 0; i < n; ++i) revs.push_back(rev(chain_id(i), {chain_id((i + n - 1) % n)}));
  auto msg = error_of([&] { RevisionMap{std::move(revs)}; });
  CHECK_THAT(msg, Contains("Cycle"));
  CHECK_THAT(msg, Contains(chain_id(0) + " -> " + chain_id(n - 1) + " -> " + chain_id(n - 2)));
}

TEST_CASE("two long branches: downgrading one keeps the other", "[unit][graph]") {
  const int n = 2000;
  std::vector<Revision> revs{rev("root")};
  for (int i = 0; i < n; ++i) {
    revs.push_back(rev(fmt::format("x{:05}", i), {i == 0 ? "root" : fmt::format("x{:05}", i - 1)}));
    revs.push_back(rev(fmt::format("y{:05}", i), {i == 0 ? "root" : fmt::format("y{:05}", i - 1)}));
  }
  RevisionMap map(std::move(revs));
  Heads heads;
  for (const auto& s : plan_upgrade(map, {}, "heads")) apply(heads, version_change(map, heads, s));
  CHECK(heads == Heads{fmt::format("x{:05}", n - 1), fmt::format("y{:05}", n - 1)});
  auto steps = plan_downgrade(map, heads, "root");
  CHECK(steps.size() == 2 * n);
  Heads h = heads;
  for (const auto& s : steps) apply(h, version_change(map, h, s));
  CHECK(h == Heads{"root"});
  steps = plan_downgrade(map, heads, "x00000");
  CHECK(steps.size() == n - 1);
  for (const auto& s : steps) apply(heads, version_change(map, heads, s));
  CHECK(heads == Heads{"x00000", fmt::format("y{:05}", n - 1)});
}
