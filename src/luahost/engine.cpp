// The engine API: one lua_State per command (luahost/lua_state.hpp) under the limits (limits.hpp),
// lua/sandbox.lua bootstrapped with the host table (host.hpp), each migration or hooks file loaded into a
// fresh sandbox environment and called under the message handler (error_capture.hpp).
#include "luahost/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <lua.hpp>

#include "luahost/error_capture.hpp"
#include "luahost/host.hpp"
#include "luahost/lua_state.hpp"
#include "luahost/marshal.hpp"
#include "luahost/runtime.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace luamig::luahost {
namespace detail {

struct EngineState {
  Runtime rt;  // first: its address is the allocator's user data
  LuaState state{&rt};
  lua_State* L = state.get();
  int sandbox_ref = LUA_NOREF;  // lua/sandbox.lua's module table
  Context context;
  Limits limits;
  size_t heap_after_full_gc = 0;  // bytes in use after the last full collection (see unload)

  // Pops the error left by a failed pcall and turns it into a ScriptError, with position and SQL details.
  [[noreturn]] void fail(int status, const std::string& fallback_file) {
    ScriptFailure f = failure_from_stack(L, status, fallback_file);
    if (f.timeout) {
      f.message = fmt::format(
          "time limit exceeded: Lua code ran longer than {} (lua_time_limit, or the file's "
          "time_limit)",
          format_duration(rt.limit));
    } else if (f.memory) {
      f.message = fmt::format(
          "{}: the Lua state and the copies luamig makes of its values for the database would "
          "hold more than {} (lua_memory_limit)",
          kMemoryMessage, format_size(rt.alloc.limit));
    } else if (is_lua_stack_overflow(status, f)) {
      f.message = "stack overflow: Lua calls are nested too deeply (infinite recursion?)";
    }
    if (rt.last_sql_failure && !f.timeout && !f.memory) {
      f.sql = rt.last_sql_failure->sql();
      f.sqlstate = rt.last_sql_failure->sqlstate();
      f.db_message = rt.last_sql_failure->message();
    }
    reset(false);  // the plan of the failed call stays readable
    throw ScriptError(std::move(f));
  }

  // Clears the per-call state; `new_plan`: the recorded plan starts empty too (at every load and call).
  void reset(bool new_plan = true) {
    rt.clear();
    rt.last_sql_failure.reset();
    rt.last_sql_error.clear();
    rt.last_file.clear();
    rt.last_line = 0;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookPeriod);
    // Coroutine nesting is counted by the sandbox; an error may have skipped the count's decrement.
    lua_rawgeti(L, LUA_REGISTRYINDEX, sandbox_ref);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "reset");
      lua_pushboolean(L, new_plan);
      if (lua_isfunction(L, -2))
        lua_call(L, 1, 0);
      else
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
  }

  // Calls the function below `nargs` arguments on the stack under the message handler and the limits.
  void protected_call(int nargs, const std::optional<std::chrono::milliseconds>& limit,
                      const std::string& file) {
    auto ms = limit.value_or(std::chrono::milliseconds(-1));
    if (ms.count() < 0) ms = limits.time;
    rt.last_sql_failure.reset();
    rt.last_sql_error.clear();
    rt.start_call(ms, file);
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, 0, base);
    rt.watchdog.disarm();
    lua_remove(L, base);
    if (status == 0 && (rt.alloc.refused || rt.memory_exceeded)) {
      // The code caught the memory error and finished before the hook could raise it again: still a failure.
      lua_pushnil(L);
      status = LUA_ERRMEM;
    }
    if (status != 0) fail(status, file);
    rt.has_deadline = false;
  }

  // Reads the renderer's declared caps.bool_encoding (lua/dialect/interface.lua) from the sandbox module:
  // how a Lua boolean travels as a text parameter.
  void read_bool_encoding() {
    lua_rawgeti(L, LUA_REGISTRYINDEX, sandbox_ref);
    lua_getfield(L, -1, "caps");
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "bool_encoding");
      if (lua_istable(L, -1)) {
        lua_pushboolean(L, 1);
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) rt.true_param = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_pushboolean(L, 0);
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) rt.false_param = lua_tostring(L, -1);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
};

}  // namespace detail

using namespace detail;

