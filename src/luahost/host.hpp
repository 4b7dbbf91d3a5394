#pragma once
// Internal to luahost/. The host table engine Lua code receives (lua/sandbox.lua): database bindings
// (host_db.cpp) and utilities (host_misc.cpp).
#include <lua.hpp>

namespace luamig::luahost::detail {

// Registers the RowStream userdata's metatable (query results).
void register_row_stream(lua_State* L);
// Add their functions to the table on top of the stack.
void add_database_functions(lua_State* L);
void add_utility_functions(lua_State* L);
// host.engine_module(name, ...): runs lua/<name>.lua (trusted engine code, with the real globals) with the
// arguments and returns its result.
int host_engine_module(lua_State* L);

}  // namespace luamig::luahost::detail
