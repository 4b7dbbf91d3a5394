// The contracts the Lua host and the database registry promise, without a server: one registry entry per
// database (URL schemes, dialect, renderer), booleans and arrays as parameters chosen by the database rather
// than by name, the inline-parameter scanner following the dialect's lexical rules, Script as a move-only
// handle, and per-file isolation of the sandbox built from shared templates.
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <type_traits>

#include "config/url.hpp"
#include "db/registry.hpp"
#include "dialect/dialect.hpp"
#include "dialect/inline_params.hpp"
#include "dialect/postgresql.hpp"
#include "dialect/sqlite.hpp"
#include "luahost/embedded.hpp"
#include "luahost/engine.hpp"
#include "support/engine.hpp"
#include "util/error.hpp"

using namespace luamig;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

TEST_CASE("registry: every database names its schemes, dialect and renderer", "[unit][registry]") {
  REQUIRE(!db::databases().empty());
  CHECK(db::default_database().name == "postgresql");
  for (const auto& d : db::databases()) {
    INFO(d.name);
    CHECK(d.make_dialect()->name() == d.name);
    CHECK(&db::database(d.name) == &d);
    CHECK(luamig::embedded::find("lua/dialect/" + std::string(d.renderer) + ".lua") != nullptr);
    REQUIRE(!d.schemes.empty());
    for (auto scheme : d.schemes) CHECK(db::database_for_scheme(scheme) == &d);
    CHECK(d.parse_url != nullptr);
    CHECK(d.connect != nullptr);
    CHECK(d.describe != nullptr);
  }
  CHECK(db::database_for_scheme("mysql") == nullptr);
  CHECK_THROWS_AS(db::database("mysql"), std::logic_error);
}

TEST_CASE("registry: URLs are parsed by their database's entry", "[unit][registry]") {
  CHECK(config::parse_url("postgresql://u@h:5433/app").dialect == "postgresql");
  CHECK(config::parse_url("postgres://u@h/app").dialect == "postgresql");
  CHECK(config::parse_url("postgresql+psycopg2://u@h/app").dialect == "postgresql");
  CHECK(config::parse_url("host=h dbname=app").dialect == "postgresql");
  auto lite = config::parse_url("sqlite:///app.db");
  CHECK(lite.dialect == "sqlite");
  CHECK(lite.path == "app.db");
  CHECK(lite.describe() == "SQLite database app.db");
  CHECK_THAT(config::parse_url("postgresql://u@dbhost:6000/app").describe(),
             Contains("host dbhost, port 6000, database app, user u"));
  try {
    config::parse_url("mysql://u:secret@h/app");
    FAIL("an unknown scheme was accepted");
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    CHECK_THAT(
        msg,
        Contains("unknown scheme 'mysql' (use postgresql://..., postgresql+DRIVER://... or sqlite:///...)"));
    CHECK_THAT(msg, !Contains("secret"));
  }
}

TEST_CASE("inline parameters follow the dialect's lexical rules", "[unit][registry]") {
  dialect::PostgreSQL pg;
  dialect::SQLite lite;
  std::vector<Param> one{std::string("x")};
  // PostgreSQL: block comments nest, so the second $1 is still inside the comment.
  CHECK(dialect::inline_params(pg, "SELECT $1 /* a /* b */ $1 */", one).text ==
        "SELECT 'x' /* a /* b */ $1 */");
  // SQLite: a block comment ends at the first */.
  CHECK(dialect::inline_params(lite, "SELECT $1 /* a /* b */ $1", one).text == "SELECT 'x' /* a /* b */ 'x'");
  // PostgreSQL: $tag$ bodies are quoted text; SQLite has no dollar quotes.
  CHECK(dialect::inline_params(pg, "SELECT $q$ $1 $q$, $1", one).text == "SELECT $q$ $1 $q$, 'x'");
  CHECK(dialect::inline_params(lite, "SELECT $q$, $1", one).text == "SELECT $q$, 'x'");
  // PostgreSQL: E'' takes backslash escapes (the quote after \ does not end it); SQLite has no E'' strings.
  CHECK(dialect::inline_params(pg, R"(SELECT E'\' $1', $1)", one).text == R"(SELECT E'\' $1', 'x')");
  CHECK(dialect::inline_params(lite, R"(SELECT E'\', $1)", one).text == R"(SELECT E'\', 'x')");
}

