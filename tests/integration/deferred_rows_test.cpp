// The rows luamig writes in a revision's transaction (session reset, version row, history row) travel
// together to the COMMIT (Connection::defer). Their checks still stop that COMMIT, a migration's or hook's
// pcall can never swallow their failure, and a retried or failed attempt never leaves the remembered history
// tail stale.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/cli.hpp"

namespace lt = luamig::test;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;
using lt::TempProject;

namespace {
// r1 creates t1; r2 deletes every version row behind luamig's back (so its UPDATE changes no row) and creates
// t2; r3 creates t3.
void sabotaged_project(const TempProject& p, const std::string& config) {
  p.write_config(config);
  p.write_migration("r1", std::nullopt, "  op.execute('CREATE TABLE t1 (id int)')", "");
  p.write_migration("r2", "r1",
                    "  op.execute('CREATE TABLE t2 (id int)')\n  op.execute('DELETE FROM alembic_version')",
                    "");
  p.write_migration("r3", "r2", "  op.execute('CREATE TABLE t3 (id int)')", "");
}
}  // namespace

TEST_CASE("deferred rows: a version row that changes no row stops the COMMIT", "[deferred]") {
  struct Variant {
    const char* name;
    std::string config;
    Strings versions_after;  // per revision: r1 stays; one transaction for the command: nothing stays
    bool t1_stays;
  };
  const std::vector<Variant> variants{
      {"one transaction per revision", "", {"r1"}, true},
      {"one transaction for the command", "transaction_per_migration = false\n", {}, false},
      // A hook that catches every error of its own statements: the deferred rows are sent before it runs.
      {"after_migration hook with pcall", "hooks = 'hooks/catch.lua'\n", {"r1"}, true},
  };
  const auto& v = variants[GENERATE(0u, 1u, 2u)];
  BOTH_DIALECTS_DB(db);
  TempProject p;
  sabotaged_project(p, v.config);
  p.write("migrations/hooks/catch.lua",
          "function after_migration(step, ctx)\n"
          "  local ok = pcall(op.execute, 'SELECT 1')\n"
          "  assert(ok)\n"
          "end\n");
  auto r = lt::luamig_in(p, db.url(), {"upgrade", "head"});
  INFO(v.name << "\n" << r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("ERROR: upgrade of revision r2"));
  CHECK_THAT(r.err, Contains("out of sync: updating r1 to r2 changed 0 rows instead of 1"));
  CHECK_THAT(r.err, Contains("migrations/versions/r2_"));
  // r2 was rolled back whole; r3 never ran.
  CHECK_FALSE(db.table_exists("t2"));
  CHECK_FALSE(db.table_exists("t3"));
  CHECK(db.table_exists("t1") == v.t1_stays);
  CHECK(db.version_rows() == v.versions_after);
}

TEST_CASE("deferred rows: the history stays a valid chain across failed and retried attempts", "[deferred]") {
  BOTH_DIALECTS_DB(db);
  TempProject p;
  p.write_config();
  // b2 fails on its first run (its guard table is missing) and succeeds once the guard exists.
  p.write_migration("a1", std::nullopt, "  op.execute('CREATE TABLE ta (id int)')", "");
  p.write_migration("b2", "a1",
                    "  op.execute('INSERT INTO guard VALUES (1)')\n  op.execute('CREATE TABLE tb (id int)')",
                    "");
  p.write_migration("c3", "b2", "  op.execute('CREATE TABLE tc (id int)')", "");
  auto r = lt::luamig_in(p, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  REQUIRE(r.status == 1);
  CHECK(db.version_rows() == Strings{"a1"});
  db.exec("CREATE TABLE guard (id int)");
  r = lt::luamig_in(p, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK(db.version_rows() == Strings{"c3"});
  CHECK(db.query_column("SELECT revision || ' ' || outcome FROM luamig_history ORDER BY seq") ==
        Strings{"a1 success", "b2 failed", "b2 success", "c3 success"});
  CHECK(db.query_column("SELECT seq FROM luamig_history ORDER BY seq") == Strings{"1", "2", "3", "4"});
  r = lt::luamig_in(p, db.url(), {"validate"});
  INFO(r.describe());
  CHECK(r.status == 0);
}