Engine::Engine(Services* services, Context context, Limits limits, std::string project_lib_dir)
    : impl_(std::make_shared<EngineState>()), limits_(limits) {
  auto& I = *impl_;
  I.limits = limits;
  I.rt.services = services;
  I.rt.project_lib_dir = std::move(project_lib_dir);
  I.rt.alloc.limit = limits.memory;
  I.rt.alloc.hard = limits.memory * 2;
  I.rt.alloc.enforce = false;
  I.context = std::move(context);
  if (!I.L) throw RunError("cannot create the Lua state");
  lua_State* L = I.L;
  open_libraries(L, true);
  harden(L);
  register_row_stream(L);

  // Engine code: lua/sandbox.lua receives the host table and the context.
  lua_newtable(L);
  add_database_functions(L);
  add_utility_functions(L);
  lua_pushlightuserdata(L, &g_null_sentinel);
  lua_setfield(L, -2, "NULL");
  lua_pushstring(L, I.context.dialect.c_str());
  lua_setfield(L, -2, "dialect");
  lua_pushstring(L, (I.context.renderer.empty() ? I.context.dialect : I.context.renderer).c_str());
  lua_setfield(L, -2, "renderer");
  lua_pushboolean(L, I.context.offline);
  lua_setfield(L, -2, "offline");
  int host_index = lua_gettop(L);

  lua_pushcfunction(L, host_engine_module);
  lua_pushliteral(L, "sandbox");
  lua_pushvalue(L, host_index);
  Value ctx;
  auto t = std::make_shared<Table>();
  t->emplace_back(Value{std::string("environment")}, Value{I.context.environment});
  t->emplace_back(Value{std::string("dialect")}, Value{I.context.dialect});
  t->emplace_back(Value{std::string("offline")}, Value{I.context.offline});
  auto xt = std::make_shared<Table>();
  for (const auto& [k, v] : I.context.x) xt->emplace_back(Value{k}, Value{v});
  t->emplace_back(Value{std::string("x")}, Value{xt});
  ctx.v = t;
  push_value(L, ctx);
  if (lua_pcall(L, 3, 1, 0) != 0) {
    std::string err = lua_tostring(L, -1);
    throw RunError("engine Lua failed to start: " + err);
  }
  I.sandbox_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  I.read_bool_encoding();
  lua_gc(L, LUA_GCCOLLECT, 0);
  I.heap_after_full_gc = I.rt.alloc.used;
  I.rt.alloc.enforce = true;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookPeriod);
}

Engine::~Engine() = default;

Script Engine::load(const std::string& path, const std::string& source,
                    const std::optional<std::chrono::milliseconds>& time_limit) {
  auto& I = *impl_;
  lua_State* L = I.L;
  I.reset();
  refuse_bytecode(path, source);
  if (luaL_loadbufferx(L, source.data(), source.size(), ("@" + path).c_str(), "t") != 0) {
    std::string raw = lua_tostring(L, -1);
    lua_pop(L, 1);
    throw ScriptError(located_failure(path, raw, "syntax error: "));
  }
  // env = sandbox.new_env(path)
  lua_rawgeti(L, LUA_REGISTRYINDEX, I.sandbox_ref);
  lua_getfield(L, -1, "new_env");
  lua_remove(L, -2);
  lua_pushstring(L, path.c_str());
  if (lua_pcall(L, 1, 1, 0) != 0) {
    std::string err = error_text(L, -1, false);
    lua_pop(L, 2);
    throw RunError("cannot create a sandbox environment: " + err);
  }
  lua_pushvalue(L, -1);
  int env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_setfenv(L, -2);
  // From here the handle owns the environment: a failing top level releases it too.
  Script script(impl_, path, env_ref);
  I.protected_call(0, time_limit, path);
  return script;
}

Script::Script(std::weak_ptr<detail::EngineState> engine, std::string path, int env_ref)
    : engine_(std::move(engine)), path_(std::move(path)), env_ref_(env_ref) {}

Script::Script(Script&& other) noexcept
    : engine_(std::move(other.engine_)), path_(std::move(other.path_)), env_ref_(other.env_ref_) {
  other.env_ref_ = LUA_NOREF;
}

Script& Script::operator=(Script&& other) noexcept {
  if (this != &other) {
    release();
    engine_ = std::move(other.engine_);
    path_ = std::move(other.path_);
    env_ref_ = other.env_ref_;
    other.env_ref_ = LUA_NOREF;
  }
  return *this;
}

Script::~Script() { release(); }

void Script::release() {
  if (env_ref_ == LUA_NOREF) return;
  if (auto e = engine_.lock()) luaL_unref(e->L, LUA_REGISTRYINDEX, env_ref_);
  env_ref_ = LUA_NOREF;
}

lua_State* Script::state() const {
  auto e = engine_.lock();
  if (!e || env_ref_ == LUA_NOREF) throw RunError(fmt::format("{}: the script was unloaded", path_));
  return e->L;
}

