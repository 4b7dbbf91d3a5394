// batch_alter_table builds its changes with the op builders: on SQLite (one table rebuild) every option a
// batch method takes reaches the rebuilt table, and an invalid change is refused before anything runs.
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "support/project.hpp"
#include "support/run.hpp"

namespace lt = luamig::test;
using Catch::Matchers::Contains;
using luamig::test::TempProject;

namespace {

std::string one_value(const TempProject& proj, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open((proj.path() / "luamig.db").c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

const char* kTables = R"LUA(  op.create_table("orgs", { "id", "integer", primary_key = true })
  op.create_table("users", { "id", "integer", primary_key = true }, { "org_id", "integer" }, { "code", "text" })
)LUA";

}  // namespace

TEST_CASE("ops batch: SQLite rebuilds keep every option of the batch's constraint methods",
          "[sqlite][ops_plan]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt,
                       std::string(kTables) + R"LUA(  op.batch_alter_table("users", function(b)
    b.create_foreign_key("fk_org", "orgs", "org_id", "id",
      { ondelete = "CASCADE", onupdate = "SET NULL", deferrable = true, initially = "DEFERRED", match = "FULL" })
    b.create_unique_constraint("uq_code", { "code" })
    b.create_check_constraint("ck_code", op.text("length(code) > 1"))
  end))LUA",
                       "");
  auto r = lt::luamig({"upgrade", "head"}, {.cwd = proj.path().string()});
  INFO(r);
  REQUIRE(r.status == 0);
  std::string sql = one_value(proj, "SELECT sql FROM sqlite_master WHERE name = 'users'");
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
  proj.write_config();
  auto file = proj.write_migration("a1", std::nullopt,
                                   std::string(kTables) + R"LUA(  op.batch_alter_table("users", function(b)
    b.create_foreign_key("fk_org", "orgs", "org_id", "id", { on_delete = "CASCADE" })
  end))LUA",
                                   "");
  auto r = lt::luamig({"upgrade", "head"}, {.cwd = proj.path().string()});
  INFO(r);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("op.create_foreign_key: unknown option 'on_delete'"));
  // The upgrade body starts on line 13: two create_table lines, then the batch call, then the method.
  CHECK_THAT(r.err, Contains(file + ":16"));
  CHECK(one_value(proj, "SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'orgs')") == "0");
}
