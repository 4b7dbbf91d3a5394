// op.query / op.query_one / op.query_value on every statement that returns rows (not only SELECT), statements
// caught by pcall that leave the transaction usable (per-statement savepoints, op.savepoint), and statements
// given the wrong number of bound values. Each case runs on PostgreSQL and on SQLite.
#include <catch2/catch.hpp>

#include "support/fixture.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;

namespace {
// The table most cases work on: an integer key filled by the database, a unique name.
std::string create_items(const DualFixture& f) {
  return f.sqlite()
             ? "  op.execute(\"CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, n "
               "INTEGER)\")\n"
             : "  op.execute(\"CREATE TABLE items (id serial PRIMARY KEY, name text UNIQUE, n integer)\")\n";
}

Strings names(const DualFixture& f) { return f.column("SELECT name FROM items ORDER BY id"); }

// Runs `upgrade head` and requires success.
void upgrade_ok(const DualFixture& f) { LM_OK(f, {"upgrade", "head"}); }

// A hooks file whose on_error records the failure in a table of its own (created by the hook, so that it
// survives the failed revision's rollback).
void with_on_error_hook(const DualFixture& f) {
  f.proj.write("migrations/hooks/h.lua", R"lua(
function on_error(step, err, ctx)
  op.execute("CREATE TABLE IF NOT EXISTS hook_log (entry text)")
  op.execute("INSERT INTO hook_log (entry) VALUES ($1)", step.revision .. " | " .. err.message .. " | " .. tostring(err.sql))
end
)lua");
  f.proj.write_config("url = \"" + f.db.url() + "\"\nhooks = \"hooks/h.lua\"\n");
}
}  // namespace

