// The host table's utilities: clock, progress, stderr_is_tty, call_context, compile, module_source,
// engine_module, raw_getmetatable, where. None touches the database.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <lua.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "luahost/embedded.hpp"
#include "luahost/host.hpp"
#include "luahost/module_file.hpp"
#include "luahost/runtime.hpp"
#include "util/output.hpp"

namespace luamig::luahost::detail {
namespace {

// host.clock() -> seconds on a monotonic clock (os.clock is CPU time, os.time whole seconds).
int host_clock(lua_State* L) {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  lua_pushnumber(L, std::chrono::duration<double>(now).count());
  return 1;
}

int host_stderr_is_tty(lua_State* L) {
  lua_pushboolean(L, out::stderr_is_terminal());
  return 1;
}

// host.progress(text, transient): a progress line on stderr; transient lines rewrite the terminal line.
// host.progress(nil) ends a run of transient lines.
int host_progress(lua_State* L) {
  if (lua_isnoneornil(L, 1)) {
    out::progress_end();
    return 0;
  }
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  out::progress(std::string_view(s, len), lua_toboolean(L, 2) != 0);
  return 0;
}

// host.call_context() -> { revision = ..., direction = ... } of the running upgrade()/downgrade().
int host_call_context(lua_State* L) {
  Runtime* rt = runtime_of(L);
  lua_createtable(L, 0, static_cast<int>(rt->call_context.size()));
  for (const auto& [k, v] : rt->call_context) {
    lua_pushlstring(L, v.data(), v.size());
    lua_setfield(L, -2, k.c_str());
  }
  return 1;
}

// host.compile(source, chunkname) -> function | nil, message. Text only: bytecode is refused.
int host_compile(lua_State* L) {
  size_t len;
  const char* src = luaL_checklstring(L, 1, &len);
  const char* name = luaL_checkstring(L, 2);
  if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s is precompiled bytecode; migrations load only Lua source",
                    name + (name[0] == '@'));
    return 2;
  }
  if (luaL_loadbufferx(L, src, len, name, "t") != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  return 1;
}

// host.module_source(name) -> source, chunkname | nil. Looks in the embedded stdlib, then
// <script_location>/lib.
int host_module_source(lua_State* L) {
  std::string name = luaL_checkstring(L, 1);
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return 0;
  if (name.find("..") != std::string::npos || name.empty() || name.front() == '.') return 0;
  std::string rel = name;
  for (auto& c : rel)
    if (c == '.') c = '/';
  if (const auto* f = embedded::find("stdlib/" + rel + ".lua")) {
    lua_pushlstring(L, f->content.data(), f->content.size());
    lua_pushstring(L, ("=stdlib/" + rel + ".lua").c_str());
    return 2;
  }
  Runtime* rt = runtime_of(L);
  if (rt->project_lib_dir.empty()) return 0;
  std::string path = rt->project_lib_dir + "/" + rel + ".lua";
  size_t max_bytes = rt->alloc.limit ? std::min(kMaxModuleBytes, rt->alloc.limit) : kMaxModuleBytes;
  std::optional<std::string> content;
  char err[1024] = {0};
  try {
    content = read_module_file(rt->project_lib_dir, rel + ".lua", name, max_bytes);
  } catch (const std::exception& e) {
    std::snprintf(err, sizeof err, "%s", e.what());
  }
  if (err[0]) {
    content.reset();
    path.clear();
    name.clear();
    lua_pushstring(L, err);
    return lua_error(L);
  }
  if (!content) return 0;
  lua_pushlstring(L, content->data(), content->size());
  lua_pushstring(L, ("@" + path).c_str());
  return 2;
}

// host.where() -> file, line of the innermost user file (a migration, hooks file or project lib module: chunk
// names starting with '@') on the stack; nothing when there is none. For the plan's records (lua/op.lua).
int host_where(lua_State* L) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    if (!lua_getinfo(L, "Sl", &ar) || !ar.source || ar.source[0] != '@' || ar.currentline <= 0) continue;
    lua_pushstring(L, ar.source + 1);
    lua_pushinteger(L, ar.currentline);
    return 2;
  }
  return 0;
}

// host.raw_getmetatable(v): the metatable itself, even when __metatable hides it (for the sandbox's
// getmetatable).
int host_raw_getmetatable(lua_State* L) {
  luaL_checkany(L, 1);
  if (!lua_getmetatable(L, 1)) lua_pushnil(L);
  return 1;
}

const luaL_Reg kUtilityFunctions[] = {
    {"compile", host_compile},
    {"module_source", host_module_source},
    {"engine_module", host_engine_module},
    {"clock", host_clock},
    {"stderr_is_tty", host_stderr_is_tty},
    {"progress", host_progress},
    {"call_context", host_call_context},
    {"raw_getmetatable", host_raw_getmetatable},
    {"where", host_where},
    {nullptr, nullptr},
};

}  // namespace

// host.engine_module(name): runs lua/<name>.lua (trusted engine code, with the real globals) and returns its
// result.
int host_engine_module(lua_State* L) {
  std::string name = luaL_checkstring(L, 1);
  const auto* f = embedded::find("lua/" + name + ".lua");
  if (!f) return luaL_error(L, "engine module lua/%s.lua is missing", name.c_str());
  std::string chunk = "=lua/" + name + ".lua";
  if (luaL_loadbufferx(L, f->content.data(), f->content.size(), chunk.c_str(), "t") != 0) return lua_error(L);
  int nargs = lua_gettop(L) - 2;
  lua_insert(L, 2);
  lua_call(L, nargs, 1);
  return 1;
}

void add_utility_functions(lua_State* L) { luaL_register(L, nullptr, kUtilityFunctions); }

}  // namespace luamig::luahost::detail
