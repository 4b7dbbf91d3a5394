#pragma once
// Internal to luahost/. Owning and opening a lua_State the way every evaluator does (engine, config file).
#include <lua.hpp>

#include "luahost/limits.hpp"

namespace luamig::luahost::detail {

// RAII owner of a lua_State allocated through `limits` (limited_alloc); get() is null when LuaJIT could not
// create it.
class LuaState {
 public:
  explicit LuaState(LimitState* limits);
  ~LuaState();
  LuaState(const LuaState&) = delete;
  LuaState& operator=(const LuaState&) = delete;
  lua_State* get() const { return L_; }

 private:
  lua_State* L_;
};

// Opens base, string, table, math (and os, bit when `with_os`: the sandbox trims os), one by one (never
// luaL_openlibs), and switches the JIT engine off.
void open_libraries(lua_State* L, bool with_os);
// string.dump refused, string.format and tostring without addresses, math.random seeded, the string metatable
// locked.
void harden(lua_State* L);

}  // namespace luamig::luahost::detail
