// On PostgreSQL a revision's BEGIN travels with its first statement (one round trip for both). These tests
// pin down that nothing else changes: the first statement's failure is reported as that statement (never with
// the BEGIN in front of it), with its file:line and SQLSTATE, the revision is rolled back, and a first
// statement with bound parameters, a first statement that is a query, and a revision with no statement at all
// behave as before.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;

namespace {
const std::string R1 = "aaaa11110001";
const std::string R2 = "bbbb22220002";
const std::string R3 = "cccc33330003";

}  // namespace

TEST_CASE("first statement: its failure names it alone, and the revision is rolled back",
          "[first-statement]") {
  auto db_owner = TestDb::make("postgresql");
  const TestDb& db = *db_owner;
  TempProject proj;
  proj.write_config();
  proj.write_migration(R1, std::nullopt, R"(  op.create_table("t1", { "id", "integer" }))", "", "create t1");
  // The failing statement is the revision's first: no parameters (it travels with the BEGIN).
  proj.write_migration(R2, R1, "  op.execute(\"INSERT INTO t1 (id) VALUES ('x')\")\n", "", "first fails");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK(db.version_rows() == Strings{R1});
  CHECK(db.query_value("SELECT count(*) FROM t1") == "0");
  CHECK_THAT(r.err, Contains("upgrade of revision " + R2 + " (first fails) failed"));
  CHECK_THAT(r.err, Contains("at " + proj.migration_file(R2) + ":"));
  CHECK_THAT(r.err, Contains("SQLSTATE: 22P02"));
  CHECK_THAT(r.err, Contains("SQL: INSERT INTO t1 (id) VALUES ('x')"));
  CHECK_THAT(r.err, !Contains("BEGIN"));

  // The same with bound parameters (BEGIN goes on its own first).
  proj.write_migration(R2, R1, "  op.execute(\"INSERT INTO t1 (id) VALUES ($1)\", \"x\")\n", "",
                       "first fails");
  auto p = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(p.describe());
  CHECK(p.status == 1);
  CHECK(db.version_rows() == Strings{R1});
  CHECK_THAT(p.err, Contains("SQL: INSERT INTO t1 (id) VALUES ($1)"));
  CHECK_THAT(p.err, !Contains("BEGIN"));
}

TEST_CASE("first statement: queries, parameters and empty revisions run in their transaction",
          "[first-statement]") {
  auto db_owner = TestDb::make("postgresql");
  const TestDb& db = *db_owner;
  TempProject proj;
  proj.write_config();
  // A query first: its rows are the query's, and it runs inside the revision's transaction.
  proj.write_migration(
      R1, std::nullopt,
      "  local n = op.query_value(\"SELECT count(*) FROM pg_catalog.pg_class WHERE relname = "
      "'t1'\")\n"
      "  assert(tonumber(n) == 0, 'count: ' .. tostring(n))\n"
      "  op.create_table(\"t1\", { \"id\", \"integer\" })\n"
      "  op.execute(\"INSERT INTO t1 (id) VALUES ($1)\", 7)\n",
      "  op.drop_table(\"t1\")", "query first");
  // Nothing at all: still recorded.
  proj.write_migration(R2, R1, "", "", "empty");
  // Parameters first, then a failure later: everything of the revision is undone.
  proj.write_migration(R3, R2,
                       "  op.execute(\"INSERT INTO t1 (id) VALUES ($1)\", 8)\n"
                       "  error('stop here')\n",
                       "", "params first");
  auto r = luamig_in(proj, db.url(), {"upgrade", R2});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK(db.version_rows() == Strings{R2});
  CHECK(db.query_value("SELECT string_agg(id::text, ',') FROM t1") == "7");
  auto f = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(f.describe());
  CHECK(f.status == 1);
  CHECK_THAT(f.err, Contains("stop here"));
  CHECK(db.version_rows() == Strings{R2});
  CHECK(db.query_value("SELECT string_agg(id::text, ',') FROM t1") == "7");
  // And back down, each revision in its own transaction again.
  auto d = luamig_in(proj, db.url(), {"downgrade", "base"});
  INFO(d.describe());
  CHECK(d.status == 0);
  CHECK(db.version_rows().empty());
  CHECK_FALSE(db.table_exists("t1"));
}
