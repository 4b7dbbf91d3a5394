#include "luahost/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include <lua.hpp>

#include "luahost/embedded.hpp"
#include "util/error.hpp"
#include "util/sql_failure.hpp"

namespace luamig::luahost {
namespace {

constexpr int kHookPeriod = 1000;
const char kTimeoutMessage[] = "time limit exceeded";
const char kInterruptMessage[] = "interrupted: luamig was asked to stop";

// Set from another thread by request_interrupt(); read by the count hook of every engine.
std::atomic<bool> g_interrupt{false};

// Sentinel whose address is op.NULL (a light userdata).
char g_null_sentinel;

// ---- allocation with a limit --------------------------------------------------------------------------------------

struct Allocator {
  size_t used = 0;
  size_t limit = 0;    // 0 = none
  bool enforce = true;
  bool refused = false;
};

void* limited_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* a = static_cast<Allocator*>(ud);
  if (nsize == 0) {
    a->used -= (ptr ? osize : 0);
    std::free(ptr);
    return nullptr;
  }
  size_t old = ptr ? osize : 0;
  if (nsize > old && a->enforce && a->limit && a->used - old + nsize > a->limit) {
    a->refused = true;
    return nullptr;   // LuaJIT raises LUA_ERRMEM; the state stays usable
  }
  void* p = std::realloc(ptr, nsize);
  if (p) a->used = a->used - old + nsize;
  return p;
}

// ---- per-state bookkeeping reachable from C callbacks -------------------------------------------------------------

struct Runtime {
  Allocator alloc;
  Services* services = nullptr;
  std::chrono::steady_clock::time_point deadline{};
  bool has_deadline = false;
  bool timed_out = false;
  std::optional<SqlFailure> last_sql_failure;
  std::string last_file;   // where the last error happened
  int last_line = 0;
  std::string project_lib_dir;
};

Runtime* runtime_of(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  // Allocator is the first member of Runtime: the allocator's user data is the runtime itself.
  return reinterpret_cast<Runtime*>(ud);
}

void count_hook(lua_State* L, lua_Debug*) {
  Runtime* rt = runtime_of(L);
  if (g_interrupt.load(std::memory_order_relaxed)) {
    // Same re-arming as for the time limit: a pcall in the script cannot swallow the stop.
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, kInterruptMessage);
  }
  if (!rt->has_deadline) return;
  if (rt->timed_out || std::chrono::steady_clock::now() >= rt->deadline) {
    rt->timed_out = true;
    // Re-arm at every instruction so that a pcall in the script cannot swallow the stop.
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, kTimeoutMessage);
  }
}

// Converts any error value into text without letting a hostile __tostring escape.
std::string error_text(lua_State* L, int idx, bool call_metamethods) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
    size_t n;
    const char* s = lua_tolstring(L, idx, &n);
    return std::string(s, n);
  }
  if (lua_isnil(L, idx)) return "nil";
  if (call_metamethods && luaL_getmetafield(L, idx, "__tostring")) {
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_type(L, -1) == LUA_TSTRING) {
      std::string s = lua_tostring(L, -1);
      lua_pop(L, 1);
      return s;
    }
    lua_pop(L, 1);
    return fmt::format("(error object is a {} value whose __tostring failed)", luaL_typename(L, idx));
  }
  return fmt::format("(error object is a {} value)", luaL_typename(L, idx));
}

// Message handler: turns the error into "message" + traceback and records the first position inside a user file
// (chunks named "@path"; engine chunks are named "=lua/...").
int message_handler(lua_State* L) {
  Runtime* rt = runtime_of(L);
  bool timeout = rt->timed_out;
  if (timeout || g_interrupt.load()) lua_sethook(L, nullptr, 0, 0);
  std::string msg = timeout ? std::string(kTimeoutMessage) : error_text(L, 1, true);
  rt->last_file.clear();
  rt->last_line = 0;
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    if (!lua_getinfo(L, "Sl", &ar)) continue;
    if (ar.source && ar.source[0] == '@' && ar.currentline > 0) {
      rt->last_file = ar.source + 1;
      rt->last_line = ar.currentline;
      break;
    }
  }
  luaL_traceback(L, L, msg.c_str(), 1);
  lua_pushstring(L, msg.c_str());
  lua_pushvalue(L, -2);
  lua_remove(L, -3);
  // Return a table {message, traceback} so the caller gets both without re-parsing.
  lua_createtable(L, 2, 0);
  lua_insert(L, -3);
  lua_rawseti(L, -3, 2);
  lua_rawseti(L, -2, 1);
  return 1;
}

