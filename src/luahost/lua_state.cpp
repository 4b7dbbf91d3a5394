// A Lua state as every luahost evaluator opens it: only allow-listed libraries (never package, io, debug,
// jit, ffi; os only where the sandbox trims it), the JIT engine off (hooks do not fire inside compiled
// traces), string.dump refused, the string metatable locked, and no addresses reachable from Lua code.
#include "luahost/lua_state.hpp"

#include <cstring>
#include <random>

#include "luahost/marshal.hpp"

namespace luamig::luahost::detail {
namespace {

// ---- no addresses -------------------------------------------------------------------------------------
// An address (tostring of a function, string.format("%p")...) is the first thing a process-level exploit
// needs: none reaches Lua code. The global tostring and string.format (in the real string table, which the
// string metatable's __index reaches) are replaced for the engine and every sandboxed file alike: a table,
// function, userdata or thread prints as its type name ("table", "function"...; op.NULL as "op.NULL"), a
// __tostring metamethod is honoured, and string.format refuses "%p" and formats such values the same way for
// "%s" and "%q".

bool shows_address(int type) {
  return type == LUA_TTABLE || type == LUA_TFUNCTION || type == LUA_TUSERDATA || type == LUA_TLIGHTUSERDATA ||
         type == LUA_TTHREAD || type > LUA_TTHREAD;  // LuaJIT's cdata is type 10
}

// Replaces the value at `idx` by its address-free name when it has no __tostring metamethod.
void replace_by_name(lua_State* L, int idx) {
  if (!shows_address(lua_type(L, idx))) return;
  if (luaL_getmetafield(L, idx, "__tostring")) {
    lua_pop(L, 1);
    return;
  }
  if (lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == &g_null_sentinel)
    lua_pushliteral(L, "op.NULL");
  else
    lua_pushstring(L, luaL_typename(L, idx));
  lua_replace(L, idx);
}

// tostring(v), upvalue 1 = LuaJIT's own tostring.
int safe_tostring(lua_State* L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  switch (lua_type(L, 1)) {  // the common cases without a second call
    case LUA_TSTRING:
      return 1;
    case LUA_TNUMBER:
      lua_tolstring(L, 1, nullptr);
      return 1;  // LuaJIT's own number formatting
    case LUA_TBOOLEAN:
      lua_pushstring(L, lua_toboolean(L, 1) ? "true" : "false");
      return 1;
    case LUA_TNIL:
      lua_pushliteral(L, "nil");
      return 1;
    default:
      break;
  }
  replace_by_name(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

// string.format(fmt, ...), upvalue 1 = LuaJIT's own string.format.
int safe_format(lua_State* L) {
  int n = lua_gettop(L);
  size_t len = 0;
  const char* fmt = luaL_checklstring(L, 1, &len);
  int arg = 1;
  for (size_t i = 0; i < len; ++i) {
    if (fmt[i] != '%') continue;
    if (++i < len && fmt[i] == '%') continue;
    while (i < len && std::strchr("-+ #0123456789.", fmt[i]) && fmt[i] != 0) ++i;
    if (i >= len) break;
    ++arg;
    if (fmt[i] == 'p')
      return luaL_argerror(L, arg, "%p is not available in migrations: it reveals addresses");
    if ((fmt[i] == 's' || fmt[i] == 'q') && arg <= n) replace_by_name(L, arg);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, 1);
  return 1;
}

int refuse_string_dump(lua_State* L) { return luaL_error(L, "string.dump is not available in migrations"); }

void open_library(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

}  // namespace

LuaState::LuaState(LimitState* limits) : L_(lua_newstate(limited_alloc, limits)) {}

LuaState::~LuaState() {
  if (L_) lua_close(L_);
}

void open_libraries(lua_State* L, bool with_os) {
  open_library(L, luaopen_base, "");
  open_library(L, luaopen_string, LUA_STRLIBNAME);
  open_library(L, luaopen_table, LUA_TABLIBNAME);
  open_library(L, luaopen_math, LUA_MATHLIBNAME);
  if (with_os) {
    open_library(L, luaopen_os, LUA_OSLIBNAME);
    open_library(L, luaopen_bit, LUA_BITLIBNAME);
  }
  // Hooks never fire inside compiled traces: the time limit needs the interpreter.
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
}

void harden(lua_State* L) {
  // string.dump would turn functions into bytecode: it is replaced by a refusal (reachable as ("").dump too);
  // the string metatable must not be reachable.
  lua_getglobal(L, "string");
  lua_pushcfunction(L, refuse_string_dump);
  lua_setfield(L, -2, "dump");
  lua_getfield(L, -1, "format");
  lua_pushcclosure(L, safe_format, 1);
  lua_setfield(L, -2, "format");
  lua_pop(L, 1);
  lua_getglobal(L, "tostring");
  lua_pushcclosure(L, safe_tostring, 1);
  lua_setglobal(L, "tostring");
  // math.random: a different sequence on every run (the sandbox reseeds it per file from this).
  {
    std::random_device rd;
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushnumber(L, static_cast<lua_Number>(rd() & 0x7fffffff));
    lua_call(L, 1, 0);
    lua_pop(L, 1);
  }
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);
}

}  // namespace luamig::luahost::detail
