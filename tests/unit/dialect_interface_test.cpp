// The renderer interface (lua/dialect/interface.lua) checked on its own, in a bare LuaJIT state with the
// embedded engine Lua: both shipped renderers declare every capability and a renderer per kind, and an
// incomplete renderer fails loudly, naming everything it lacks.
#include <catch2/catch.hpp>
#include <lua.hpp>
#include <string>

#include "luahost/embedded.hpp"
#include "support/lua_state.hpp"

using Catch::Matchers::Contains;

namespace {

// host.engine_module(name, ...) for the bare state: runs the embedded lua/<name>.lua with the arguments.
int engine_module(lua_State* L) {
  std::string name = luaL_checkstring(L, 1);
  const auto* f = luamig::embedded::find("lua/" + name + ".lua");
  if (!f) return luaL_error(L, "no lua/%s.lua", name.c_str());
  if (luaL_loadbuffer(L, f->content.data(), f->content.size(), name.c_str()) != 0) return lua_error(L);
  int nargs = lua_gettop(L) - 2;
  lua_insert(L, 2);
  lua_call(L, nargs, 1);
  return 1;
}

// A bare state with the bridge above as host.engine_module.
struct State : luamig::test::BareLua {
  State() {
    lua_newtable(L);
    lua_pushcfunction(L, engine_module);
    lua_setfield(L, -2, "engine_module");
    lua_setglobal(L, "host");
  }
  // Runs `code` as luaL_dostring does (the code is its own chunk name); returns "" or the error message.
  std::string run(const std::string& code) {
    auto r = call(code, code);
    return r.ok ? "" : r.value;
  }
};

const char* kSetup = R"~(
  I = host.engine_module("dialect/interface")
  values = host.engine_module("values", host)
)~";

}  // namespace

TEST_CASE("dialect interface: the shipped renderers declare every capability and kind", "[unit][ops_plan]") {
  State s;
  REQUIRE(s.run(kSetup).empty());
  for (const char* name : {"postgresql", "sqlite"}) {
    INFO(name);
    CHECK(s.run(std::string("D = I.check(host.engine_module('dialect/") + name + "', host, values), '" +
                name + "') assert(D.name == '" + name + "')") == "");
  }
  // What the capabilities say, per database.
  CHECK(s.run(R"~(
    local pg = host.engine_module("dialect/postgresql", host, values)
    local lite = host.engine_module("dialect/sqlite", host, values)
    assert(pg.caps.default_in_values == true and lite.caps.default_in_values == false)
    assert(pg.caps.max_params == 65535 and lite.caps.max_params == 32766)
    assert(pg.caps.rebuild == false and lite.caps.rebuild == true)
    assert(pg.caps.copy == true and lite.caps.copy == false)
    assert(pg.caps.bool_encoding[true] == "true" and lite.caps.bool_encoding[true] == "1")
    assert(pg.literal("a\\b") == "E'a\\\\b'" and lite.literal("a\\b") == "'a\\b'")
  )~") == "");
}

TEST_CASE("dialect interface: an incomplete renderer fails loudly, naming what it lacks",
          "[unit][ops_plan]") {
  State s;
  REQUIRE(s.run(kSetup).empty());
  // A copy of the PostgreSQL renderer with one capability, one renderer and one function removed, and one
  // unknown capability added.
  std::string err = s.run(R"~(
    local D = host.engine_module("dialect/postgresql", host, values)
    D.caps.copy = nil
    D.caps.fancy = true
    D.render.drop_index = nil
    D.literal = nil
    I.check(D, "lua/dialect/broken.lua")
  )~");
  CHECK_THAT(err, Contains("dialect renderer lua/dialect/broken.lua is incomplete"));
  CHECK_THAT(err, Contains("caps.copy (a boolean)"));
  CHECK_THAT(err, Contains("caps.fancy is not a known capability"));
  CHECK_THAT(err, Contains("render.drop_index"));
  CHECK_THAT(err, Contains("literal (a function)"));
  CHECK_THAT(s.run("I.check({}, 'x')"), Contains("caps (a table)") &&
                                            Contains("render (a table of renderers)") &&
                                            Contains("name (a string)"));
  // A capability of the wrong type is named with the type it must have.
  CHECK_THAT(s.run(R"~(
    local D = host.engine_module("dialect/sqlite", host, values)
    D.caps.max_params = "many"
    I.check(D, "s")
  )~"),
             Contains("caps.max_params (a number)"));
}

TEST_CASE("dialect interface: caps.catalog declares each catalog query as SQL text or false",
          "[unit][ops_plan]") {
  State s;
  REQUIRE(s.run(kSetup).empty());
  // PostgreSQL declares all three (luamig.backfill's key check, casts and estimate); SQLite none, and names
  // its VALUES columns differently.
  CHECK(s.run(R"~(
    local pg = host.engine_module("dialect/postgresql", host, values)
    local lite = host.engine_module("dialect/sqlite", host, values)
    for q in pairs(I.CATALOG_QUERIES) do
      assert(type(pg.caps.catalog[q]) == "string", q)
      assert(lite.caps.catalog[q] == false, q)
    end
    assert(pg.caps.catalog.unique_key:find("$2", 1, true) and pg.caps.catalog.column_types:find("AS name", 1, true))
    assert(pg.caps.values_aliases == true and lite.caps.values_aliases == false)
  )~") == "");
  std::string err = s.run(R"~(
    local D = host.engine_module("dialect/postgresql", host, values)
    D.caps.catalog = { unique_key = 42, column_types = false, extra = "SELECT 1" }
    I.check(D, "lua/dialect/broken.lua")
  )~");
  CHECK_THAT(err, Contains("caps.catalog.unique_key (SQL text or false)"));
  CHECK_THAT(err, Contains("caps.catalog.row_estimate (SQL text or false)"));
  CHECK_THAT(err, Contains("caps.catalog.extra is not a known catalog query"));
  CHECK_THAT(err, !Contains("caps.catalog.column_types"));
  CHECK_THAT(s.run(R"~(
    local D = host.engine_module("dialect/sqlite", host, values)
    D.caps.catalog = nil
    D.caps.values_aliases = nil
    I.check(D, "s")
  )~"),
             Contains("caps.catalog (a table)") && Contains("caps.values_aliases (a boolean)"));
}