// ---- parameters and host functions --------------------------------------------------------------------------------

std::string number_text(lua_Number n) {
  if (std::isfinite(n) && std::floor(n) == n && std::fabs(n) < 9007199254740992.0)
    return fmt::format("{}", static_cast<long long>(n));
  return fmt::format("{:.17g}", n);
}

std::vector<Param> collect_params(lua_State* L, int first, const char* fname) {
  std::vector<Param> params;
  int top = lua_gettop(L);
  for (int i = first; i <= top; ++i) {
    int n = i - first + 1;
    switch (lua_type(L, i)) {
      case LUA_TNIL: params.emplace_back(std::nullopt); break;
      case LUA_TBOOLEAN: params.emplace_back(lua_toboolean(L, i) ? "true" : "false"); break;
      case LUA_TNUMBER: params.emplace_back(number_text(lua_tonumber(L, i))); break;
      case LUA_TSTRING: {
        size_t len;
        const char* s = lua_tolstring(L, i, &len);
        params.emplace_back(std::string(s, len));
        break;
      }
      case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, i) == &g_null_sentinel) {
          params.emplace_back(std::nullopt);
          break;
        }
        [[fallthrough]];
      default:
        luaL_error(L, "%s: parameter $%d is a %s; pass a string, number, boolean, nil or op.NULL", fname, n,
                   luaL_typename(L, i));
    }
  }
  return params;
}

// Runs `fn`, turning C++ exceptions into Lua errors that keep their message (and SQLSTATE).
template <typename F>
int guarded(lua_State* L, F&& fn) {
  Runtime* rt = runtime_of(L);
  char buf[4096];
  buf[0] = 0;
  try {
    return fn();
  } catch (const SqlFailure& e) {
    rt->last_sql_failure = e;
    std::snprintf(buf, sizeof buf, "%s%s%s%s", e.message().c_str(), e.sqlstate().empty() ? "" : " (SQLSTATE ",
                  e.sqlstate().c_str(), e.sqlstate().empty() ? "" : ")");
  } catch (const std::exception& e) {
    std::snprintf(buf, sizeof buf, "%s", e.what());
  }
  // No C++ object with a destructor is alive here: lua_error longjmps.
  lua_pushstring(L, buf);
  return lua_error(L);
}

int host_execute(lua_State* L) {
  size_t len;
  const char* sql = luaL_checklstring(L, 1, &len);
  std::string statement(sql, len);
  return guarded(L, [&] {
    auto params = collect_params(L, 2, "op.execute");
    long long n = runtime_of(L)->services->execute(statement, params);
    lua_pushnumber(L, static_cast<lua_Number>(n));
    return 1;
  });
}

const char kRowStreamMeta[] = "luamig.RowStream";

struct StreamBox {
  RowStream* stream;
};

int stream_gc(lua_State* L) {
  auto* box = static_cast<StreamBox*>(luaL_checkudata(L, 1, kRowStreamMeta));
  delete box->stream;
  box->stream = nullptr;
  return 0;
}

void push_cell(lua_State* L, const Cell& c) {
  switch (c.kind) {
    case Cell::Null: lua_pushlightuserdata(L, &g_null_sentinel); break;
    case Cell::Boolean: lua_pushboolean(L, c.text == "t" || c.text == "true" || c.text == "1"); break;
    case Cell::Integer: {
      // Integers beyond 2^53 stay strings: a double would silently change them.
      char* end = nullptr;
      long long v = std::strtoll(c.text.c_str(), &end, 10);
      if (*end == 0 && v < (1LL << 53) && v > -(1LL << 53))
        lua_pushnumber(L, static_cast<lua_Number>(v));
      else
        lua_pushlstring(L, c.text.data(), c.text.size());
      break;
    }
    case Cell::Float: lua_pushnumber(L, std::strtod(c.text.c_str(), nullptr)); break;
    case Cell::Text: lua_pushlstring(L, c.text.data(), c.text.size()); break;
  }
}