TEST_CASE("query: INSERT, UPDATE and DELETE ... RETURNING through op.query_value, query_one and query",
          "[query]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, create_items(f) + R"lua(
  local id = op.query_value("INSERT INTO items (name, n) VALUES ('a', 1) RETURNING id")
  assert(id == 1, "first id: " .. tostring(id))
  -- bound parameters, leading whitespace and comments of both kinds
  id = op.query_value("  \n\t-- a comment\n /* another one */ INSERT INTO items (name, n) VALUES ($1, $2) RETURNING id", "b", 2)
  assert(id == 2, "second id: " .. tostring(id))
  local row = op.query_one("UPDATE items SET name = upper(name), n = n * 10 WHERE id = $1 RETURNING id, name, n", 2)
  assert(row.id == 2 and row.name == "B" and row.n == 20, "update returning")
  local seen = {}
  for r in op.query("INSERT INTO items (name, n) VALUES ('c', 3), ('d', 4), ('e', 5) RETURNING name, n") do
    seen[#seen + 1] = r.name .. r.n
    -- other statements may run while the rows are read
    op.execute("UPDATE items SET n = n + 100 WHERE name = $1", r.name)
  end
  assert(table.concat(seen, ",") == "c3,d4,e5", table.concat(seen, ","))
  local deleted = {}
  for r in op.query("DELETE FROM items WHERE n > $1 RETURNING name", 100) do deleted[#deleted + 1] = r.name end
  table.sort(deleted)
  assert(table.concat(deleted, ",") == "c,d,e", table.concat(deleted, ","))
  -- a statement run through op.query happens even when its rows are never read
  local _ = op.query("INSERT INTO items (name, n) VALUES ('unread', 0) RETURNING id")
  op.query_one("INSERT INTO items (name, n) VALUES ('one', 0) RETURNING id")
  -- no rows: nil
  assert(op.query_value("UPDATE items SET n = 0 WHERE name = 'nobody' RETURNING id") == nil)
  assert(op.query_one("DELETE FROM items WHERE false RETURNING id") == nil)
  -- NULL and text in a RETURNING row
  assert(op.query_value("INSERT INTO items (name) VALUES ('null n') RETURNING n") == nil)
  assert(op.query_value("UPDATE items SET name = 'A' WHERE id = 1 RETURNING name") == "A")
)lua",
              "");
  upgrade_ok(f);
  CHECK(names(f) == Strings{"A", "B", "unread", "one", "null n"});
}

TEST_CASE("query: WITH, VALUES, EXPLAIN and settings statements return their rows", "[query]") {
  DUAL_FIXTURE(f);
  std::string pg_only = f.sqlite() ? R"lua(
  assert(op.query_value("PRAGMA user_version") == 0)
  assert(op.query_one("PRAGMA table_info(items)").name == "id")
)lua"
                                   : R"lua(
  op.execute("SET LOCAL lock_timeout = '4s'")
  assert(op.query_value("SHOW lock_timeout") == "4s", tostring(op.query_value("SHOW lock_timeout")))
  assert(op.query_value("  /* c */ show search_path"):find("public", 1, true))
  local plan = op.query_value("EXPLAIN (FORMAT JSON) SELECT * FROM items WHERE id = $1", 1)
  assert(plan:find("Plan", 1, true), plan)
  -- a data-modifying WITH, its rows read and its effect kept
  local n = 0
  for r in op.query("WITH moved AS (UPDATE items SET n = n + 1 RETURNING id, n) SELECT id, n FROM moved ORDER BY id") do
    n = n + 1
  end
  assert(n == 4, n)
  assert(op.query_value("WITH ins AS (INSERT INTO items (name, n) VALUES ($1, 7) RETURNING id) SELECT count(*) FROM ins", "w") == 1)
  -- locking clause and SELECT INTO: not cursor-able, run as they are
  assert(op.query_value("SELECT name FROM items WHERE id = 1 FOR UPDATE") == "x")
  assert(op.query_value("SELECT name FROM items WHERE id = 1 FOR NO KEY UPDATE SKIP LOCKED") == "x")
  op.query("SELECT id INTO TEMP copied FROM items")
  assert(op.query_value("SELECT count(*) FROM copied") >= 3)
  assert(op.query_value("TABLE items ORDER BY id LIMIT 1") == 1)
  assert(op.query_value("(SELECT name FROM items WHERE id = $1)", 2) == "y")
  assert(op.query_value("/* outer /* nested */ comment */ SELECT 5") == 5)
)lua";
  f.migration("a1", std::nullopt, create_items(f) + R"lua(
  op.execute("INSERT INTO items (name, n) VALUES ('x', 1), ('y', 2), ('z', 3)")
  local vals = {}
  for r in op.query("VALUES (1), (2), (3)") do vals[#vals + 1] = r.column1 end
  assert(table.concat(vals, ",") == "1,2,3", table.concat(vals, ","))
  assert(op.query_value("  -- leading\nVALUES ($1)", "p") == "p")
  assert(op.query_value("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5) SELECT sum(i) FROM c") == 15)
  assert(op.query_value("WITH x AS (SELECT 40 AS a) INSERT INTO items (name, n) SELECT 'with' || a, a FROM x RETURNING n") == 40)
  -- keywords inside literals, quoted names and comments do not change how a SELECT runs
  assert(op.query_value("SELECT 'insert into; delete' AS \"update\" -- for update\n") == "insert into; delete")
  local rows = 0
  for _ in op.query("EXPLAIN SELECT * FROM items WHERE n > $1", 0) do rows = rows + 1 end
  assert(rows >= 1, "explain rows")
)lua" + pg_only,
              "");
  upgrade_ok(f);
  CHECK(f.value("SELECT count(*) FROM items WHERE name = 'with40'") == "1");
}

TEST_CASE("query: RETURNING statements outside a transaction (autocommit block, transactional = false)",
          "[query]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, create_items(f) + R"lua(
  op.autocommit_block(function()
    assert(op.query_value("INSERT INTO items (name) VALUES ($1) RETURNING id", "auto") == 1)
    assert(op.query_value("SELECT name FROM items WHERE id = 1") == "auto")
  end)
)lua",
              "");
  f.migration("b2", "a1", R"lua(
  assert(op.query_value("INSERT INTO items (name) VALUES ($1) RETURNING id", "nontx") == 2)
  local n = 0
  for r in op.query("UPDATE items SET n = id RETURNING id") do n = n + 1 end
  assert(n == 2)
)lua",
              "", "transactional = false");
  upgrade_ok(f);
  CHECK(names(f) == Strings{"auto", "nontx"});
  CHECK(f.value("SELECT sum(n) FROM items") == "3");
}

