// A bare LuaJIT state, for unit tests of the engine's embedded Lua modules on their own: the standard
// libraries, no sandbox, no limits, no engine (for the engine itself, see engine.hpp).
//
//   BareLua lua;                                          // luaL_newstate + luaL_openlibs; closed with the
//   object std::string src = embedded_source("lua/op.lua");      // the embedded file; fails the test when it
//   is missing auto r = lua.call(code, "=test", [&](lua_State* L) {  // loads `code` as chunk "=test", calls
//   it with the
//     lua_pushlstring(L, src.data(), src.size());         // values the callback pushes (it returns how many)
//     return 1;
//   });
//   r.ok, r.value                                         // tostring(first result), or the error message
//   lua.call(src, "=lua/sqlite_ddl.lua", {}, "ddl");      // the first result stored as the global `ddl`
#pragma once

#include <catch2/catch.hpp>
#include <functional>
#include <lua.hpp>
#include <string>

#include "luahost/embedded.hpp"

namespace luamig::test {

// The embedded source of `path` (lua/..., stdlib/...); REQUIREs that it is embedded.
inline std::string embedded_source(const std::string& path) {
  const auto* f = luamig::embedded::find(path);
  INFO(path);
  REQUIRE(f != nullptr);
  return std::string(f->content);
}

class BareLua {
 public:
  BareLua() : L(luaL_newstate()) {
    REQUIRE(L != nullptr);
    luaL_openlibs(L);
  }
  ~BareLua() { lua_close(L); }
  BareLua(const BareLua&) = delete;
  BareLua& operator=(const BareLua&) = delete;

  struct Result {
    bool ok = false;
    std::string value;  // tostring of the first result ("" when it has none), or the error message
  };

  // Loads `code` as chunk `chunk` and calls it (protected) with the values `push_args` pushes (it returns
  // their number); on success, the first result is also stored as the global `as_global` when that is given.
  // The stack is left as it was.
  Result call(const std::string& code, const std::string& chunk = "=test",
              const std::function<int(lua_State*)>& push_args = {}, const std::string& as_global = "") {
    int top = lua_gettop(L);
    Result r;
    if (luaL_loadbuffer(L, code.data(), code.size(), chunk.c_str()) == 0) {
      int nargs = push_args ? push_args(L) : 0;
      r.ok = lua_pcall(L, nargs, 1, 0) == 0;
    }
    size_t size = 0;
    const char* text = lua_tolstring(L, -1, &size);
    r.value = text ? std::string(text, size) : "";
    if (r.ok && !as_global.empty()) {
      lua_pushvalue(L, -1);
      lua_setglobal(L, as_global.c_str());
    }
    lua_settop(L, top);
    return r;
  }

  lua_State* const L;
};

}  // namespace luamig::test