// stream:next() -> row table keyed by column name (NULL as op.NULL), or nil at the end.
int stream_next(lua_State* L) {
  auto* box = static_cast<StreamBox*>(luaL_checkudata(L, 1, kRowStreamMeta));
  if (!box->stream) return 0;
  return guarded(L, [&] {
    thread_local std::vector<Cell> row;
    if (!box->stream->next(row)) {
      delete box->stream;
      box->stream = nullptr;
      return 0;
    }
    const auto& cols = box->stream->columns();
    lua_createtable(L, 0, static_cast<int>(cols.size()));
    for (size_t i = 0; i < cols.size(); ++i) {
      lua_pushlstring(L, cols[i].data(), cols[i].size());
      push_cell(L, row[i]);
      lua_rawset(L, -3);
    }
    return 1;
  });
}

int stream_close(lua_State* L) { return stream_gc(L); }

int stream_columns(lua_State* L) {
  auto* box = static_cast<StreamBox*>(luaL_checkudata(L, 1, kRowStreamMeta));
  lua_newtable(L);
  if (!box->stream) return 1;
  const auto& cols = box->stream->columns();
  for (size_t i = 0; i < cols.size(); ++i) {
    lua_pushlstring(L, cols[i].data(), cols[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  return 1;
}

int host_query(lua_State* L) {
  size_t len;
  const char* sql = luaL_checklstring(L, 1, &len);
  std::string statement(sql, len);
  return guarded(L, [&] {
    auto params = collect_params(L, 2, "op.query");
    auto* box = static_cast<StreamBox*>(lua_newuserdata(L, sizeof(StreamBox)));
    box->stream = nullptr;
    luaL_getmetatable(L, kRowStreamMeta);
    lua_setmetatable(L, -2);
    box->stream = runtime_of(L)->services->query(statement, params).release();
    return 1;
  });
}

int host_log(lua_State* L) {
  std::string level = luaL_checkstring(L, 1);
  size_t len;
  const char* msg = luaL_checklstring(L, 2, &len);
  std::string text(msg, len);
  return guarded(L, [&] {
    runtime_of(L)->services->log(level, text);
    return 0;
  });
}

int host_autocommit(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  Runtime* rt = runtime_of(L);
  int status = 0;
  std::string err;
  try {
    rt->services->autocommit_block([&] {
      lua_pushvalue(L, 1);
      status = lua_pcall(L, 0, 0, 0);
      if (status != 0) {
        err = error_text(L, -1, false);
        lua_pop(L, 1);
        throw std::runtime_error("autocommit_block: " + err);
      }
    });
  } catch (const SqlFailure& e) {
    rt->last_sql_failure = e;
    err = fmt::format("{} (SQLSTATE {})", e.message(), e.sqlstate());
  } catch (const std::exception& e) {
    err = e.what();
  }
  if (!err.empty() || status != 0) {
    lua_pushstring(L, err.c_str());
    return lua_error(L);
  }
  return 0;
}

// host.compile(source, chunkname) -> function | nil, message. Text only: bytecode is refused.
int host_compile(lua_State* L) {
  size_t len;
  const char* src = luaL_checklstring(L, 1, &len);
  const char* name = luaL_checkstring(L, 2);
  if (luaL_loadbufferx(L, src, len, name, "t") != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  return 1;
}

// host.module_source(name) -> source, chunkname | nil. Looks in the embedded stdlib, then <script_location>/lib.
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
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string content = ss.str();
  lua_pushlstring(L, content.data(), content.size());
  lua_pushstring(L, ("@" + path).c_str());
  return 2;
}

// host.engine_module(name): runs lua/<name>.lua (trusted engine code, with the real globals) and returns its result.
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

const luaL_Reg kHostFunctions[] = {
    {"execute", host_execute},
    {"query", host_query},
    {"log", host_log},
    {"autocommit_block", host_autocommit},
    {"compile", host_compile},
    {"module_source", host_module_source},
    {"engine_module", host_engine_module},
    {nullptr, nullptr},
};

void open_library(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

// Copies a Lua value at `idx` into a Value (tables recursively, cycles cut at depth 32).
Value to_value(lua_State* L, int idx, int depth = 0) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  Value v;
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: v.v = static_cast<bool>(lua_toboolean(L, idx)); break;
    case LUA_TNUMBER: v.v = static_cast<double>(lua_tonumber(L, idx)); break;
    case LUA_TSTRING: {
      size_t n;
      const char* s = lua_tolstring(L, idx, &n);
      v.v = std::string(s, n);
      break;
    }
    case LUA_TTABLE: {
      auto t = std::make_shared<Table>();
      if (depth < 32) {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
          t->emplace_back(to_value(L, -2, depth + 1), to_value(L, -1, depth + 1));
          lua_pop(L, 1);
        }
      }
      v.v = t;
      break;
    }
    case LUA_TLIGHTUSERDATA:
    case LUA_TNIL:
    default: break;
  }
  return v;
}

void push_value(lua_State* L, const Value& v) {
  switch (v.v.index()) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, v.boolean()); break;
    case 2: lua_pushnumber(L, v.num()); break;
    case 3: lua_pushlstring(L, v.str().data(), v.str().size()); break;
    case 4:
      lua_newtable(L);
      for (const auto& [k, val] : v.table()) {
        push_value(L, k);
        push_value(L, val);
        lua_rawset(L, -3);
      }
      break;
  }
}

