// Operations as data, without a server: the renderer modules (lua/dialect/*.lua) turn op records into SQL for
// both dialects, and the recorded plan of a call carries each op's kind, fields, SQL and file:line. The
// engine runs with an offline Services that only collects statements, as --sql does.
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "luahost/engine.hpp"
#include "support/engine.hpp"

using namespace luamig::luahost;
namespace lt = luamig::test;
using Catch::Matchers::Contains;

namespace {

struct Result {
  Plan plan;
  std::vector<std::string> statements;
  std::string error;
  int error_line = 0;
};

// Runs `body` as the upgrade() of m.lua (the body starts on line 2) on `dialect`, offline.
Result run(const std::string& dialect, const std::string& body) {
  Result r;
  lt::on_big_stack(
      [&] {
        lt::FakeServices services;    // collects the statements, as --sql does
        services.rows_affected = -1;  // offline: row counts are unknown
        Context ctx;
        ctx.dialect = dialect;
        ctx.offline = true;
        Engine engine(&services, ctx, Limits{});
        try {
          auto script = engine.load("m.lua", lt::upgrade_source(body));
          engine.call(script, "upgrade", {{"revision", "r1"}});
          r.plan = engine.plan();
          engine.unload(script);
        } catch (const ScriptError& e) {
          r.error = e.failure.message;
          r.error_line = e.failure.line;
          r.plan = engine.plan();
        }
        r.statements = services.statements;
      },
      size_t{64} << 20);
  return r;
}

std::vector<std::string> sql_of(const std::string& dialect, const std::string& body) {
  auto r = run(dialect, body);
  INFO(r.error);
  REQUIRE(r.error.empty());
  return r.statements;
}

}  // namespace

