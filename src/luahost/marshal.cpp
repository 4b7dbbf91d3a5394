// The one marshalling path between Lua values and the host's values: bound parameters and COPY fields
// (Param), result cells (Cell), and Values copied in and out (headers, config, hook arguments, the recorded
// plan).
#include "luahost/marshal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>
#include <memory>

#include "luahost/runtime.hpp"

namespace luamig::luahost::detail {

char g_null_sentinel;

std::string number_text(lua_Number n) {
  if (std::isfinite(n) && std::floor(n) == n && std::fabs(n) < 9007199254740992.0)
    return fmt::format("{}", static_cast<long long>(n));
  return fmt::format("{:.17g}", n);
}

bool to_param(lua_State* L, int idx, Param& out) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      out = std::nullopt;
      return true;
    case LUA_TBOOLEAN: {
      const Runtime* rt = runtime_of(L);
      out = lua_toboolean(L, idx) ? rt->true_param : rt->false_param;
      return true;
    }
    case LUA_TNUMBER:
      out = number_text(lua_tonumber(L, idx));
      return true;
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
    default:
      return false;
  }
}

std::vector<Param> collect_params(lua_State* L, int first, const char* fname, HostCopies& copies) {
  std::vector<Param> params;
  int top = lua_gettop(L);
  params.reserve(static_cast<size_t>(std::max(top - first + 1, 0)));
  for (int i = first; i <= top; ++i) {
    int n = i - first + 1;
    switch (lua_type(L, i)) {
      case LUA_TNUMBER:
        copies.charge(param_cost(24));
        break;
      case LUA_TSTRING: {
        size_t len;
        const char* s = lua_tolstring(L, i, &len);
        copies.charge(param_cost(len));
        // libpq passes text parameters as C strings: a NUL would silently cut the value short.
        if (std::memchr(s, 0, len))
          luaL_error(
              L,
              "%s: parameter $%d contains a NUL byte, which PostgreSQL text cannot hold (use bytea and "
              "decode())",
              fname, n);
        break;
      }
      default:
        copies.charge(kParamOverhead);
        break;
    }
    Param p;
    if (!to_param(L, i, p))
      luaL_error(L, "%s: parameter $%d is a %s; pass a string, number, boolean, nil or op.NULL", fname, n,
                 luaL_typename(L, i));
    params.push_back(std::move(p));
  }
  return params;
}

void push_cell(lua_State* L, const Cell& c) {
  switch (c.kind) {
    case Cell::Null:
      lua_pushlightuserdata(L, &g_null_sentinel);
      break;
    case Cell::Boolean:
      lua_pushboolean(L, c.text == "t" || c.text == "true" || c.text == "1");
      break;
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
    case Cell::Float:
      lua_pushnumber(L, std::strtod(c.text.c_str(), nullptr));
      break;
    case Cell::Text:
      lua_pushlstring(L, c.text.data(), c.text.size());
      break;
  }
}

Value to_value(lua_State* L, int idx, size_t& budget, int depth) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  Value v;
  if (budget == 0) return v;
  --budget;
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
      v.v = static_cast<bool>(lua_toboolean(L, idx));
      break;
    case LUA_TNUMBER:
      v.v = static_cast<double>(lua_tonumber(L, idx));
      break;
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
    default:
      break;
  }
  return v;
}

void push_value(lua_State* L, const Value& v) {
  switch (v.v.index()) {
    case 0:
      lua_pushnil(L);
      break;
    case 1:
      lua_pushboolean(L, v.boolean());
      break;
    case 2:
      lua_pushnumber(L, v.num());
      break;
    case 3:
      lua_pushlstring(L, v.str().data(), v.str().size());
      break;
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

}  // namespace luamig::luahost::detail