TEST_CASE("query: a failing statement caught by pcall leaves the transaction usable", "[query][pcall]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, create_items(f) + R"lua(
  op.execute("INSERT INTO items (name) VALUES ('kept1')")
  -- the statement fails: its effect (none) is undone, the transaction goes on
  local ok, err = pcall(op.execute, "INSERT INTO items (name) VALUES ('kept1')")
  assert(not ok and tostring(err):lower():find("unique", 1, true), tostring(err))
  op.execute("INSERT INTO items (name) VALUES ('kept2')")
  -- a failing query, caught
  ok = pcall(op.query_value, "SELECT no_such_column FROM items")
  assert(not ok)
  assert(op.query_value("SELECT count(*) FROM items") == 2)
  -- a failing multi-row statement: none of its rows stay
  ok = pcall(op.execute, "INSERT INTO items (name) VALUES ('gone1'), ('gone2'), ('kept1')")
  assert(not ok)
  -- a failing RETURNING statement through op.query_one
  ok = pcall(op.query_one, "INSERT INTO items (name) VALUES ('kept2') RETURNING id")
  assert(not ok)
  op.execute("INSERT INTO items (name) VALUES ('kept3')")
)lua",
              "");
  upgrade_ok(f);
  CHECK(names(f) == Strings{"kept1", "kept2", "kept3"});
  CHECK(f.value("SELECT version_num FROM alembic_version") == "a1");
}

TEST_CASE("query: nested pcall, xpcall, coroutine.resume and Lua errors after a statement",
          "[query][pcall]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, create_items(f) + R"lua(
  op.execute("INSERT INTO items (name) VALUES ('dup')")
  -- nested: the inner failure is caught inside, the outer function goes on and fails later
  local ok = pcall(function()
    local inner_ok = pcall(op.execute, "INSERT INTO items (name) VALUES ('dup')")
    assert(not inner_ok)
    op.execute("INSERT INTO items (name) VALUES ('nested-ok')")
    op.execute("INSERT INTO items (name) VALUES ('dup')")   -- fails, caught by the outer pcall
  end)
  assert(not ok)
  -- xpcall with a handler and arguments
  local handled
  ok = xpcall(function(name) op.execute("INSERT INTO items (name) VALUES ($1)", name) end,
    function(e) handled = e; return "handled" end, "dup")
  assert(not ok and handled)
  -- a Lua error after a successful statement: the statement stays (as on SQLite), the transaction is usable
  ok = pcall(function()
    op.execute("INSERT INTO items (name) VALUES ('before-error')")
    error("not SQL")
  end)
  assert(not ok)
  -- coroutine.resume catches errors too
  local co = coroutine.create(function()
    op.execute("INSERT INTO items (name) VALUES ('in-coroutine')")
    coroutine.yield(1)
    op.execute("INSERT INTO items (name) VALUES ('dup')")
  end)
  assert(coroutine.resume(co))
  ok = coroutine.resume(co)
  assert(not ok)
  -- pcall of something that does not fail, then work outside any pcall
  assert(pcall(op.execute, "INSERT INTO items (name) VALUES ('plain')"))
  op.execute("INSERT INTO items (name) VALUES ('last')")
)lua",
              "");
  upgrade_ok(f);
  CHECK(names(f) == Strings{"dup", "nested-ok", "before-error", "in-coroutine", "plain", "last"});
}

