// SQLite hardening: plain SQL from a migration (op.execute, op.query, op.query_one, op.query_value) cannot
// reach files (ATTACH, VACUUM INTO), load code (load_extension), register or reveal raw pointers
// (fts3_tokenizer), use pragmas that touch directories, memory or the schema's integrity, or end the
// revision's transaction. Each refusal fails the revision with a message naming what was refused, the
// revision and the statement, and leaves the database exactly at the previous revision.

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/cli.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

namespace lt = luamig::test;
using luamig::test::RunResult;
using luamig::test::TempProject;

namespace {

struct Attack {
  std::string lua;       // the body of the second revision
  std::string expected;  // text the error must contain (what was refused)
  bool transactional = true;
  // SQLite may refuse first, with its own message ("unsafe use of fts3_tokenizer()" from a view).
  bool own_message = true;
};

// Runs a base revision (a table with one row), then `attack` as the next revision; checks that it failed
// cleanly.
void expect_refused(const Attack& attack, const std::string& file_that_must_not_exist = "") {
  TempProject proj;
  const lt::SqliteFile app(proj.path("app.db"));
  proj.write_config("url = \"sqlite:///app.db\"");
  proj.write_migration(
      "a1a1a1a1", std::nullopt,
      "  op.create_table(\"t\", { \"id\", \"integer\", primary_key = true }, { \"v\", \"text\" })\n"
      "  op.execute(\"INSERT INTO t (id, v) VALUES (1, 'one')\")",
      "  op.drop_table(\"t\")");
  std::string body = attack.lua;
  proj.write_migration("b2b2b2b2", std::string("a1a1a1a1"),
                       "  op.execute(\"INSERT INTO t (id, v) VALUES (2, 'two')\")\n" + body, "");
  if (!attack.transactional) {
    std::string path = "migrations/versions/b2b2b2b2_msg.lua";
    proj.write(path, "transactional = false\n" + proj.read(path));
  }
  RunResult r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
  INFO(attack.lua);
  INFO(r);
  CHECK(r.status == 1);
  if (attack.own_message) CHECK(r.err.find("refused on SQLite") != std::string::npos);
  CHECK(r.err.find(attack.expected) != std::string::npos);
  CHECK(r.err.find("b2b2b2b2") != std::string::npos);
  CHECK(r.err.find("SQL: ") != std::string::npos);
  CHECK(app.rows("SELECT version_num FROM alembic_version") == std::vector<std::string>{"a1a1a1a1"});
  // An autocommit block commits the work before it, by design; the rest of the revision is rolled back.
  if (attack.transactional && attack.lua.find("autocommit_block") == std::string::npos)
    CHECK(app.rows("SELECT id, v FROM t") == std::vector<std::string>{"1|one"});
  if (!file_that_must_not_exist.empty())
    CHECK_FALSE(std::filesystem::exists(proj.path() / file_that_must_not_exist));
}

}  // namespace

TEST_CASE(
    "sqlite hardening: fts3_tokenizer is refused with one and two arguments, through every query function",
    "[sqlite]") {
  const std::vector<std::string> calls = {
      "op.query_value(\"SELECT fts3_tokenizer('simple')\")",
      "op.query_one(\"select FTS3_TOKENIZER('porter') AS p\")",
      "for r in op.query(\"SELECT Fts3_Tokenizer('simple') AS p\") do end",
      "op.execute(\"SELECT fts3_tokenizer('evil', x'4141414141414141')\")",
      "op.execute(\"SELECT fts3_tokenizer($1, x'0000000000000000')\", \"simple\")",
      "op.query_value(\"SELECT fts3_tokenizer('simple', (SELECT fts3_tokenizer('porter')))\")",
      "op.execute(\"CREATE VIEW leak AS SELECT fts3_tokenizer('simple') AS p\")\n  op.query_value(\"SELECT p "
      "FROM leak\")",
      "op.execute(\"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT fts3_tokenizer('x', x'00'); END\")\n"
      "  op.execute(\"INSERT INTO t (id) VALUES (3)\")",
  };
  for (const auto& call : calls) {
    DYNAMIC_SECTION(call) {
      expect_refused({"  " + call, "fts3_tokenizer()", true, call.find("VIEW") == std::string::npos});
    }
  }
}

