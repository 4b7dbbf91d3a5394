// batch_alter_table builds its changes with the op builders: on SQLite (one table rebuild) every option a
// batch method takes reaches the rebuilt table, and an invalid change is refused before anything runs.

#include <catch2/catch.hpp>

#include "support/cli.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

namespace lt = luamig::test;
using Catch::Matchers::Contains;
using luamig::test::TempProject;

namespace {

const char* kTables = R"LUA(  op.create_table("orgs", { "id", "integer", primary_key = true })
  op.create_table("users", { "id", "integer", primary_key = true }, { "org_id", "integer" }, { "code", "text" })
)LUA";

}  // namespace

TEST_CASE("ops batch: SQLite rebuilds keep every option of the batch's constraint methods",
          "[sqlite][ops_plan]") {
  TempProject proj;
  const lt::SqliteFile luamig_db(proj.path("luamig.db"));
  proj.write_config();
  proj.write_migration("a1", std::nullopt,
                       std::string(kTables) + R"LUA(  op.batch_alter_table("users", function(b)
    b.create_foreign_key("fk_org", "orgs", "org_id", "id",
      { ondelete = "CASCADE", onupdate = "SET NULL", deferrable = true, initially = "DEFERRED", match = "FULL" })
    b.create_unique_constraint("uq_code", { "code" })
    b.create_check_constraint("ck_code", op.text("length(code) > 1"))
  end))LUA",
                       "");
  auto r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
  INFO(r);
  REQUIRE(r.status == 0);
  std::string sql = luamig_db.query_value("SELECT sql FROM sqlite_master WHERE name = 'users'");
  CHECK_THAT(
      sql,
      Contains("CONSTRAINT \"fk_org\" FOREIGN KEY (\"org_id\") REFERENCES \"orgs\" (\"id\") MATCH FULL ON "
               "DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED"));
  CHECK_THAT(sql, Contains("CONSTRAINT \"uq_code\" UNIQUE (\"code\")"));
  CHECK_THAT(sql, Contains("CONSTRAINT \"ck_code\" CHECK (length(code) > 1)"));
}

TEST_CASE("ops batch: an unknown option in a batch is refused with the migration line, nothing applied",
          "[sqlite][ops_plan]") {
  TempProject proj;
  const lt::SqliteFile luamig_db(proj.path("luamig.db"));
  proj.write_config();
  auto file = proj.write_migration("a1", std::nullopt,
                                   std::string(kTables) + R"LUA(  op.batch_alter_table("users", function(b)
    b.create_foreign_key("fk_org", "orgs", "org_id", "id", { on_delete = "CASCADE" })
  end))LUA",
                                   "");
  auto r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
  INFO(r);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("op.create_foreign_key: unknown option 'on_delete'"));
  // The upgrade body starts on line 13: two create_table lines, then the batch call, then the method.
  CHECK_THAT(r.err, Contains(file + ":16"));
  CHECK(luamig_db.query_value("SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'orgs')") == "0");
}