TEST_CASE("query: an uncaught failure still rolls the whole revision back", "[query][pcall]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, create_items(f), "");
  LM_OK(f, {"upgrade", "a1"});
  f.migration("b2", "a1", R"lua(
  assert(not pcall(op.execute, "INSERT INTO nowhere VALUES (1)"))
  op.execute("INSERT INTO items (name) VALUES ('b2')")
  op.execute("INSERT INTO items (name) VALUES ('b2')")
)lua",
              "");
  auto r = f.lm({"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK(f.value("SELECT count(*) FROM items") == "0");
  CHECK(f.value("SELECT version_num FROM alembic_version") == "a1");
}

TEST_CASE("query: op.savepoint undoes the whole block on an error and nests", "[query][savepoint]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, create_items(f) + R"lua(
  -- success: the block's results come back, its work stays
  local a, b, c = op.savepoint(function()
    op.execute("INSERT INTO items (name) VALUES ('sp1')")
    return 1, nil, "three"
  end)
  assert(a == 1 and b == nil and c == "three")
  -- failure: all of the block is undone, the error goes on to pcall
  local ok, err = pcall(op.savepoint, function()
    op.execute("INSERT INTO items (name) VALUES ('undone1')")
    op.execute("INSERT INTO items (name) VALUES ('sp1')")
  end)
  assert(not ok and tostring(err):lower():find("unique"), tostring(err))
  -- a Lua error undoes the block's SQL too
  ok, err = pcall(op.savepoint, function()
    op.execute("INSERT INTO items (name) VALUES ('undone2')")
    error({ code = 7 })
  end)
  assert(not ok and type(err) == "table" and err.code == 7)
  -- nested: the inner block fails and is caught inside the outer one, which keeps its own work
  op.savepoint(function()
    op.execute("INSERT INTO items (name) VALUES ('outer')")
    local inner_ok = pcall(op.savepoint, function()
      op.execute("INSERT INTO items (name) VALUES ('undone3')")
      error("inner")
    end)
    assert(not inner_ok)
    op.execute("INSERT INTO items (name) VALUES ('outer2')")
  end)
  assert(not pcall(op.savepoint, "not a function"))
)lua",
              "");
  f.migration("b2", "a1", R"lua(
  local ok, err = pcall(op.savepoint, function() end)
  assert(not ok and err:find("no transaction is open", 1, true), err)
  op.transaction(function()
    assert(not pcall(op.savepoint, function()
      op.execute("INSERT INTO items (name) VALUES ('undone4')")
      op.execute("INSERT INTO nowhere VALUES (1)")
    end))
    op.execute("INSERT INTO items (name) VALUES ('in-transaction')")
  end)
)lua",
              "", "transactional = false");
  upgrade_ok(f);
  CHECK(names(f) == Strings{"sp1", "outer", "outer2", "in-transaction"});
}

TEST_CASE("query: pcall in a transactional = false revision needs no savepoint", "[query][pcall]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt,
              create_items(f) + "  op.execute(\"INSERT INTO items (name) VALUES ('x')\")\n", "");
  f.migration("b2", "a1", R"lua(
  assert(not pcall(op.execute, "INSERT INTO items (name) VALUES ('x')"))
  op.execute("INSERT INTO items (name) VALUES ('y')")
  op.autocommit_block(function()
    assert(not pcall(op.query_value, "INSERT INTO items (name) VALUES ('y') RETURNING id"))
  end)
)lua",
              "", "transactional = false");
  upgrade_ok(f);
  CHECK(names(f) == Strings{"x", "y"});
}

TEST_CASE("query: --sql scripts show op.savepoint but no per-statement savepoints", "[query][savepoint]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, create_items(f) + R"lua(
  pcall(op.execute, "INSERT INTO items (name) VALUES ('a')")
  op.savepoint(function() op.execute("INSERT INTO items (name) VALUES ('b')") end)
)lua",
              "");
  auto r = f.lm({"upgrade", "head", "--sql"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("SAVEPOINT luamig_savepoint;"));
  CHECK_THAT(r.out, Contains("RELEASE SAVEPOINT luamig_savepoint;"));
  CHECK_THAT(r.out, Contains("INSERT INTO items (name) VALUES ('a')"));
  CHECK(r.out.find("luamig_statement") == std::string::npos);
}