// Splits the parser's "path:LINE: message" into a ScriptFailure.
ScriptFailure located_failure(const std::string& path, const std::string& raw, const char* prefix_text) {
  ScriptFailure f;
  f.file = path;
  f.message = raw;
  auto prefix = path + ":";
  if (f.message.rfind(prefix, 0) == 0) {
    f.line = std::atoi(f.message.c_str() + prefix.size());
    auto colon = f.message.find(": ", prefix.size());
    if (colon != std::string::npos) f.message = f.message.substr(colon + 2);
  }
  f.message = prefix_text + f.message;
  return f;
}

}  // namespace

struct Engine::Impl {
  Runtime rt;   // first: its address is the allocator's user data
  lua_State* L = nullptr;
  int sandbox_ref = LUA_NOREF;   // lua/sandbox.lua's module table
  Context context;
  size_t heap_after_full_gc = 0;  // bytes in use after the last full collection (see unload)

  ~Impl() {
    if (L) lua_close(L);
  }

  // Pops the error left by a failed pcall and turns it into a ScriptError, with position and SQL details.
  [[noreturn]] void fail(int status, const std::string& fallback_file) {
    ScriptFailure f;
    if (status == LUA_ERRMEM || (rt.alloc.refused && status != 0 && !rt.timed_out)) {
      f.memory = true;
      f.message = fmt::format("memory limit exceeded (lua_memory_limit = {} MiB)", rt.alloc.limit >> 20);
    } else if (lua_istable(L, -1)) {
      lua_rawgeti(L, -1, 1);
      f.message = lua_isstring(L, -1) ? lua_tostring(L, -1) : "error";
      lua_pop(L, 1);
      lua_rawgeti(L, -1, 2);
      f.traceback = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
      lua_pop(L, 1);
    } else {
      f.message = error_text(L, -1, false);
    }
    lua_pop(L, 1);
    f.timeout = rt.timed_out;
    if (f.timeout) f.message = "time limit exceeded: Lua code ran longer than its limit (lua_time_limit)";
    f.file = rt.last_file.empty() ? fallback_file : rt.last_file;
    f.line = rt.last_line;
    if (rt.last_sql_failure) {
      f.sql = rt.last_sql_failure->sql();
      f.sqlstate = rt.last_sql_failure->sqlstate();
      f.db_message = rt.last_sql_failure->message();
    }
    reset();
    throw ScriptError(std::move(f));
  }

  void reset() {
    rt.has_deadline = false;
    rt.timed_out = false;
    rt.alloc.refused = false;
    rt.last_sql_failure.reset();
    rt.last_file.clear();
    rt.last_line = 0;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookPeriod);
  }

  // Calls the function below `nargs` arguments on the stack under the message handler and the time limit.
  void protected_call(int nargs, const std::optional<std::chrono::milliseconds>& limit, const std::string& file) {
    auto ms = limit.value_or(std::chrono::milliseconds(-1));
    if (ms.count() < 0) ms = limits.time;
    rt.has_deadline = ms.count() > 0;
    rt.deadline = std::chrono::steady_clock::now() + ms;
    rt.timed_out = false;
    rt.alloc.refused = false;
    rt.last_sql_failure.reset();
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, 0, base);
    lua_remove(L, base);
    if (status != 0) fail(status, file);
    rt.has_deadline = false;
  }

  Limits limits;
};