TEST_CASE("sqlite hardening: ATTACH is refused whatever the path, quoting or spelling", "[sqlite]") {
  const std::vector<std::string> statements = {
      "ATTACH DATABASE 'other.db' AS other",
      "attach 'other.db' as other",
      "Attach Database \"other.db\" AS \"other\"",
      "ATTACH 'file:other.db?mode=rwc' AS [o]",
      "ATTACH ':memory:' AS m",
      "ATTACH '' AS tmp",
      "ATTACH ('oth' || 'er.db') AS other",
      "/* c */ ATTACH -- c\n 'other.db' AS other",
  };
  for (const auto& sql : statements) {
    DYNAMIC_SECTION(sql) {
      expect_refused({"  op.execute(" + lt::lua_string(sql) + ")", "ATTACH"}, "other.db");
    }
  }
  SECTION("with the path as a bound parameter") {
    expect_refused({"  op.execute(\"ATTACH $1 AS other\", \"other.db\")", "ATTACH"}, "other.db");
  }
  SECTION("through op.query") {
    expect_refused({"  for r in op.query(\"ATTACH 'other.db' AS other\") do end", "ATTACH"}, "other.db");
  }
  SECTION("DETACH") { expect_refused({"  op.execute(\"DETACH DATABASE temp\")", "DETACH"}); }
}

TEST_CASE("sqlite hardening: VACUUM INTO is refused, inside and outside a transaction", "[sqlite]") {
  const std::vector<std::string> statements = {
      "VACUUM INTO 'copy.db'",
      "vacuum main into 'copy.db'",
      "VACUUM INTO 'file:copy.db?mode=rwc'",
  };
  for (const auto& sql : statements) {
    DYNAMIC_SECTION("autocommit block: " << sql) {
      expect_refused(
          {"  op.autocommit_block(function() op.execute(" + lt::lua_string(sql) + ") end)", "VACUUM INTO"},
          "copy.db");
    }
    DYNAMIC_SECTION("transactional = false: " << sql) {
      expect_refused({"  op.execute(" + lt::lua_string(sql) + ")", "VACUUM INTO", false}, "copy.db");
    }
  }
  SECTION("with the path as a bound parameter") {
    expect_refused({"  op.execute(\"VACUUM INTO $1\", \"copy.db\")", "VACUUM INTO", false}, "copy.db");
  }
  SECTION("a plain VACUUM attaches a temporary database and is refused too") {
    expect_refused({"  op.execute(\"VACUUM\")", "VACUUM", false});
  }
}

TEST_CASE("sqlite hardening: load_extension is refused", "[sqlite]") {
  const std::vector<std::string> calls = {
      "op.query_value(\"SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0')\")",
      "op.execute(\"SELECT LOAD_EXTENSION('libc.so.6', 'system')\")",
      "op.query_one(\"select Load_Extension($1)\", \"x\")",
  };
  for (const auto& call : calls) {
    DYNAMIC_SECTION(call) { expect_refused({"  " + call, "load_extension()"}); }
  }
}

