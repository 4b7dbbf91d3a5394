// Error capture: the message handler every protected call runs under, error values as text, and the failure a
// caller receives (ScriptFailure) with its file:line and SQL details.
#include "luahost/error_capture.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <lua.hpp>
#include <vector>

#include "luahost/runtime.hpp"

namespace luamig::luahost::detail {
using namespace std::chrono_literals;
namespace {
// Longest error message kept (a hostile __tostring may return megabytes).
constexpr size_t kMaxMessage = 4000;
// How long a __tostring metamethod of an error object may run while the error is reported.
constexpr auto kToStringBudget = 1000ms;

std::string truncated(std::string s) {
  if (s.size() <= kMaxMessage) return s;
  size_t more = s.size() - kMaxMessage;
  s.resize(kMaxMessage);
  return s + fmt::format("... ({} more bytes)", more);
}
}  // namespace

// Converts any error value into text. A __tostring metamethod runs (only when `call_metamethods`) under its
// own short time budget, and whatever it does (error, loop, wrong type) the result is a readable message.
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
      result =
          fmt::format("(error object is a {} value whose __tostring failed: {})", type, truncated(inner));
    } else if (lua_type(L, -1) != LUA_TSTRING) {
      result = fmt::format("(error object is a {} value whose __tostring returned a {})", type,
                           luaL_typename(L, -1));
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

std::optional<MessagePosition> message_position(const std::string& msg) {
  auto colon = msg.find(": ");
  if (colon == std::string::npos) return std::nullopt;
  auto head = msg.substr(0, colon);
  auto line_colon = head.rfind(':');
  if (line_colon == std::string::npos || line_colon + 1 == head.size()) return std::nullopt;
  for (size_t i = line_colon + 1; i < head.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(head[i]))) return std::nullopt;
  return MessagePosition{head.substr(0, line_colon), std::atoi(head.c_str() + line_colon + 1),
                         msg.substr(colon + 2)};
}

// True when `shown` (a chunk name as error messages show it) names the file `path`.
bool names_file(const std::string& shown, const std::string& path) {
  if (shown == path) return true;
  if (shown.rfind("...", 0) != 0) return false;
  std::string tail = shown.substr(3);
  return path.size() >= tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0;
}

// Message handler: turns the error into "message" + traceback and records its position in a user file. The
// message's own "file:line: " prefix wins when it names a user file on the stack: it is where the error was
// raised (inside a coroutine, or at the caller for error(msg, 2)), where the stack only shows where it
// surfaced.
int message_handler(lua_State* L) {
  Runtime* rt = runtime_of(L);
  bool timeout = rt->timed_out;
  bool interrupted = g_interrupt.load(std::memory_order_relaxed);
  bool stopping = timeout || rt->memory_exceeded || interrupted;
  if (stopping) lua_sethook(L, nullptr, 0, 0);  // the handler must run to its end (and no __tostring runs)
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
  // A statement failure caught by pcall earlier is not the cause of this error: only keep the SQL details
  // when the error being raised still carries the database's message.
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

ScriptFailure failure_from_stack(lua_State* L, int status, const std::string& fallback_file) {
  Runtime* rt = runtime_of(L);
  ScriptFailure f;
  if (lua_istable(L, -1)) {  // from message_handler
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
  f.file = rt->last_file.empty() ? fallback_file : rt->last_file;
  f.line = rt->last_line;
  f.timeout = rt->timed_out;
  f.memory = !f.timeout && (status == LUA_ERRMEM || rt->memory_exceeded || rt->alloc.refused ||
                            f.message == "not enough memory");
  return f;
}

bool is_lua_stack_overflow(int status, const ScriptFailure& f) {
  return status == LUA_ERRERR && f.message == "stack overflow";
}

}  // namespace luamig::luahost::detail
