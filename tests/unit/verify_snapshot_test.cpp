// Pure parts of verify and trace: comparing catalog snapshots, naming lock modes.
#include <catch2/catch.hpp>

#include "verify/catalog_snapshot.hpp"
#include "verify/lock_trace.hpp"

using luamig::verify::diff_snapshots;
using luamig::verify::Snapshot;

TEST_CASE("diff_snapshots: equal snapshots give no lines", "[unit]") {
  Snapshot a{{"table public.t", ""}, {"column public.t.id", "integer NOT NULL"}};
  CHECK(diff_snapshots(a, a).empty());
  CHECK(diff_snapshots({}, {}).empty());
}

TEST_CASE("diff_snapshots: added, removed and changed objects, sorted by key", "[unit]") {
  Snapshot before{{"column public.t.a", "integer NULL"},
                  {"index public.t_b", "CREATE INDEX t_b"},
                  {"table public.t", ""}};
  Snapshot after{
      {"column public.t.a", "bigint NULL"}, {"index public.t_c", "CREATE INDEX t_c"}, {"table public.t", ""}};
  auto d = diff_snapshots(before, after);
  REQUIRE(d.size() == 3);
  CHECK(d[0] == "~ column public.t.a\n    before: integer NULL\n    after:  bigint NULL");
  CHECK(d[1] == "- index public.t_b: CREATE INDEX t_b");
  CHECK(d[2] == "+ index public.t_c: CREATE INDEX t_c");
}

TEST_CASE("diff_snapshots: objects only on one side at either end", "[unit]") {
  CHECK(diff_snapshots({}, {{"x", "1"}}) == std::vector<std::string>{"+ x: 1"});
  CHECK(diff_snapshots({{"x", "1"}}, {}) == std::vector<std::string>{"- x: 1"});
}

TEST_CASE("lock_mode: pg_locks names to SQL names and strength", "[unit]") {
  using luamig::verify::lock_mode;
  CHECK(lock_mode("AccessShareLock") == std::pair<std::string, int>{"ACCESS SHARE", 1});
  CHECK(lock_mode("ShareUpdateExclusiveLock") == std::pair<std::string, int>{"SHARE UPDATE EXCLUSIVE", 4});
  CHECK(lock_mode("ShareLock") == std::pair<std::string, int>{"SHARE", 5});
  CHECK(lock_mode("AccessExclusiveLock") == std::pair<std::string, int>{"ACCESS EXCLUSIVE", 8});
  CHECK(lock_mode("SIReadLock").second == 0);
}