TEST_CASE("query: a wrong number of bound parameters is reported as such and on_error runs",
          "[query][params]") {
  DUAL_FIXTURE(f);
  struct Case {
    std::string call, takes, given;
  };
  auto c = GENERATE(values<Case>({
      {"op.execute(\"INSERT INTO items (name, n) VALUES ($1, $2)\", 'x')", "takes 2 parameters",
       "1 was given"},
      {"op.execute(\"INSERT INTO items (name) VALUES ($1)\", 'x', 'y')", "takes 1 parameter", "2 were given"},
      {"op.execute(\"INSERT INTO items (name) VALUES ($1)\")", "takes 1 parameter", "0 were given"},
      {"op.query_value(\"SELECT count(*) FROM items WHERE name = $1 AND n = $2\", 'x')", "takes 2 parameters",
       "1 was given"},
      {"op.query_value(\"INSERT INTO items (name) VALUES ($1) RETURNING id\", 'x', 'y', 'z')",
       "takes 1 parameter", "3 were given"},
      {"op.query_one(\"SELECT $1 AS v\", 1, 2)", "takes 1 parameter", "2 were given"},
  }));
  INFO(c.call);
  with_on_error_hook(f);
  f.migration(
      "a1", std::nullopt,
      create_items(f) + "  op.execute(\"INSERT INTO items (name) VALUES ('before')\")\n  " + c.call + "\n",
      "");
  auto r = f.lm({"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("wrong number of bound parameters: the statement " + c.takes + ", " + c.given));
  CHECK_THAT(r.err, Contains("INSERT INTO items") || Contains("SELECT"));
  CHECK_THAT(r.err, Contains("a1_msg.lua:"));
  CHECK_THAT(r.err, !Contains("connection to the server was lost"));
  CHECK_THAT(r.err, !Contains("connection to the database was lost"));
  // rolled back: no table, no version; the hook saw the failure
  CHECK(f.value(f.sqlite() ? "SELECT count(*) FROM sqlite_master WHERE name = 'items'"
                           : "SELECT count(*) FROM pg_class WHERE relname = 'items'") == "0");
  auto log = f.column("SELECT entry FROM hook_log");
  REQUIRE(log.size() == 1);
  CHECK_THAT(log[0], Contains("a1 | "));
  CHECK_THAT(log[0], Contains("wrong number of bound parameters"));
}

TEST_CASE("query: a parameter count error caught by pcall is recoverable", "[query][params][pcall]") {
  DUAL_FIXTURE(f);
  f.migration("a1", std::nullopt, create_items(f) + R"lua(
  local ok, err = pcall(op.execute, "INSERT INTO items (name, n) VALUES ($1, $2)", "x")
  assert(not ok and err:find("takes 2 parameters, 1 was given", 1, true), err)
  ok, err = pcall(op.query_value, "SELECT $1", 1, 2)
  assert(not ok and err:find("takes 1 parameter, 2 were given", 1, true), err)
  op.execute("INSERT INTO items (name, n) VALUES ($1, $2)", "x", 1)
)lua",
              "");
  upgrade_ok(f);
  CHECK(names(f) == Strings{"x"});
}

TEST_CASE("query: a cursor that fails on a later batch inside pcall leaves the transaction usable",
          "[query][pcall]") {
  Fixture f;
  f.migration("a1", std::nullopt, R"lua(
  op.execute("CREATE TABLE kept (n integer)")
  local n = 0
  local ok, err = pcall(function()
    -- the first batch of rows is fine; the division by zero comes with a later FETCH
    for row in op.query("SELECT 1 / (g - 4500) AS v FROM generate_series(1, 6000) g") do n = n + 1 end
  end)
  assert(not ok and tostring(err):find("division by zero", 1, true), tostring(err))
  assert(n >= 2000, n)
  op.execute("INSERT INTO kept VALUES ($1)", n)
)lua",
              "");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.value("SELECT count(*) FROM kept") == "1");
  CHECK(f.value("SELECT version_num FROM alembic_version") == "a1");
}
