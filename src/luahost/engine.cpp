#include "luahost/engine.hpp"
#include "luahost/statement_origin.hpp"

#include <fmt/format.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <lua.hpp>

#include "luahost/embedded.hpp"
#include "luahost/module_file.hpp"
#include "luahost/watchdog.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/output.hpp"
#include "util/sql_failure.hpp"

namespace luamig::luahost {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kHookPeriod = 1000;
const char kTimeoutMessage[] = "time limit exceeded";
const char kMemoryMessage[] = "memory limit exceeded";
// Lua frames one coroutine may nest before the hook stops it. LuaJIT's own limit (65500 stack slots) raises
// "stack overflow" without running the message handler, so the position would be lost; this limit comes first for
// ordinary recursion (a few slots per frame).
constexpr int kMaxLuaDepth = 7000;
// Longest error message kept (a hostile __tostring may return megabytes).
constexpr size_t kMaxMessage = 4000;
// How long a __tostring metamethod of an error object may run while the error is reported.
constexpr auto kToStringBudget = 1000ms;
const char kInterruptMessage[] = "interrupted: luamig was asked to stop";

// Set from another thread by request_interrupt(); read by the count hook of every engine.
std::atomic<bool> g_interrupt{false};

// Sentinel whose address is op.NULL (a light userdata).
char g_null_sentinel;

std::string format_size(size_t bytes) {
  if (bytes % (size_t{1} << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes % (size_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

// ---- allocation with a limit --------------------------------------------------------------------------------------
// `limit` is checked by the count hook, which raises an ordinary error (with file:line) once the live heap exceeds
// it. The allocator itself refuses growth past `limit` + 1/8 (LuaJIT then raises LUA_ERRMEM and the state stays
// usable): a single huge request such as string.rep("x", 2^30) never reaches the system allocator.

struct Allocator {
  size_t used = 0;
  size_t limit = 0;   // 0 = none
  size_t hard = 0;    // refused beyond this
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
  if (nsize > old && a->enforce && a->hard && a->used - old + nsize > a->hard) {
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
  // Time: `deadline` moves forward by the time spent waiting on the database (see DbWait).
  Clock::time_point deadline{};
  std::chrono::milliseconds limit{0};
  bool has_deadline = false;
  bool timed_out = false;
  int db_waits = 0;   // nesting of DbWait
  Clock::time_point db_wait_started{};
  Watchdog watchdog;
  // Memory: heap size after the last collection the hook ran; set once the limit was exceeded (then, as for a
  // timeout, every instruction raises: a pcall cannot swallow it).
  size_t gc_mark = 0;
  bool memory_exceeded = false;
  // C stack: the hook raises "stack overflow" when a C recursion brings the stack pointer below this address.
  uintptr_t c_stack_floor = 0;
  // Where a timeout or the memory limit first hit (the position the hook saw, not where the error surfaced).
  std::string stop_file;
  int stop_line = 0;
  std::optional<SqlFailure> last_sql_failure;
  std::string last_sql_error;   // the Lua error text raised for last_sql_failure
  std::string last_file;   // where the last error happened
  int last_line = 0;
  std::string project_lib_dir;
  std::map<std::string, std::string> call_context;   // revision, direction... of the running call
  // How a Lua boolean travels as a text parameter. PostgreSQL parses "true"/"false" for boolean columns; SQLite
  // has no boolean type (a boolean column has NUMERIC affinity, so "true" would stay the text 'true', which is
  // false in a WHERE clause): there it is 1/0, as SQLAlchemy stores it.
  const char* true_param = "true";
  const char* false_param = "false";

  // Time spent waiting on the database does not count against the Lua time limit (nor the watchdog).
  void pause_clock() {
    if (db_waits++ > 0 || !has_deadline) return;
    db_wait_started = Clock::now();
    watchdog.disarm();
  }
  void resume_clock() {
    if (--db_waits > 0 || !has_deadline) return;
    deadline += Clock::now() - db_wait_started;
    watchdog.arm(deadline, limit);
  }
};

// Where the statement being run comes from (statement_origin()): set by sql_argument, cleared when the database
// call ends, so that statements the runner sends on its own (the version table) have no origin.
thread_local SourcePosition g_statement_origin;

// RAII: a database call in progress (see Runtime::pause_clock).
struct DbWait {
  Runtime* rt;
  explicit DbWait(Runtime* r) : rt(r) { rt->pause_clock(); }
  ~DbWait() {
    rt->resume_clock();
    g_statement_origin = {};
  }
  DbWait(const DbWait&) = delete;
  DbWait& operator=(const DbWait&) = delete;
};

Runtime* runtime_of(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  // Allocator is the first member of Runtime: the allocator's user data is the runtime itself.
  return reinterpret_cast<Runtime*>(ud);
}

// The lowest address the C stack of the calling thread may reach while Lua runs: a quarter of the room left (at most
// 32 MiB) stays free. Between two runs of the count hook (1000 instructions) a C recursion such as nested gsub
// callbacks (~8.5 KB per level, several instructions per level) grows the stack by a few MiB at most.
uintptr_t c_stack_floor() {
  thread_local uintptr_t floor = [] {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return uintptr_t{0};
    void* addr = nullptr;
    size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    char here;
    auto low = reinterpret_cast<uintptr_t>(addr);
    auto current = reinterpret_cast<uintptr_t>(&here);
    if (!addr || current <= low) return uintptr_t{0};
    size_t room = current - low;
    return low + std::min<size_t>(size_t{32} << 20, room / 4);
  }();
  return floor;
}

void count_hook(lua_State* L, lua_Debug*);

// The innermost frame of a user file (chunks named "@path"; engine chunks are named "=lua/...") from `level` down.
bool user_frame(lua_State* L, int level, std::string& file, int& line) {
  lua_Debug ar;
  for (; lua_getstack(L, level, &ar); ++level) {
    if (!lua_getinfo(L, "Sl", &ar)) continue;
    if (ar.source && ar.source[0] == '@' && ar.currentline > 0) {
      file = ar.source + 1;
      line = ar.currentline;
      return true;
    }
  }
  return false;
}

void record_stop_position(lua_State* L, Runtime* rt) {
  if (rt->timed_out || rt->memory_exceeded) return;   // only the first time
  rt->stop_file.clear();
  rt->stop_line = 0;
  user_frame(L, 0, rt->stop_file, rt->stop_line);
}

[[noreturn]] void raise_timeout(lua_State* L, Runtime* rt) {
  record_stop_position(L, rt);
  rt->timed_out = true;
  // Re-arm at every instruction so that a pcall in the script cannot swallow the stop.
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, kTimeoutMessage);
  std::abort();   // not reached: luaL_error does not return
}

[[noreturn]] void raise_memory(lua_State* L, Runtime* rt) {
  record_stop_position(L, rt);
  rt->memory_exceeded = true;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, "%s (lua_memory_limit = %s)", kMemoryMessage, format_size(rt->alloc.limit).c_str());
  std::abort();   // not reached
}

void check_memory(lua_State* L, Runtime* rt) {
  Allocator& a = rt->alloc;
  // Near the limit, garbage must not count: collect (at most once per 1/16 of the limit allocated).
  if (a.used > a.limit / 4 * 3 && a.used > rt->gc_mark + a.limit / 16) {
    lua_gc(L, LUA_GCCOLLECT, 0);
    rt->gc_mark = a.used;
  }
  if (a.used > a.limit) raise_memory(L, rt);
}

// ---- C++ copies made on a migration's behalf ---------------------------------------------------------
// Bound parameters, COPY rows, array literals and statements copied out of Lua count against
// lua_memory_limit while they live, in the same budget as the Lua heap (Allocator::used): the allocator and
// this path both charge it, so neither can take the process past the limit the other left. Exceeding it
// raises the same memory error.

struct HostMemoryExceeded : std::exception {
  const char* what() const noexcept override { return kMemoryMessage; }
};

class HostCopies {
 public:
  explicit HostCopies(lua_State* L) : L_(L), a_(runtime_of(L)->alloc) {}
  ~HostCopies() { a_.used -= charged_; }
  HostCopies(const HostCopies&) = delete;
  HostCopies& operator=(const HostCopies&) = delete;

  // Counts `bytes` more; throws HostMemoryExceeded when the budget cannot hold them (after a full collection:
  // the Lua heap's garbage must not count).
  void charge(size_t bytes) {
    if (a_.limit && a_.enforce && a_.used + bytes > a_.limit) {
      if (!collected_) {
        collected_ = true;
        lua_gc(L_, LUA_GCCOLLECT, 0);
      }
      if (a_.used + bytes > a_.limit) throw HostMemoryExceeded{};
    }
    a_.used += bytes;
    charged_ += bytes;
  }

 private:
  lua_State* L_;
  Allocator& a_;
  size_t charged_ = 0;
  bool collected_ = false;
};

// What one bound value costs while a statement runs: luamig's copy, and the driver's (libpq parameters, or
// the value inlined into the statement text).
constexpr size_t kParamOverhead = 32;
size_t param_cost(size_t text_bytes) { return 2 * text_bytes + kParamOverhead; }

void count_hook(lua_State* L, lua_Debug*) {
  Runtime* rt = runtime_of(L);
  if (g_interrupt.load(std::memory_order_relaxed)) {
    // Same re-arming as for the time limit: a pcall in the script cannot swallow the stop.
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, kInterruptMessage);
  }
  if (rt->timed_out) raise_timeout(L, rt);
  if (rt->memory_exceeded || rt->alloc.refused) raise_memory(L, rt);
  if (rt->has_deadline && Clock::now() >= rt->deadline) raise_timeout(L, rt);
  if (rt->alloc.limit && rt->alloc.enforce && rt->alloc.used > rt->alloc.limit / 4 * 3) check_memory(L, rt);
  char here;
  if (reinterpret_cast<uintptr_t>(&here) < rt->c_stack_floor)
    luaL_error(L, "stack overflow: calls through C functions (string.gsub callbacks, table.sort comparators, "
                  "__tostring, coroutines...) are nested too deeply");
  lua_Debug ar;
  if (lua_getstack(L, kMaxLuaDepth, &ar))
    luaL_error(L, "stack overflow: more than %d nested Lua calls (infinite recursion?)", kMaxLuaDepth);
}

std::string truncated(std::string s) {
  if (s.size() <= kMaxMessage) return s;
  size_t more = s.size() - kMaxMessage;
  s.resize(kMaxMessage);
  return s + fmt::format("... ({} more bytes)", more);
}

// Converts any error value into text. A __tostring metamethod runs (only when `call_metamethods`) under its own short
// time budget, and whatever it does (error, loop, wrong type) the result is a readable message.
std::string error_text(lua_State* L, int idx, bool call_metamethods) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
    size_t n;
    const char* s = lua_tolstring(L, idx, &n);
    return truncated(std::string(s, n));
  }
  if (lua_isnil(L, idx)) return "nil (error() was called without a message)";
  const char* type = luaL_typename(L, idx);
  if (call_metamethods && luaL_getmetafield(L, idx, "__tostring")) {
    Runtime* rt = runtime_of(L);
    auto saved_deadline = rt->deadline;
    bool saved_has_deadline = rt->has_deadline;
    auto budget_end = Clock::now() + kToStringBudget;
    rt->deadline = saved_has_deadline ? std::min(saved_deadline, budget_end) : budget_end;
    rt->has_deadline = true;
    lua_pushvalue(L, idx);
    int status = lua_pcall(L, 1, 1, 0);
    bool ran_out = rt->timed_out;
    rt->deadline = saved_deadline;
    rt->has_deadline = saved_has_deadline;
    if (ran_out) {
      rt->timed_out = false;
      lua_sethook(L, count_hook, LUA_MASKCOUNT, kHookPeriod);
    }
    std::string result;
    if (ran_out) {
      result = fmt::format("(error object is a {} value whose __tostring did not finish)", type);
    } else if (status != 0) {
      std::string inner = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1);
      result = fmt::format("(error object is a {} value whose __tostring failed: {})", type, truncated(inner));
    } else if (lua_type(L, -1) != LUA_TSTRING) {
      result = fmt::format("(error object is a {} value whose __tostring returned a {})", type, luaL_typename(L, -1));
    } else {
      size_t n;
      const char* s = lua_tolstring(L, -1, &n);
      result = truncated(std::string(s, n));
    }
    lua_pop(L, 1);
    return result;
  }
  return fmt::format("(error object is a {} value)", type);
}