bool Script::has_function(const std::string& name) const {
  lua_State* L = state();
  lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref_);
  lua_pushstring(L, name.c_str());
  lua_rawget(L, -2);
  bool is_fn = lua_isfunction(L, -1);
  lua_pop(L, 2);
  return is_fn;
}

int Script::function_line(const std::string& name) const {
  lua_State* L = state();
  lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref_);
  lua_pushstring(L, name.c_str());
  lua_rawget(L, -2);
  int line = 0;
  if (lua_isfunction(L, -1)) {
    lua_Debug ar;
    if (lua_getinfo(L, ">S", &ar)) line = ar.linedefined;  // pops the function
    lua_pop(L, 1);
  } else {
    lua_pop(L, 2);
  }
  return line;
}

Value Script::global(const std::string& name) const {
  lua_State* L = state();
  lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref_);
  lua_pushstring(L, name.c_str());
  lua_rawget(L, -2);
  size_t budget = kValueBudget;
  Value v = to_value(L, -1, budget);
  lua_pop(L, 2);
  return v;
}

void Engine::call(const Script& script, const std::string& function,
                  const std::map<std::string, std::string>& call_context,
                  const std::optional<std::chrono::milliseconds>& time_limit) {
  auto& I = *impl_;
  lua_State* L = I.L;
  I.reset();
  // sandbox.set_call_context(env, {revision=..., ...})
  lua_rawgeti(L, LUA_REGISTRYINDEX, I.sandbox_ref);
  lua_getfield(L, -1, "set_call_context");
  lua_remove(L, -2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, script.env_ref_);
  lua_newtable(L);
  for (const auto& [k, v] : call_context) {
    lua_pushstring(L, v.c_str());
    lua_setfield(L, -2, k.c_str());
  }
  lua_call(L, 2, 0);
  I.rt.call_context = call_context;
  lua_rawgeti(L, LUA_REGISTRYINDEX, script.env_ref_);
  lua_pushstring(L, function.c_str());
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    ScriptFailure f;
    f.message = fmt::format("{}() is not defined", function);
    f.file = script.path();
    throw ScriptError(std::move(f));
  }
  I.protected_call(0, time_limit, script.path());
  lua_gc(L, LUA_GCSTEP, 0);
}

void Engine::call_with(const Script& script, const std::string& function, const std::vector<Value>& args,
                       const std::optional<std::chrono::milliseconds>& time_limit) {
  auto& I = *impl_;
  lua_State* L = I.L;
  I.reset();
  lua_rawgeti(L, LUA_REGISTRYINDEX, script.env_ref_);
  lua_pushstring(L, function.c_str());
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  for (const auto& a : args) push_value(L, a);
  I.protected_call(static_cast<int>(args.size()), time_limit, script.path());
}

Plan Engine::plan() {
  lua_State* L = impl_->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, impl_->sandbox_ref);
  lua_getfield(L, -1, "plan");
  lua_remove(L, -2);
  // Engine code, no user code runs: no limits needed. Reporting must not fail for lack of memory.
  bool enforce = impl_->rt.alloc.enforce;
  impl_->rt.alloc.enforce = false;
  int status = lua_pcall(L, 0, 1, 0);
  impl_->rt.alloc.enforce = enforce;
  if (status != 0) {
    std::string err = error_text(L, -1, false);
    lua_pop(L, 1);
    throw RunError("cannot read the recorded plan: " + err);
  }
  size_t budget = SIZE_MAX;
  Value exported = to_value(L, -1, budget);
  lua_pop(L, 1);
  return plan_from_value(exported);
}

void Engine::set_activity(std::string what) { impl_->rt.watchdog.set_activity(std::move(what)); }

void Engine::unload(Script& script) {
  lua_State* L = impl_->L;
  impl_->rt.watchdog.set_activity("");  // what ran is over: a later message must not name it
  script.release();
  // A full collection after every script cost ~80 us per revision: most of the client's CPU time in a
  // 1,000-revision upgrade. The script's environment is left to the incremental collector; a full collection
  // runs once the heap has grown by 16 MiB (or an eighth of a smaller lua_memory_limit) since the last, so
  // garbage of earlier scripts neither grows the process nor takes a later script near its limit.
  auto& I = *impl_;
  const size_t limit = I.rt.alloc.limit;
  const size_t slack = std::min(size_t{16} << 20, limit ? limit / 8 : SIZE_MAX);
  if (I.rt.alloc.used > I.heap_after_full_gc + slack) {
    lua_gc(L, LUA_GCCOLLECT, 0);
    I.heap_after_full_gc = I.rt.alloc.used;
  } else {
    lua_gc(L, LUA_GCSTEP, 0);
  }
}

}  // namespace luamig::luahost
