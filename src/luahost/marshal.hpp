#pragma once
// Internal to luahost/. The one marshalling path between Lua values and the host's values:
// - Lua -> Param (bound parameters, COPY fields, array elements): nil and op.NULL are NULL, booleans use the
//   renderer's declared encoding (Runtime::true_param), numbers print as integers when they are whole;
// - Cell -> Lua (query results): NULL is op.NULL, integers beyond 2^53 stay strings;
// - Value <-> Lua (headers, config, hook arguments, the plan), bounded against cyclic tables.
#include <cstddef>
#include <lua.hpp>
#include <string>
#include <vector>

#include "luahost/limits.hpp"
#include "luahost/services.hpp"
#include "luahost/value.hpp"

namespace luamig::luahost::detail {

// The sentinel whose address is op.NULL (a light userdata).
extern char g_null_sentinel;

std::string number_text(lua_Number n);
// Text of the Lua value at `idx` as a bound value/COPY field; false when its type has no SQL meaning.
bool to_param(lua_State* L, int idx, Param& out);
// The arguments from `first` to the top as parameters, each charged to `copies`; raises a Lua error naming
// `fname` and the parameter's number for a value of another type or a string holding a NUL byte.
std::vector<Param> collect_params(lua_State* L, int first, const char* fname, HostCopies& copies);
void push_cell(lua_State* L, const Cell& c);

// Copies a Lua value at `idx` into a Value (tables recursively, cycles cut at depth 32). At most `budget`
// values are copied: a file could otherwise hand the host a small cyclic table that expands to billions of
// copies.
constexpr size_t kValueBudget = 1000000;
Value to_value(lua_State* L, int idx, size_t& budget, int depth = 0);
void push_value(lua_State* L, const Value& v);

}  // namespace luamig::luahost::detail