TEST_CASE("ops plan: records render to the same SQL on both dialects where SQL agrees", "[unit][ops_plan]") {
  struct Case {
    const char* op;
    std::vector<std::string> postgresql, sqlite;
  };
  const std::vector<Case> cases = {
      {R"~(op.create_table("users", { "id", "integer", primary_key = true }, { "email", op.types.string(200), nullable = false, unique = true, index = true }, { comment = "people" }))~",
       {"CREATE TABLE \"users\" (\n    \"id\" integer PRIMARY KEY,\n    \"email\" varchar(200) NOT NULL\n)",
        "COMMENT ON TABLE \"users\" IS 'people'",
        "CREATE UNIQUE INDEX \"ix_users_email\" ON \"users\" (\"email\")"},
       {"CREATE TABLE \"users\" (\n    \"id\" integer PRIMARY KEY,\n    \"email\" VARCHAR(200) NOT NULL\n)",
        "CREATE UNIQUE INDEX \"ix_users_email\" ON \"users\" (\"email\")"}},
      {R"~(op.add_column("users", { "age", "integer", default = 0 }, { if_not_exists = true }))~",
       {"ALTER TABLE \"users\" ADD COLUMN IF NOT EXISTS \"age\" integer DEFAULT 0"},
       {"ALTER TABLE \"users\" ADD COLUMN IF NOT EXISTS \"age\" integer DEFAULT 0"}},
      {R"~(op.drop_table("t", { if_exists = true }))~",
       {"DROP TABLE IF EXISTS \"t\""},
       {"DROP TABLE IF EXISTS \"t\""}},
      {R"~(op.rename_table("a", "b"))~",
       {"ALTER TABLE \"a\" RENAME TO \"b\""},
       {"ALTER TABLE \"a\" RENAME TO \"b\""}},
      {R"~(op.rename_column("t", "a", "b"))~",
       {"ALTER TABLE \"t\" RENAME COLUMN \"a\" TO \"b\""},
       {"ALTER TABLE \"t\" RENAME COLUMN \"a\" TO \"b\""}},
      {R"~(op.create_index("ix", "t", { "a", op.text("lower(b)") }, { unique = true, where = "a > 0" }))~",
       {"CREATE UNIQUE INDEX \"ix\" ON \"t\" (\"a\", lower(b)) WHERE a > 0"},
       {"CREATE UNIQUE INDEX \"ix\" ON \"t\" (\"a\", lower(b)) WHERE a > 0"}},
      {R"~(op.drop_index("ix", "t", { if_exists = true }))~",
       {"DROP INDEX IF EXISTS \"ix\""},
       {"DROP INDEX IF EXISTS \"ix\""}},
      {R"~(op.create_table_comment("t", "it's"))~", {"COMMENT ON TABLE \"t\" IS 'it''s'"}, {}},
      {R"~(op.drop_table_comment("t"))~", {"COMMENT ON TABLE \"t\" IS NULL"}, {}},
      {R"~(op.bulk_insert("t", { { a = 1, b = "x" }, { a = 2 } }))~",
       {"INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, $2), ($3, DEFAULT)"},
       {"INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, $2)", "INSERT INTO \"t\" (\"a\") VALUES ($1)"}},
      {R"~(op.execute("UPDATE t SET a = $1", 5))~", {"UPDATE t SET a = $1"}, {"UPDATE t SET a = $1"}},
  };
  for (const auto& c : cases) {
    INFO(c.op);
    CHECK(sql_of("postgresql", c.op) == c.postgresql);
    CHECK(sql_of("sqlite", c.op) == c.sqlite);
  }
}

TEST_CASE("ops plan: PostgreSQL renders alter_column and constraints with every option", "[unit][ops_plan]") {
  CHECK(
      sql_of(
          "postgresql",
          R"~(op.alter_column("t", "c", { type = "bigint", using = "c::bigint", nullable = false, default = op.NULL_DEFAULT, comment = "n", new_name = "d" }))~") ==
      std::vector<std::string>{"ALTER TABLE \"t\" ALTER COLUMN \"c\" TYPE bigint USING c::bigint",
                               "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET NOT NULL",
                               "ALTER TABLE \"t\" ALTER COLUMN \"c\" DROP DEFAULT",
                               "COMMENT ON COLUMN \"t\".\"c\" IS 'n'",
                               "ALTER TABLE \"t\" RENAME COLUMN \"c\" TO \"d\""});
  CHECK(
      sql_of(
          "postgresql",
          R"~(op.create_foreign_key("fk", "a", "b", { "x" }, { "y" }, { ondelete = "cascade", deferrable = true, initially = "deferred", match = "full", not_valid = true, source_schema = "s", referent_schema = "r" }))~") ==
      std::vector<std::string>{
          "ALTER TABLE \"s\".\"a\" ADD CONSTRAINT \"fk\" FOREIGN KEY (\"x\") REFERENCES "
          "\"r\".\"b\" (\"y\") MATCH FULL ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED "
          "NOT VALID"});
  CHECK(sql_of("postgresql", R"~(op.create_check_constraint("ck", "t", "a > 0", { not_valid = true }))~") ==
        std::vector<std::string>{"ALTER TABLE \"t\" ADD CONSTRAINT \"ck\" CHECK (a > 0) NOT VALID"});
  CHECK(sql_of("postgresql", R"~(op.drop_constraint("ck", "t", { if_exists = true, cascade = true }))~") ==
        std::vector<std::string>{"ALTER TABLE \"t\" DROP CONSTRAINT IF EXISTS \"ck\" CASCADE"});
}

TEST_CASE("ops plan: batch_alter_table options reach the SQL (create_foreign_key keeps them)",
          "[unit][ops_plan]") {
  // Directly on PostgreSQL: each batch method is the op of the same name.
  CHECK(sql_of("postgresql", R"~(op.batch_alter_table("a", function(b)
  b.create_foreign_key("fk", "b", "x", "y", { ondelete = "CASCADE", onupdate = "SET NULL", deferrable = true, initially = "DEFERRED", match = "SIMPLE", not_valid = true })
  b.create_unique_constraint("uq", { "x" }, { deferrable = false })
end, { schema = "s" }))~") ==
        std::vector<std::string>{
            "ALTER TABLE \"s\".\"a\" ADD CONSTRAINT \"fk\" FOREIGN KEY (\"x\") REFERENCES \"b\" "
            "(\"y\") MATCH SIMPLE ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY "
            "DEFERRED NOT VALID",
            "ALTER TABLE \"s\".\"a\" ADD CONSTRAINT \"uq\" UNIQUE (\"x\") NOT DEFERRABLE"});
  // The batch validates as the ops do: an unknown option is an error naming it and the migration line.
  for (const char* dialect : {"postgresql", "sqlite"}) {
    INFO(dialect);
    auto r = run(dialect, R"~(op.batch_alter_table("a", function(b)
  b.create_foreign_key("fk", "b", "x", "y", { on_delete = "CASCADE" })
end))~");
    CHECK_THAT(r.error, Contains("op.create_foreign_key: unknown option 'on_delete'"));
    CHECK(r.error_line == 3);
    r = run(dialect, R"~(op.batch_alter_table("a", function(b)
  b.alter_column("x", {})
end))~");
    CHECK_THAT(r.error, Contains("op.alter_column: nothing to change"));
    CHECK(r.error_line == 3);
    r = run(dialect, R"~(op.batch_alter_table("a", function(b)
  b.add_column({ "x" })
end))~");
    CHECK_THAT(r.error, Contains("column 'x' has no type"));
    CHECK(r.error_line == 3);
  }
}