// The position at the start of an error message ("path:12: text"), as luaL_where writes it: the path may be
// shortened to "...tail" when long.
struct MessagePosition {
  std::string file;
  int line = 0;
  std::string rest;
};
std::optional<MessagePosition> message_position(const std::string& msg) {
  auto colon = msg.find(": ");
  if (colon == std::string::npos) return std::nullopt;
  auto head = msg.substr(0, colon);
  auto line_colon = head.rfind(':');
  if (line_colon == std::string::npos || line_colon + 1 == head.size()) return std::nullopt;
  for (size_t i = line_colon + 1; i < head.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(head[i]))) return std::nullopt;
  return MessagePosition{head.substr(0, line_colon), std::atoi(head.c_str() + line_colon + 1), msg.substr(colon + 2)};
}

// True when `shown` (a chunk name as error messages show it) names the file `path`.
bool names_file(const std::string& shown, const std::string& path) {
  if (shown == path) return true;
  if (shown.rfind("...", 0) != 0) return false;
  std::string tail = shown.substr(3);
  return path.size() >= tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0;
}

// Message handler: turns the error into "message" + traceback and records its position in a user file. The message's
// own "file:line: " prefix wins when it names a user file on the stack: it is where the error was raised (inside a
// coroutine, or at the caller for error(msg, 2)), where the stack only shows where it surfaced.
int message_handler(lua_State* L) {
  Runtime* rt = runtime_of(L);
  bool timeout = rt->timed_out;
  bool interrupted = g_interrupt.load(std::memory_order_relaxed);
  bool stopping = timeout || rt->memory_exceeded || interrupted;
  if (stopping) lua_sethook(L, nullptr, 0, 0);   // the handler must run to its end (and no __tostring runs)
  rt->last_file.clear();
  rt->last_line = 0;
  std::vector<std::string> user_files;
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); ++level) {
    if (!lua_getinfo(L, "Sl", &ar) || !ar.source || ar.source[0] != '@') continue;
    if (rt->last_file.empty() && ar.currentline > 0) {
      rt->last_file = ar.source + 1;
      rt->last_line = ar.currentline;
    }
    if (user_files.size() < 64) user_files.emplace_back(ar.source + 1);
  }
  std::string msg;
  if (stopping) {
    msg = timeout ? kTimeoutMessage : rt->memory_exceeded ? kMemoryMessage : kInterruptMessage;
    if (!rt->stop_file.empty()) {
      rt->last_file = rt->stop_file;
      rt->last_line = rt->stop_line;
    }
  } else {
    msg = error_text(L, 1, true);
    if (auto pos = message_position(msg)) {
      for (const auto& file : user_files) {
        if (names_file(pos->file, file)) {
          rt->last_file = file;
          rt->last_line = pos->line;
          msg = pos->rest;
          break;
        }
      }
    }
  }
  // A statement failure caught by pcall earlier is not the cause of this error: only keep the SQL details when the
  // error being raised still carries the database's message.
  if (rt->last_sql_failure && (stopping || msg.find(rt->last_sql_error) == std::string::npos)) {
    rt->last_sql_failure.reset();
    rt->last_sql_error.clear();
  }
  // Reporting must not fail for lack of memory: the error's own garbage is still referenced here.
  bool enforce = rt->alloc.enforce;
  rt->alloc.enforce = false;
  luaL_traceback(L, L, msg.c_str(), 1);
  lua_pushlstring(L, msg.data(), msg.size());
  lua_pushvalue(L, -2);
  lua_remove(L, -3);
  // Return a table {message, traceback} so the caller gets both without re-parsing.
  lua_createtable(L, 2, 0);
  lua_insert(L, -3);
  lua_rawseti(L, -3, 2);
  lua_rawseti(L, -2, 1);
  rt->alloc.enforce = enforce;
  return 1;
}