Engine::Engine(Services* services, Context context, Limits limits, std::string project_lib_dir)
    : impl_(std::make_unique<Impl>()), limits_(limits) {
  auto& I = *impl_;
  I.limits = limits;
  I.rt.services = services;
  I.rt.project_lib_dir = std::move(project_lib_dir);
  I.rt.alloc.limit = limits.memory;
  I.rt.alloc.enforce = false;
  I.context = std::move(context);
  I.L = lua_newstate(limited_alloc, &I.rt);
  if (!I.L) throw RunError("cannot create the Lua state");
  lua_State* L = I.L;
  open_library(L, luaopen_base, "");
  open_library(L, luaopen_string, LUA_STRLIBNAME);
  open_library(L, luaopen_table, LUA_TABLIBNAME);
  open_library(L, luaopen_math, LUA_MATHLIBNAME);
  open_library(L, luaopen_os, LUA_OSLIBNAME);
  open_library(L, luaopen_bit, LUA_BITLIBNAME);
  // Hooks never fire inside compiled traces: the time limit needs the interpreter.
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);

  // string.dump would turn functions into bytecode; the string metatable must not be reachable.
  lua_getglobal(L, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  luaL_newmetatable(L, kRowStreamMeta);
  lua_pushcfunction(L, stream_gc);
  lua_setfield(L, -2, "__gc");
  lua_newtable(L);
  lua_pushcfunction(L, stream_next);
  lua_setfield(L, -2, "next");
  lua_pushcfunction(L, stream_close);
  lua_setfield(L, -2, "close");
  lua_pushcfunction(L, stream_columns);
  lua_setfield(L, -2, "columns");
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  // Engine code: lua/sandbox.lua receives the host table and the context.
  lua_newtable(L);
  luaL_register(L, nullptr, kHostFunctions);
  lua_pushlightuserdata(L, &g_null_sentinel);
  lua_setfield(L, -2, "NULL");
  lua_pushstring(L, I.context.dialect.c_str());
  lua_setfield(L, -2, "dialect");
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
  I.protected_call(0, time_limit, path);
  return Script(this, path, env_ref);
}

bool Script::has_function(const std::string& name) const {
  lua_State* L = engine_->impl_->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref_);
  lua_pushstring(L, name.c_str());
  lua_rawget(L, -2);
  bool is_fn = lua_isfunction(L, -1);
  lua_pop(L, 2);
  return is_fn;
}

Value Script::global(const std::string& name) const {
  lua_State* L = engine_->impl_->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref_);
  lua_pushstring(L, name.c_str());
  lua_rawget(L, -2);
  Value v = to_value(L, -1);
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

void Engine::unload(Script& script) {
  lua_State* L = impl_->L;
  luaL_unref(L, LUA_REGISTRYINDEX, script.env_ref_);
  script.env_ref_ = LUA_NOREF;
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

void check_syntax(const std::string& path, const std::string& source) {
  // One parser state reused for every file: loading thousands of revisions must stay cheap.
  static lua_State* L = luaL_newstate();
  if (!L) throw RunError("cannot create a Lua state");
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
int config_env(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  const char* v = std::getenv(name);
  if (v && *v) {
    lua_pushstring(L, v);
  } else if (lua_gettop(L) >= 2) {
    lua_pushvalue(L, 2);
  } else {
    lua_pushnil(L);
  }
  return 1;
}
}  // namespace

Value eval_config(const std::string& path, const std::string& source) {
  lua_State* L = luaL_newstate();
  if (!L) throw RunError("cannot create a Lua state");
  struct Closer {
    lua_State* L;
    ~Closer() { lua_close(L); }
  } closer{L};
  open_library(L, luaopen_base, "");
  open_library(L, luaopen_string, LUA_STRLIBNAME);
  open_library(L, luaopen_table, LUA_TABLIBNAME);
  open_library(L, luaopen_math, LUA_MATHLIBNAME);
  auto fail = [&](const std::string& raw) { throw ScriptError(located_failure(path, raw, "")); };

  if (luaL_loadbufferx(L, source.data(), source.size(), ("@" + path).c_str(), "t") != 0) fail(lua_tostring(L, -1));
  // The config sees a small environment; its globals are the settings.
  lua_newtable(L);
  int env = lua_gettop(L);
  lua_newtable(L);   // metatable: reads fall back to a few safe functions
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
  lua_pushvalue(L, -2);
  if (lua_pcall(L, 0, 0, 0) != 0) fail(error_text(L, -1, false));
  return to_value(L, env);
}

void request_interrupt() { g_interrupt.store(true); }
void clear_interrupt() { g_interrupt.store(false); }

}  // namespace luamig::luahost
