#pragma once
// Internal to luahost/. The bookkeeping of one engine's Lua state that C functions reach from the state alone
// (runtime_of(L)): the limits, the host services, what the last error left behind, and the running call's
// context.
#include <map>
#include <optional>
#include <string>

#include "luahost/limits.hpp"
#include "luahost/services.hpp"
#include "util/sql_failure.hpp"

namespace luamig::luahost::detail {

struct Runtime : LimitState {
  Services* services = nullptr;
  // Error capture (error_capture.hpp): the statement failure the last error came from, and where the last
  // error happened in a user file.
  std::optional<SqlFailure> last_sql_failure;
  std::string last_sql_error;  // the Lua error text raised for last_sql_failure
  std::string last_file;
  int last_line = 0;
  std::string project_lib_dir;
  std::map<std::string, std::string> call_context;  // revision, direction... of the running call
  // How a Lua boolean travels as a text parameter: the renderer's declared caps.bool_encoding
  // (lua/dialect/<name>.lua), read when the engine starts.
  std::string true_param = "true";
  std::string false_param = "false";
};

// REQUIRES: L was created with lua_newstate(limited_alloc, static_cast<LimitState*>(&runtime)).
inline Runtime* runtime_of(lua_State* L) { return static_cast<Runtime*>(limits_of(L)); }

}  // namespace luamig::luahost::detail