TEST_CASE("ops plan: records carry kind, typed fields, SQL and file:line", "[unit][ops_plan]") {
  auto r = run(
      "postgresql",
      R"~(op.add_column("users", { "id", "uuid", nullable = false, default = op.text("gen_random_uuid()") }, { schema = "app" })
  op.execute("UPDATE users SET a = $1 WHERE b = $2", 1, "x")
  op.alter_column("users", "a", { default = op.NULL_DEFAULT, nullable = true })
  op.create_index("ix", "users", { "a" }, { concurrently = false, where = op.text("a IS NOT NULL") })
  op.bulk_insert("users", { { a = 1 }, { a = 2 } })
  op.autocommit_block(function() op.drop_index("ix") end)
  op.create_foreign_key(nil, "users", "orgs", "org_id", "id", { ondelete = "CASCADE" }))~");
  INFO(r.error);
  REQUIRE(r.error.empty());
  const auto& recs = r.plan.records;
  REQUIRE(recs.size() == 8);
  std::vector<std::string> kinds;
  std::vector<int> lines;
  for (const auto& rec : recs) {
    kinds.push_back(rec.kind);
    lines.push_back(rec.line);
    CHECK(rec.file == "m.lua");
  }
  CHECK(kinds == std::vector<std::string>{"add_column", "execute", "alter_column", "create_index",
                                          "bulk_insert", "autocommit_block", "drop_index",
                                          "create_foreign_key"});
  CHECK(lines == std::vector<int>{2, 3, 4, 5, 6, 7, 7, 8});

  const auto& add = recs[0];
  CHECK(add.fields.at("table") == OpField{OpField::Type::string, "users"});
  CHECK(add.fields.at("schema") == OpField{OpField::Type::string, "app"});
  CHECK(add.fields.at("column") ==
        OpField{OpField::Type::json,
                R"~({"default":{"sql":"gen_random_uuid()"},"name":"id","nullable":false,"type":"uuid"})~"});
  CHECK(add.sql == std::vector<std::string>{"ALTER TABLE \"app\".\"users\" ADD COLUMN \"id\" uuid DEFAULT "
                                            "gen_random_uuid() NOT NULL"});
  CHECK(recs[1].fields.at("params") == OpField{OpField::Type::number, "2"});
  CHECK(recs[1].sql == std::vector<std::string>{"UPDATE users SET a = $1 WHERE b = $2"});
  CHECK(recs[2].fields.at("default").type == OpField::Type::null_default);
  CHECK(recs[2].fields.at("nullable") == OpField{OpField::Type::boolean, "true"});
  CHECK(recs[2].sql.size() == 2);
  CHECK(recs[3].fields.at("where") == OpField{OpField::Type::sql, "a IS NOT NULL"});
  CHECK(recs[3].fields.at("columns") == OpField{OpField::Type::json, R"~(["a"])~"});
  CHECK(recs[4].fields.at("row_count") == OpField{OpField::Type::number, "2"});
  CHECK_FALSE(recs[4].has("rows"));
  CHECK(recs[4].sql == std::vector<std::string>{"INSERT INTO \"users\" (\"a\") VALUES ($1), ($2)"});
  CHECK(recs[5].fields.at("records") == OpField{OpField::Type::number, "1"});
  CHECK(recs[5].sql.empty());
  CHECK(recs[7].get("constraint") == "foreign_key");
  CHECK_FALSE(recs[7].has("name"));
  CHECK(recs[7].fields.at("columns") == OpField{OpField::Type::json, R"~(["org_id"])~"});
  CHECK(recs[7].get("ondelete") == "CASCADE");
}

TEST_CASE("ops plan: a helper's op call is placed at the helper's line, and a failed call keeps its plan",
          "[unit][ops_plan]") {
  auto r = run("sqlite", R"~(local function helper(t)
    op.drop_table(t)
  end
  helper("a")
  op.create_index("ix", "t", { "a" }, { bogus = 1 }))~");
  CHECK_THAT(r.error, Contains("unknown option 'bogus'"));
  CHECK(r.error_line == 6);
  REQUIRE(r.plan.records.size() == 1);
  CHECK(r.plan.records[0].kind == "drop_table");
  CHECK(r.plan.records[0].line == 3);
  CHECK(r.plan.records[0].sql == std::vector<std::string>{"DROP TABLE \"a\""});
}

TEST_CASE("ops plan: SQLite batch_alter_table is one record holding its changes", "[unit][ops_plan]") {
  auto r = run("sqlite", R"~(op.batch_alter_table("a", function(b)
    b.create_index("ix", { "x" })
  end))~");
  INFO(r.error);
  REQUIRE(r.error.empty());
  REQUIRE(r.plan.records.size() == 1);
  const auto& rec = r.plan.records[0];
  CHECK(rec.kind == "batch_alter_table");
  CHECK(rec.line == 2);
  CHECK_THAT(rec.get("changes"), Contains(R"~("kind":"create_index")~") && Contains(R"~("line":3)~"));
  CHECK(rec.sql == std::vector<std::string>{"CREATE INDEX \"ix\" ON \"a\" (\"x\")"});
}

TEST_CASE("ops plan: the plan is capped per call, the rest counted", "[unit][ops_plan]") {
  auto r = run("postgresql", R"~(for i = 1, 10005 do op.execute("SELECT 1") end)~");
  REQUIRE(r.error.empty());
  CHECK(r.plan.records.size() == 10000);
  CHECK(r.plan.dropped == 5);
  CHECK(r.statements.size() == 10005);
}
