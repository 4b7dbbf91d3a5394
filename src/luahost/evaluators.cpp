// The evaluators outside a migration run: syntax checks, revision headers that are not plain literals, and
// the config file (luamig.lua) in a small environment of its own under the same limits as migrations.
#include <fmt/format.h>

#include <cstdlib>
#include <lua.hpp>
#include <memory>

#include "luahost/engine.hpp"
#include "luahost/error_capture.hpp"
#include "luahost/lua_state.hpp"
#include "luahost/marshal.hpp"
#include "luahost/runtime.hpp"
#include "luahost/statement_origin.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace luamig::luahost {
using namespace detail;

void check_syntax(const std::string& path, const std::string& source) {
  // One parser state reused for every file: loading thousands of revisions must stay cheap.
  static lua_State* L = luaL_newstate();
  if (!L) throw RunError("cannot create a Lua state");
  refuse_bytecode(path, source);
  int rc = luaL_loadbufferx(L, source.data(), source.size(), ("@" + path).c_str(), "t");
  if (rc == 0) {
    lua_settop(L, 0);
    return;
  }
  std::string raw = lua_tostring(L, -1);
  lua_settop(L, 0);
  throw ScriptError(located_failure(path, raw, "syntax error: "));
}

namespace {
bool g_config_env_mark = false;  // env(NAME) without a default returns kUnsetEnvMark + NAME instead of nil

int config_env(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  const char* v = std::getenv(name);
  if (v && *v) {
    lua_pushstring(L, v);
  } else if (lua_gettop(L) >= 2) {
    lua_pushvalue(L, 2);
  } else {
    if (g_config_env_mark)
      lua_pushstring(L, (std::string(kUnsetEnvMark) + name).c_str());
    else
      lua_pushnil(L);
  }
  return 1;
}
}  // namespace

namespace {
// What top-level code gets from op while luamig only reads revision headers: nothing.
class NoDatabase : public Services {
 public:
  long long execute(const std::string&, const std::vector<Param>&) override { refuse(); }
  std::unique_ptr<RowStream> query(const std::string&, const std::vector<Param>&) override { refuse(); }
  void autocommit_block(const std::function<void()>&) override { refuse(); }
  void log(const std::string&, const std::string&) override {}

 private:
  [[noreturn]] static void refuse() {
    throw RunError(
        "the database is not available at the top level of a migration file (luamig runs it to read "
        "the revision header); call op in upgrade() or downgrade()");
  }
};
}  // namespace

Value eval_revision_header(const std::string& path, const std::string& source) {
  static NoDatabase services;
  // Reading a header takes milliseconds; the project's lua_time_limit applies when the file runs for real.
  static Engine engine(&services, Context{}, Limits{std::chrono::seconds(10)});
  engine.set_activity("reading the revision header");
  auto script = engine.load(path, source);
  auto table = std::make_shared<Table>();
  for (const char* key : {"revision", "down_revision", "branch_labels", "depends_on"}) {
    Value v = script.global(key);
    if (!v.is_nil()) table->emplace_back(Value{std::string(key)}, std::move(v));
  }
  for (const char* fn : {"upgrade", "downgrade"})
    if (script.has_function(fn)) table->emplace_back(Value{std::string(fn)}, Value{true});
  engine.unload(script);
  Value result;
  result.v = table;
  return result;
}

int function_definition_line(const std::string& path, const std::string& source, const std::string& name) {
  static NoDatabase services;
  static Engine engine(&services, Context{}, Limits{std::chrono::seconds(10)});
  engine.set_activity("reading where " + name + "() is defined");
  auto script = engine.load(path, source);
  int line = script.function_line(name);
  engine.unload(script);
  return line;
}

void mark_unset_env(bool on) { g_config_env_mark = on; }

Value eval_config(const std::string& path, const std::string& source, const Limits& limits) {
  // The same limits as migrations: the count hook, the deadline, the watchdog and the counting allocator.
  Runtime rt;
  rt.alloc.limit = limits.memory;
  rt.alloc.hard = limits.memory * 2;
  rt.alloc.enforce = false;
  LuaState state(&rt);
  lua_State* L = state.get();
  if (!L) throw RunError("cannot create a Lua state");
  open_libraries(L, false);
  auto fail = [&](const std::string& raw) { throw ScriptError(located_failure(path, raw, "")); };

  if (luaL_loadbufferx(L, source.data(), source.size(), ("@" + path).c_str(), "t") != 0)
    fail(lua_tostring(L, -1));
  // The config sees a small environment; its globals are the settings.
  lua_newtable(L);
  int env = lua_gettop(L);
  lua_newtable(L);  // metatable: reads fall back to a few safe functions
  lua_newtable(L);
  lua_pushcfunction(L, config_env);
  lua_setfield(L, -2, "env");
  for (const char* n : {"string", "table", "math", "tostring", "tonumber", "type", "pairs", "ipairs", "error",
                        "assert", "select", "unpack"}) {
    lua_getglobal(L, n);
    lua_setfield(L, -2, n);
  }
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, env);
  lua_pushvalue(L, env);
  lua_setfenv(L, -3);
  lua_pushcfunction(L, message_handler);
  lua_pushvalue(L, -3);  // the chunk
  int handler = lua_gettop(L) - 1;

  rt.watchdog.set_activity("evaluating the config file");
  rt.start_call(limits.time, path);
  rt.alloc.enforce = true;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookPeriod);
  int status = lua_pcall(L, 0, 0, handler);
  lua_sethook(L, nullptr, 0, 0);
  rt.watchdog.disarm();
  rt.alloc.enforce = false;
  if (status == 0 && (rt.alloc.refused || rt.memory_exceeded)) {
    lua_pushnil(L);
    status = LUA_ERRMEM;
  }
  if (status != 0) {
    ScriptFailure f = failure_from_stack(L, status, path);
    f.traceback.clear();
    if (f.timeout) {
      f.message = fmt::format("time limit exceeded: the config file ran longer than {} (lua_time_limit)",
                              format_duration(limits.time));
    } else if (f.memory) {
      f.message = fmt::format("{}: the config file would hold more than {} (lua_memory_limit)",
                              kMemoryMessage, format_size(limits.memory));
    } else if (is_lua_stack_overflow(status, f)) {
      f.message = "stack overflow: Lua calls are nested too deeply (infinite recursion?)";
    }
    if (f.line == 0) {
      // Errors raised where no Lua frame of the file is on the stack still carry "path:line: " in their text.
      if (auto pos = message_position(f.message); pos && names_file(pos->file, path)) {
        f.line = pos->line;
        f.message = pos->rest;
      }
    }
    throw ScriptError(std::move(f));
  }
  size_t budget = kValueBudget;
  return to_value(L, env, budget);
}

}  // namespace luamig::luahost