TEST_CASE("sqlite hardening: pragmas that touch files, memory or the schema's integrity are refused",
          "[sqlite]") {
  struct Case {
    std::string sql, expected;
  };
  const std::vector<Case> cases = {
      {"PRAGMA writable_schema = ON", "writable_schema"},
      {"pragma main.WRITABLE_SCHEMA=1", "writable_schema"},
      {"PRAGMA \"writable_schema\" = 1", "writable_schema"},
      {"PRAGMA writable_schema", "writable_schema"},
      {"PRAGMA temp_store_directory = '/tmp'", "temp_store_directory"},
      {"PRAGMA Temp_Store_Directory('/tmp')", "temp_store_directory"},
      {"PRAGMA data_store_directory = '/tmp'", "data_store_directory"},
      {"PRAGMA mmap_size = 268435456", "mmap_size"},
      {"PRAGMA main.mmap_size(1)", "mmap_size"},
      {"PRAGMA cache_size = -100000000", "cache_size"},
      {"PRAGMA journal_mode = OFF", "journal_mode"},
      {"PRAGMA schema_version = 99", "schema_version"},
      {"PRAGMA trusted_schema = ON", "trusted_schema"},
      {"PRAGMA hard_heap_limit = 0", "hard_heap_limit"},
      {"PRAGMA soft_heap_limit = 1", "soft_heap_limit"},
      {"PRAGMA locking_mode = EXCLUSIVE", "locking_mode"},
      {"PRAGMA busy_timeout = 0", "busy_timeout"},
      {"PRAGMA no_such_pragma = 1", "no_such_pragma"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION("op.execute " << c.sql) {
      expect_refused({"  op.execute(" + lt::lua_string(c.sql) + ")", c.expected});
    }
  }
  SECTION("through op.query_value") {
    expect_refused({"  op.query_value(\"PRAGMA writable_schema = 1\")", "writable_schema"});
  }
}

TEST_CASE("sqlite hardening: a migration cannot end the revision's transaction", "[sqlite]") {
  for (const std::string sql :
       {"COMMIT", "end transaction", "ROLLBACK", "BEGIN", "INSERT INTO t VALUES (5, 'x')\n  COMMIT"}) {
    std::string lua = sql.find('\n') == std::string::npos
                          ? "  op.execute(" + lt::lua_string(sql) + ")"
                          : "  op.execute(\"INSERT INTO t VALUES (5, 'x'); COMMIT\")";
    DYNAMIC_SECTION(sql) { expect_refused({lua, "op.transaction"}); }
  }
}

TEST_CASE("sqlite hardening: what migrations legitimately use still works", "[sqlite]") {
  TempProject proj;
  const lt::SqliteFile app(proj.path("app.db"));
  proj.write_config("url = \"sqlite:///app.db\"");
  proj.write_migration("a1a1a1a1", std::nullopt,
                       R"LUA(  op.create_table("p", { "id", "integer", primary_key = true })
  op.create_table("c", { "id", "integer", primary_key = true }, { "p_id", "integer", references = "p(id)" })
  op.execute("PRAGMA defer_foreign_keys = ON")
  op.execute("pragma legacy_alter_table = off")
  op.execute("PRAGMA user_version = 7")
  assert(op.query_value("PRAGMA foreign_keys") ~= nil)
  assert(op.query_value("PRAGMA cache_size") ~= nil)
  assert(op.query_value("PRAGMA journal_mode") ~= nil)
  assert(op.query_value("PRAGMA mmap_size") ~= nil)
  local n = 0
  for r in op.query("PRAGMA table_info(c)") do n = n + 1 end
  assert(n == 2, n)
  for r in op.query("PRAGMA foreign_key_list('c')") do assert(r.table == "p") end
  for r in op.query("PRAGMA foreign_key_check") do error("unexpected violation") end
  assert(op.query_value("SELECT count(*) FROM pragma_table_info('c')") == 2)
  assert(op.query_value("SELECT count(*) FROM pragma_index_list('c')") == 0)
  assert(op.query_value("PRAGMA integrity_check") == "ok")
  op.execute("SAVEPOINT sp1")
  op.execute("INSERT INTO p (id) VALUES (1)")
  op.execute("ROLLBACK TO sp1")
  op.execute("RELEASE sp1")
  assert(op.query_value("SELECT count(*) FROM p") == 0)
  op.execute("CREATE VIRTUAL TABLE docs USING fts5(body)")
  op.execute("INSERT INTO docs (body) VALUES ('hello world')")
  assert(op.query_value("SELECT count(*) FROM docs WHERE docs MATCH 'hello'") == 1)
  op.execute("CREATE VIRTUAL TABLE docs3 USING fts4(body, tokenize=porter)")
  op.alter_column("c", "p_id", { nullable = false })
  op.batch_alter_table("c", function(b) b.alter_column("p_id", { new_name = "parent_id" }) end))LUA",
                       "");
  proj.write_migration("b2b2b2b2", std::string("a1a1a1a1"), "  op.execute(\"INSERT INTO p (id) VALUES (1)\")",
                       "  op.execute(\"DELETE FROM p\")");
  proj.write("migrations/versions/b2b2b2b2_msg.lua",
             "transactional = false\n" + proj.read("migrations/versions/b2b2b2b2_msg.lua"));
  RunResult r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(app.rows("SELECT version_num FROM alembic_version") == std::vector<std::string>{"b2b2b2b2"});
  CHECK(app.rows("PRAGMA user_version") == std::vector<std::string>{"7"});
  r = lt::cli({"downgrade", "a1a1a1a1"}, lt::in_project(proj));
  INFO(r);
  CHECK(r.status == 0);
  CHECK(app.rows("SELECT count(*) FROM p") == std::vector<std::string>{"0"});
}