TEST_CASE("array literals come from the dialect", "[unit][registry]") {
  dialect::PostgreSQL pg;
  dialect::SQLite lite;
  std::vector<std::optional<std::string>> values{std::string("a"), std::nullopt, std::string(R"(b"c\d)")};
  CHECK(pg.array_literal(values) == R"({"a",NULL,"b\"c\\d"})");
  CHECK(pg.array_literal({}) == "{}");
  CHECK_THROWS_AS(lite.array_literal(values), RunError);
}

TEST_CASE("booleans as parameters use the renderer's declared encoding", "[unit][registry]") {
  for (const auto& [name, t, f] :
       {std::tuple{"postgresql", "true", "false"}, std::tuple{"sqlite", "1", "0"}}) {
    INFO(name);
    test::FakeServices services;
    luahost::Engine engine(&services, test::context_for(name), test::limits(5000ms));
    test::call_upgrade(engine, "b.lua", "op.execute('SELECT $1, $2', true, false)", "r");
    REQUIRE(services.params.size() == 1);
    REQUIRE(services.params[0].size() == 2);
    CHECK(services.params[0][0] == std::optional<std::string>(t));
    CHECK(services.params[0][1] == std::optional<std::string>(f));
  }
}

TEST_CASE("Script is a move-only handle on a loaded file", "[unit][luahost]") {
  STATIC_REQUIRE(!std::is_copy_constructible_v<luahost::Script>);
  STATIC_REQUIRE(!std::is_copy_assignable_v<luahost::Script>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<luahost::Script>);
  test::FakeServices services;
  luahost::Engine engine(&services, test::context_for("postgresql"), test::limits(5000ms));
  auto first = engine.load("m.lua", "x = 42\nfunction upgrade() op.execute('SELECT 1') end\n");
  luahost::Script moved = std::move(first);
  CHECK(moved.has_function("upgrade"));
  CHECK(moved.global("x").num() == 42);
  CHECK_THROWS_AS(first.has_function("upgrade"), RunError);  // NOLINT(bugprone-use-after-move)
  engine.call(moved, "upgrade", {});
  CHECK(services.params.size() == 1);
  engine.unload(moved);
  CHECK_THROWS_AS(moved.global("x"), RunError);
  {
    // A handle dropped without unload() releases its environment; the engine goes on.
    auto dropped = engine.load("d.lua", "function upgrade() end\n");
  }
  test::call_upgrade(engine, "n.lua", "op.execute('SELECT 2')", "r");
  CHECK(services.params.size() == 2);
}

TEST_CASE("sandbox templates: each file still gets its own libraries and globals", "[unit][luahost]") {
  test::FakeServices services;
  luahost::Engine engine(&services, test::context_for("postgresql"), test::limits(5000ms));
  test::call_upgrade(
      engine, "a.lua",
      "string.mine = 1; table.mine = 1; math.mine = 1; bit.mine = 1; coroutine.mine = 1; os.mine = 1\n"
      "mine = 1; math.floor = nil",
      "r");
  test::call_upgrade(
      engine, "b.lua",
      "assert(string.mine == nil and table.mine == nil and math.mine == nil and bit.mine == nil)\n"
      "assert(coroutine.mine == nil and rawget(os, 'mine') == nil and mine == nil)\n"
      "assert(math.floor(1.5) == 1 and _G.mine == nil)\n",
      "r");
  // Shared engine values stay read-only for every file.
  for (const char* body : {"op.x = 1", "log.x = 1", "rawset(op, 'x', 1)", "table.insert(log, 1)", "io.x = 1",
                           "setmetatable(op, {})"}) {
    INFO(body);
    bool failed = false;
    try {
      test::call_upgrade(engine, "c.lua", body, "r");
    } catch (const luahost::ScriptError&) {
      failed = true;
    }
    CHECK(failed);
  }
  // Each file's context names the file.
  test::call_upgrade(engine, "d.lua", "assert(context.file == 'd.lua', context.file)", "r");
}