// Bytecode is refused by the "t" load mode with a cryptic message; this one says what is wrong.
void refuse_bytecode(const std::string& path, const std::string& source) {
  if (!source.empty() && source[0] == LUA_SIGNATURE[0]) {
    ScriptFailure f;
    f.file = path;
    f.message = "the file is precompiled bytecode; luamig loads only Lua source";
    throw ScriptError(std::move(f));
  }
}

// ---- parameters and host functions --------------------------------------------------------------------------------

std::string number_text(lua_Number n) {
  if (std::isfinite(n) && std::floor(n) == n && std::fabs(n) < 9007199254740992.0)
    return fmt::format("{}", static_cast<long long>(n));
  return fmt::format("{:.17g}", n);
}

std::vector<Param> collect_params(lua_State* L, int first, const char* fname, HostCopies& copies) {
  std::vector<Param> params;
  int top = lua_gettop(L);
  for (int i = first; i <= top; ++i) {
    int n = i - first + 1;
    switch (lua_type(L, i)) {
      case LUA_TNIL:
        copies.charge(kParamOverhead);
        params.emplace_back(std::nullopt);
        break;
      case LUA_TBOOLEAN: {
        copies.charge(kParamOverhead);
        const Runtime* rt = runtime_of(L);
        params.emplace_back(lua_toboolean(L, i) ? rt->true_param : rt->false_param);
        break;
      }
      case LUA_TNUMBER:
        copies.charge(param_cost(24));
        params.emplace_back(number_text(lua_tonumber(L, i)));
        break;
      case LUA_TSTRING: {
        size_t len;
        const char* s = lua_tolstring(L, i, &len);
        copies.charge(param_cost(len));
        // libpq passes text parameters as C strings: a NUL would silently cut the value short.
        if (std::memchr(s, 0, len))
          luaL_error(L, "%s: parameter $%d contains a NUL byte, which PostgreSQL text cannot hold (use bytea and "
                     "decode())", fname, n);
        params.emplace_back(std::string(s, len));
        break;
      }
      case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, i) == &g_null_sentinel) {
          copies.charge(kParamOverhead);
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
  bool out_of_memory = false;
  try {
    return fn();
  } catch (const HostMemoryExceeded&) {
    out_of_memory = true;
  } catch (const SqlFailure& e) {
    rt->last_sql_failure = e;
    std::snprintf(buf, sizeof buf, "%s%s%s%s", e.message().c_str(), e.sqlstate().empty() ? "" : " (SQLSTATE ",
                  e.sqlstate().c_str(), e.sqlstate().empty() ? "" : ")");
    rt->last_sql_error = buf;
  } catch (const std::exception& e) {
    std::snprintf(buf, sizeof buf, "%s", e.what());
  }
  // No C++ object with a destructor is alive here: lua_error longjmps.
  if (out_of_memory) raise_memory(L, rt);
  lua_pushstring(L, buf);
  return lua_error(L);
}

// The statement every host.* SQL function takes first, copied before anything can raise a Lua error. Records where
// in the migration it comes from (statement_origin()).
std::string sql_argument(lua_State* L) {
  size_t len;
  const char* sql = luaL_checklstring(L, 1, &len);
  g_statement_origin = {};
  user_frame(L, 1, g_statement_origin.file, g_statement_origin.line);
  return std::string(sql, len);
}

int host_execute(lua_State* L) {
  std::string statement = sql_argument(L);
  return guarded(L, [&] {
    HostCopies copies(L);
    copies.charge(statement.size());
    auto params = collect_params(L, 2, "op.execute", copies);
    Runtime* rt = runtime_of(L);
    DbWait wait(rt);
    long long n = rt->services->execute(statement, params);
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
  if (!box->stream) return 0;
  DbWait wait(runtime_of(L));
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
      if (*end == 0 && v <= (1LL << 53) && v >= -(1LL << 53))
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
    bool more;
    {
      DbWait wait(runtime_of(L));
      more = box->stream->next(row);
    }
    if (!more) {
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

// stream:columns_data() -> names, data, n: every remaining row, column by column (data[name][i]), without a table
// per row. For bounded batches (backfills); NULL is op.NULL.
int stream_columns_data(lua_State* L) {
  auto* box = static_cast<StreamBox*>(luaL_checkudata(L, 1, kRowStreamMeta));
  return guarded(L, [&] {
    lua_newtable(L);   // names
    lua_newtable(L);   // data
    if (!box->stream) {
      lua_pushinteger(L, 0);
      return 3;
    }
    const auto& cols = box->stream->columns();
    int ncols = static_cast<int>(cols.size());
    luaL_checkstack(L, ncols + 8, "too many columns");
    int data = lua_gettop(L);
    int base = data;
    for (int c = 0; c < ncols; ++c) {
      lua_pushlstring(L, cols[static_cast<size_t>(c)].data(), cols[static_cast<size_t>(c)].size());
      lua_rawseti(L, data - 1, c + 1);
      lua_newtable(L);   // the column's array, at base + 1 + c
    }
    thread_local std::vector<Cell> row;
    int n = 0;
    // Reading a batch is waiting on the database (a cursor FETCHes as it goes), not Lua time.
    DbWait wait(runtime_of(L));
    while (box->stream->next(row)) {
      ++n;
      for (int c = 0; c < ncols; ++c) {
        push_cell(L, row[static_cast<size_t>(c)]);
        lua_rawseti(L, base + 1 + c, n);
      }
    }
    // data[name] = array, for each column.
    for (int c = ncols - 1; c >= 0; --c) {
      lua_pushlstring(L, cols[static_cast<size_t>(c)].data(), cols[static_cast<size_t>(c)].size());
      lua_insert(L, -2);
      lua_rawset(L, data);
    }
    delete box->stream;
    box->stream = nullptr;
    lua_pushinteger(L, n);
    return 3;
  });
}

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

// Pushes a RowStream userdata filled by `open` (Services::query or Services::query_all).
int push_query(lua_State* L, std::unique_ptr<RowStream> (Services::*open)(const std::string&, const std::vector<Param>&)) {
  std::string statement = sql_argument(L);
  return guarded(L, [&] {
    HostCopies copies(L);
    copies.charge(statement.size());
    auto params = collect_params(L, 2, "op.query", copies);
    auto* box = static_cast<StreamBox*>(lua_newuserdata(L, sizeof(StreamBox)));
    box->stream = nullptr;
    luaL_getmetatable(L, kRowStreamMeta);
    lua_setmetatable(L, -2);
    Runtime* rt = runtime_of(L);
    DbWait wait(rt);
    box->stream = (rt->services->*open)(statement, params).release();
    return 1;
  });
}

int host_query(lua_State* L) { return push_query(L, &Services::query); }

// host.query_all(sql, ...): as host.query, for a small result fetched in one round trip.
int host_query_all(lua_State* L) { return push_query(L, &Services::query_all); }

// host.send(sql, ...): starts a statement without waiting; host.wait_sent() -> its row count.
int host_send(lua_State* L) {
  std::string statement = sql_argument(L);
  return guarded(L, [&] {
    HostCopies copies(L);
    copies.charge(2 * statement.size());
    auto params = collect_params(L, 2, "op.execute", copies);
    Runtime* rt = runtime_of(L);
    DbWait wait(rt);
    rt->services->send(statement, params);
    return 0;
  });
}

int host_wait_sent(lua_State* L) {
  return guarded(L, [&] {
    Runtime* rt = runtime_of(L);
    long long n;
    {
      DbWait wait(rt);
      n = rt->services->wait_sent();
    }
    lua_pushnumber(L, static_cast<lua_Number>(n));
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
    DbWait wait(rt);
    rt->services->autocommit_block([&] {
      lua_pushvalue(L, 1);
      rt->resume_clock();   // the block's own Lua code counts
      status = lua_pcall(L, 0, 0, 0);
      rt->pause_clock();
      if (status != 0) {
        err = error_text(L, -1, false);
        lua_pop(L, 1);
        throw std::runtime_error("autocommit_block: " + err);
      }
    });
  } catch (const SqlFailure& e) {
    rt->last_sql_failure = e;
    err = fmt::format("{} (SQLSTATE {})", e.message(), e.sqlstate());
    rt->last_sql_error = err;
  } catch (const std::exception& e) {
    err = e.what();
  }
  if (!err.empty() || status != 0) {
    lua_pushstring(L, err.c_str());
    return lua_error(L);
  }
  return 0;
}

// Text of the Lua value at `idx` as a bound value/COPY field; false when its type has no SQL meaning.
bool cell_param(lua_State* L, int idx, Param& out) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL: out = std::nullopt; return true;
    case LUA_TBOOLEAN: out = lua_toboolean(L, idx) ? runtime_of(L)->true_param : runtime_of(L)->false_param; return true;
    case LUA_TNUMBER: out = number_text(lua_tonumber(L, idx)); return true;
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, idx, &len);
      out = std::string(s, len);
      return true;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == &g_null_sentinel) {
        out = std::nullopt;
        return true;
      }
      return false;
    default: return false;
  }
}

// host.copy_rows(table_sql, {column_sql...}, {{v1, v2...}, ...}) -> rows written. Names arrive quoted (op.lua).
int host_copy_rows(lua_State* L) {
  std::string table = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  return guarded(L, [&] {
    HostCopies copies(L);
    std::vector<std::string> columns;
    int ncols = static_cast<int>(lua_objlen(L, 2));
    for (int c = 1; c <= ncols; ++c) {
      lua_rawgeti(L, 2, c);
      columns.emplace_back(lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
      copies.charge(columns.back().size() + kParamOverhead);
      lua_pop(L, 1);
    }
    std::vector<std::vector<Param>> rows;
    int nrows = static_cast<int>(lua_objlen(L, 3));
    copies.charge(static_cast<size_t>(nrows) * sizeof(std::vector<Param>));
    rows.reserve(static_cast<size_t>(nrows));
    for (int r = 1; r <= nrows; ++r) {
      copies.charge(static_cast<size_t>(ncols) * sizeof(Param));
      lua_rawgeti(L, 3, r);
      if (!lua_istable(L, -1))
        throw std::runtime_error(fmt::format("op.copy_rows: row {} is not a table", r));
      std::vector<Param> row(static_cast<size_t>(ncols));
      for (int c = 1; c <= ncols; ++c) {
        lua_rawgeti(L, -1, c);
        if (!cell_param(L, -1, row[static_cast<size_t>(c - 1)]))
          throw std::runtime_error(fmt::format("op.copy_rows: row {}, column {} is a {}; pass a string, number, "
                                               "boolean, nil or op.NULL",
                                               r, columns[static_cast<size_t>(c - 1)], luaL_typename(L, -1)));
        const Param& cell = row[static_cast<size_t>(c - 1)];
        copies.charge(cell ? cell->size() : 0);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      rows.push_back(std::move(row));
    }
    Runtime* rt = runtime_of(L);
    DbWait wait(rt);
    long long n = rt->services->copy_rows(table, columns, rows);
    lua_pushnumber(L, static_cast<lua_Number>(n));
    return 1;
  });
}

// host.pg_array(list, n) -> PostgreSQL array literal text of list[1..n] ('{"a","b",NULL}'): one bound parameter
// carries a whole batch of values (UPDATE ... FROM unnest($1::bigint[], $2::text[])). nil and op.NULL are NULL.
int host_pg_array(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = static_cast<int>(luaL_checkinteger(L, 2));
  return guarded(L, [&] {
    HostCopies copies(L);
    std::string out;
    copies.charge(static_cast<size_t>(std::max(n, 0)) * 16 + 2);
    out.reserve(static_cast<size_t>(std::max(n, 0)) * 16 + 2);
    out.push_back('{');
    Param value;
    for (int i = 1; i <= n; ++i) {
      if (i > 1) out.push_back(',');
      lua_rawgeti(L, 1, i);
      if (!cell_param(L, -1, value))
        throw std::runtime_error(fmt::format("array element {} is a {}; pass a string, number, boolean, nil or op.NULL",
                                             i, luaL_typename(L, -1)));
      lua_pop(L, 1);
      if (!value) {
        out += "NULL";
        continue;
      }
      // The literal's text, and its copy as a bound parameter when the statement runs.
      copies.charge(2 * value->size() + 3);
      out.push_back('"');
      for (char c : *value) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
      }
      out.push_back('"');
    }
    out.push_back('}');
    lua_pushlstring(L, out.data(), out.size());
    return 1;
  });
}

// host.set_protected(on): the sandbox's pcall/xpcall/coroutine.resume entered or left the outermost protected
// call.
int host_set_protected(lua_State* L) {
  bool on = lua_toboolean(L, 1) != 0;
  return guarded(L, [&] {
    runtime_of(L)->services->set_protected(on);
    return 0;
  });
}

int host_in_transaction(lua_State* L) {
  lua_pushboolean(L, runtime_of(L)->services->in_transaction());
  return 1;
}

// host.transaction(fn): runs fn between BEGIN and COMMIT (ROLLBACK when it fails), as autocommit_block does the
// reverse.
int host_transaction(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  Runtime* rt = runtime_of(L);
  std::string err;
  try {
    DbWait wait(rt);
    rt->services->transaction([&] {
      lua_pushvalue(L, 1);
      rt->resume_clock();   // the block's own Lua code counts
      int status = lua_pcall(L, 0, 0, 0);
      rt->pause_clock();
      if (status != 0) {
        std::string inner = error_text(L, -1, false);
        lua_pop(L, 1);
        throw std::runtime_error(inner);
      }
    });
  } catch (const SqlFailure& e) {
    rt->last_sql_failure = e;
    err = fmt::format("{} (SQLSTATE {})", e.message(), e.sqlstate());
  } catch (const std::exception& e) {
    err = e.what();
  }
  if (!err.empty()) {
    lua_pushlstring(L, err.data(), err.size());
    err.clear();
    err.shrink_to_fit();
    return lua_error(L);
  }
  return 0;
}

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
    lua_pushfstring(L, "%s is precompiled bytecode; migrations load only Lua source", name + (name[0] == '@'));
    return 2;
  }
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
  switch (lua_type(L, 1)) {   // the common cases without a second call
    case LUA_TSTRING: return 1;
    case LUA_TNUMBER: lua_tolstring(L, 1, nullptr); return 1;   // LuaJIT's own number formatting
    case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, 1) ? "true" : "false"); return 1;
    case LUA_TNIL: lua_pushliteral(L, "nil"); return 1;
    default: break;
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

// host.raw_getmetatable(v): the metatable itself, even when __metatable hides it (for the sandbox's getmetatable).
int host_raw_getmetatable(lua_State* L) {
  luaL_checkany(L, 1);
  if (!lua_getmetatable(L, 1)) lua_pushnil(L);
  return 1;
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
    {"copy_rows", host_copy_rows},
    {"pg_array", host_pg_array},
    {"query_all", host_query_all},
    {"send", host_send},
    {"wait_sent", host_wait_sent},
    {"in_transaction", host_in_transaction},
    {"set_protected", host_set_protected},
    {"transaction", host_transaction},
    {"clock", host_clock},
    {"stderr_is_tty", host_stderr_is_tty},
    {"progress", host_progress},
    {"call_context", host_call_context},
    {"raw_getmetatable", host_raw_getmetatable},
    {"where", host_where},
    {nullptr, nullptr},
};

void open_library(lua_State* L, lua_CFunction open, const char* name) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

// Copies a Lua value at `idx` into a Value (tables recursively, cycles cut at depth 32). At most `budget` values are
// copied: a file could otherwise hand the host a small cyclic table that expands to billions of copies.
constexpr size_t kValueBudget = 1000000;
Value to_value(lua_State* L, int idx, size_t& budget, int depth = 0) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  Value v;
  if (budget == 0) return v;
  --budget;
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
          t->emplace_back(to_value(L, -2, budget, depth + 1), to_value(L, -1, budget, depth + 1));
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
    if (lua_istable(L, -1)) {   // from message_handler
      lua_rawgeti(L, -1, 1);
      f.message = lua_isstring(L, -1) ? lua_tostring(L, -1) : "error";
      lua_pop(L, 1);
      lua_rawgeti(L, -1, 2);
      f.traceback = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
      lua_pop(L, 1);
    } else {
      // LUA_ERRMEM and LuaJIT's own stack overflow arrive without the message handler having run.
      f.message = error_text(L, -1, false);
    }
    lua_pop(L, 1);
    f.file = rt.last_file.empty() ? fallback_file : rt.last_file;
    f.line = rt.last_line;
    f.timeout = rt.timed_out;
    f.memory = !f.timeout && (status == LUA_ERRMEM || rt.memory_exceeded || rt.alloc.refused ||
                              f.message == "not enough memory");
    if (f.timeout) {
      f.message = fmt::format("time limit exceeded: Lua code ran longer than {} (lua_time_limit, or the file's "
                              "time_limit)",
                              format_duration(rt.limit));
    } else if (f.memory) {
      f.message = fmt::format(
          "{}: the Lua state and the copies luamig makes of its values for the database would "
          "hold more than {} (lua_memory_limit)",
          kMemoryMessage, format_size(rt.alloc.limit));
    } else if (status == LUA_ERRERR && f.message == "stack overflow") {
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
    rt.has_deadline = false;
    rt.timed_out = false;
    rt.db_waits = 0;
    rt.watchdog.disarm();
    rt.alloc.refused = false;
    rt.memory_exceeded = false;
    rt.gc_mark = 0;
    rt.stop_file.clear();
    rt.stop_line = 0;
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
  void protected_call(int nargs, const std::optional<std::chrono::milliseconds>& limit, const std::string& file) {
    auto ms = limit.value_or(std::chrono::milliseconds(-1));
    if (ms.count() < 0) ms = limits.time;
    rt.limit = ms;
    rt.has_deadline = ms.count() > 0;
    rt.deadline = Clock::now() + ms;
    rt.timed_out = false;
    rt.db_waits = 0;
    rt.alloc.refused = false;
    rt.memory_exceeded = false;
    rt.gc_mark = 0;
    rt.c_stack_floor = c_stack_floor();
    rt.last_sql_failure.reset();
    rt.last_sql_error.clear();
    rt.watchdog.set_file(file);
    if (rt.has_deadline) rt.watchdog.arm(rt.deadline, ms);
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

  Limits limits;
};

Engine::Engine(Services* services, Context context, Limits limits, std::string project_lib_dir)
    : impl_(std::make_unique<Impl>()), limits_(limits) {
  auto& I = *impl_;
  I.limits = limits;
  I.rt.services = services;
  I.rt.project_lib_dir = std::move(project_lib_dir);
  I.rt.alloc.limit = limits.memory;
  I.rt.alloc.hard = limits.memory * 2;
  I.rt.alloc.enforce = false;
  I.context = std::move(context);
  if (I.context.dialect == "sqlite") {
    I.rt.true_param = "1";
    I.rt.false_param = "0";
  }
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

  // string.dump would turn functions into bytecode: it is replaced by a refusal (reachable as ("").dump too); the
  // string metatable must not be reachable.
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
  lua_pushcfunction(L, stream_columns_data);
  lua_setfield(L, -2, "columns_data");
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

int Script::function_line(const std::string& name) const {
  lua_State* L = engine_->impl_->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref_);
  lua_pushstring(L, name.c_str());
  lua_rawget(L, -2);
  int line = 0;
  if (lua_isfunction(L, -1)) {
    lua_Debug ar;
    if (lua_getinfo(L, ">S", &ar)) line = ar.linedefined;   // pops the function
    lua_pop(L, 1);
  } else {
    lua_pop(L, 2);
  }
  return line;
}

Value Script::global(const std::string& name) const {
  lua_State* L = engine_->impl_->L;
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
  impl_->rt.watchdog.set_activity("");   // what ran is over: a later message must not name it
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
    throw RunError("the database is not available at the top level of a migration file (luamig runs it to read "
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

const SourcePosition& statement_origin() { return g_statement_origin; }

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
  lua_State* L = lua_newstate(limited_alloc, &rt);
  if (!L) throw RunError("cannot create a Lua state");
  struct Closer {
    lua_State* L;
    ~Closer() { lua_close(L); }
  } closer{L};
  open_library(L, luaopen_base, "");
  open_library(L, luaopen_string, LUA_STRLIBNAME);
  open_library(L, luaopen_table, LUA_TABLIBNAME);
  open_library(L, luaopen_math, LUA_MATHLIBNAME);
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
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
  lua_pushcfunction(L, message_handler);
  lua_pushvalue(L, -3);  // the chunk
  int handler = lua_gettop(L) - 1;

  rt.limit = limits.time;
  rt.has_deadline = limits.time.count() > 0;
  rt.deadline = Clock::now() + limits.time;
  rt.c_stack_floor = c_stack_floor();
  rt.watchdog.set_activity("evaluating the config file");
  rt.watchdog.set_file(path);
  if (rt.has_deadline) rt.watchdog.arm(rt.deadline, limits.time);
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
    ScriptFailure f;
    if (lua_istable(L, -1)) {
      lua_rawgeti(L, -1, 1);
      f.message = lua_isstring(L, -1) ? lua_tostring(L, -1) : "error";
      lua_pop(L, 1);
    } else {
      f.message = error_text(L, -1, false);
    }
    f.file = rt.last_file.empty() ? path : rt.last_file;
    f.line = rt.last_line;
    f.timeout = rt.timed_out;
    f.memory = !f.timeout && (status == LUA_ERRMEM || rt.memory_exceeded || rt.alloc.refused ||
                              f.message == "not enough memory");
    if (f.timeout) {
      f.message = fmt::format("time limit exceeded: the config file ran longer than {} (lua_time_limit)",
                              format_duration(limits.time));
    } else if (f.memory) {
      f.message = fmt::format("{}: the config file would hold more than {} (lua_memory_limit)",
                              kMemoryMessage, format_size(limits.memory));
    } else if (status == LUA_ERRERR && f.message == "stack overflow") {
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

void request_interrupt() { g_interrupt.store(true); }
void clear_interrupt() { g_interrupt.store(false); }

}  // namespace luamig::luahost
