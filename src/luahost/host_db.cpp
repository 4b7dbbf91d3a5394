// The database bindings of the host table (host.execute, query, query_all, send, wait_sent, copy_rows,
// array_literal, transaction, autocommit_block, set_protected, in_transaction, log) and the RowStream
// userdata. Every binding copies its arguments through marshal.hpp, charges the copies to the memory budget,
// stops the Lua clock while the database works (DbWait) and turns C++ exceptions into Lua errors that keep
// the message and SQLSTATE.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <lua.hpp>
#include <memory>
#include <stdexcept>

#include "luahost/error_capture.hpp"
#include "luahost/host.hpp"
#include "luahost/marshal.hpp"
#include "luahost/runtime.hpp"
#include "luahost/statement_origin.hpp"

namespace luamig::luahost::detail {
namespace {

// Where the statement being run comes from (statement_origin()): set by sql_argument, cleared when the
// database call ends, so that statements the runner sends on its own (the version table) have no origin.
thread_local SourcePosition g_statement_origin;

// A database call in progress: the Lua clock stops (DbWait), and the statement's origin is forgotten after.
struct DbCall : DbWait {
  explicit DbCall(LimitState* r) : DbWait(r) {}
  ~DbCall() { g_statement_origin = {}; }
  DbCall(const DbCall&) = delete;
  DbCall& operator=(const DbCall&) = delete;
};

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

// The statement every host.* SQL function takes first, copied before anything can raise a Lua error. Records
// where in the migration it comes from (statement_origin()).
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
    DbCall wait(rt);
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
  DbCall wait(runtime_of(L));
  delete box->stream;
  box->stream = nullptr;
  return 0;
}

// stream:next() -> row table keyed by column name (NULL as op.NULL), or nil at the end.
int stream_next(lua_State* L) {
  auto* box = static_cast<StreamBox*>(luaL_checkudata(L, 1, kRowStreamMeta));
  if (!box->stream) return 0;
  return guarded(L, [&] {
    thread_local std::vector<Cell> row;
    bool more;
    {
      DbCall wait(runtime_of(L));
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

// stream:columns_data() -> names, data, n: every remaining row, column by column (data[name][i]), without a
// table per row. For bounded batches (backfills); NULL is op.NULL.
int stream_columns_data(lua_State* L) {
  auto* box = static_cast<StreamBox*>(luaL_checkudata(L, 1, kRowStreamMeta));
  return guarded(L, [&] {
    lua_newtable(L);  // names
    lua_newtable(L);  // data
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
      lua_newtable(L);  // the column's array, at base + 1 + c
    }
    thread_local std::vector<Cell> row;
    int n = 0;
    // Reading a batch is waiting on the database (a cursor FETCHes as it goes), not Lua time.
    DbCall wait(runtime_of(L));
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
int push_query(lua_State* L,
               std::unique_ptr<RowStream> (Services::*open)(const std::string&, const std::vector<Param>&)) {
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
    DbCall wait(rt);
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
    DbCall wait(rt);
    rt->services->send(statement, params);
    return 0;
  });
}

int host_wait_sent(lua_State* L) {
  return guarded(L, [&] {
    Runtime* rt = runtime_of(L);
    long long n;
    {
      DbCall wait(rt);
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
    DbCall wait(rt);
    rt->services->autocommit_block([&] {
      lua_pushvalue(L, 1);
      rt->resume_clock();  // the block's own Lua code counts
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

// host.copy_rows(table_sql, {column_sql...}, {{v1, v2...}, ...}) -> rows written. Names arrive quoted
// (op.lua).
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
        if (!to_param(L, -1, row[static_cast<size_t>(c - 1)]))
          throw std::runtime_error(
              fmt::format("op.copy_rows: row {}, column {} is a {}; pass a string, number, "
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
    DbCall wait(rt);
    long long n = rt->services->copy_rows(table, columns, rows);
    lua_pushnumber(L, static_cast<lua_Number>(n));
    return 1;
  });
}

// host.array_literal(list, n) -> the database's array literal of list[1..n] (PostgreSQL: '{"a","b",NULL}'):
// one bound parameter carries a whole batch of values (UPDATE ... FROM unnest($1::bigint[], $2::text[])). nil
// and op.NULL are NULL. The encoding is the database's (Dialect::array_literal, through Services).
int host_array_literal(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = static_cast<int>(luaL_checkinteger(L, 2));
  return guarded(L, [&] {
    HostCopies copies(L);
    std::vector<Param> values(static_cast<size_t>(std::max(n, 0)));
    copies.charge(values.size() * (sizeof(Param) + 16) + 2);
    for (int i = 1; i <= n; ++i) {
      Param& value = values[static_cast<size_t>(i - 1)];
      lua_rawgeti(L, 1, i);
      if (!to_param(L, -1, value))
        throw std::runtime_error(
            fmt::format("array element {} is a {}; pass a string, number, boolean, nil or op.NULL", i,
                        luaL_typename(L, -1)));
      lua_pop(L, 1);
      // The element's copy, its text in the literal, and the literal's copy as a bound parameter.
      if (value) copies.charge(3 * value->size() + 3);
    }
    std::string out;
    {
      DbCall wait(runtime_of(L));
      out = runtime_of(L)->services->array_literal(values);
    }
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

// host.transaction(fn): runs fn between BEGIN and COMMIT (ROLLBACK when it fails), as autocommit_block does
// the reverse.
int host_transaction(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  Runtime* rt = runtime_of(L);
  std::string err;
  try {
    DbCall wait(rt);
    rt->services->transaction([&] {
      lua_pushvalue(L, 1);
      rt->resume_clock();  // the block's own Lua code counts
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

const luaL_Reg kDatabaseFunctions[] = {
    {"execute", host_execute},
    {"query", host_query},
    {"log", host_log},
    {"autocommit_block", host_autocommit},
    {"copy_rows", host_copy_rows},
    {"array_literal", host_array_literal},
    {"query_all", host_query_all},
    {"send", host_send},
    {"wait_sent", host_wait_sent},
    {"in_transaction", host_in_transaction},
    {"set_protected", host_set_protected},
    {"transaction", host_transaction},
    {nullptr, nullptr},
};

}  // namespace

void register_row_stream(lua_State* L) {
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
}

void add_database_functions(lua_State* L) { luaL_register(L, nullptr, kDatabaseFunctions); }

}  // namespace luamig::luahost::detail

namespace luamig::luahost {
const SourcePosition& statement_origin() { return detail::g_statement_origin; }
}  // namespace luamig::luahost
