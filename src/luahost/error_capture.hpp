#pragma once
// Internal to luahost/. How an error in Lua code becomes a ScriptFailure (engine.hpp): message_handler runs
// under every protected call and records the position in a user file (chunks named "@path"); after the call,
// failure_from_stack() reads what it left. Error values of any type become readable text (error_text), a
// __tostring metamethod running under a short budget of its own.
#include <optional>
#include <string>

#include "luahost/engine.hpp"

struct lua_State;

namespace luamig::luahost::detail {

// Converts any error value into text. A __tostring metamethod runs (only when `call_metamethods`) under its
// own short time budget, and whatever it does (error, loop, wrong type) the result is a readable message.
std::string error_text(lua_State* L, int idx, bool call_metamethods);

// The position at the start of an error message ("path:12: text"), as luaL_where writes it: the path may be
// shortened to "...tail" when long.
struct MessagePosition {
  std::string file;
  int line = 0;
  std::string rest;
};
std::optional<MessagePosition> message_position(const std::string& msg);
// True when `shown` (a chunk name as error messages show it) names the file `path`.
bool names_file(const std::string& shown, const std::string& path);

// The message handler (a lua_CFunction): leaves {message, traceback} and records the position in the runtime.
int message_handler(lua_State* L);

// Bytecode is refused by the "t" load mode with a cryptic message: throws a ScriptError that says what is
// wrong.
void refuse_bytecode(const std::string& path, const std::string& source);

// Splits the parser's "path:LINE: message" into a ScriptFailure, its message prefixed by `prefix_text`.
ScriptFailure located_failure(const std::string& path, const std::string& raw, const char* prefix_text);

// Pops the error a failed protected call left (status != 0) and returns it with the position message_handler
// recorded (else `fallback_file`), and the timeout/memory flags. The caller words timeouts and memory
// failures.
ScriptFailure failure_from_stack(lua_State* L, int status, const std::string& fallback_file);
// LuaJIT's own "stack overflow" (raised without the message handler).
bool is_lua_stack_overflow(int status, const ScriptFailure& f);

}  // namespace luamig::luahost::detail
