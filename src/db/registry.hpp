#pragma once
// The databases luamig speaks to: one entry per database ties its URL schemes to its URL parser, its
// connection factory, its C++ dialect (engine statements: version table, timeouts, the inline-parameter
// scanner's lexical rules) and its Lua renderer (lua/dialect/<renderer>.lua, interface in
// lua/dialect/interface.lua). Nothing else in C++ branches on a database's name: adding a database is its
// connection file, its dialect file, its renderer and one line in registry.cpp (ARCHITECTURE.md, "Adding a
// database").
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/url.hpp"

namespace luamig::dialect {
class Dialect;
}

namespace luamig::db {
class Connection;

struct Database {
  std::string_view name;                  // the dialect's name: Dialect::name(), context.dialect, op.dialect
  std::vector<std::string_view> schemes;  // URL schemes ("postgresql", "postgres")
  std::string_view url_hint;              // for the unknown-scheme message: "postgresql://..."
  std::string_view renderer;              // lua/dialect/<renderer>.lua
  // Fills `u` (raw and dialect are set) from what follows "<scheme>://" (at offset rest_at of u.raw). Throws
  // ConfigError. The scheme may carry SQLAlchemy's "+DRIVER" suffix, which is ignored.
  void (*parse_url)(config::DatabaseUrl& u, size_t rest_at);
  // "host h, port p, ..." or "SQLite database f.db": where connection errors say they tried.
  std::string (*describe)(const config::DatabaseUrl& u);
  std::unique_ptr<Connection> (*connect)(const config::DatabaseUrl& u);
  std::unique_ptr<dialect::Dialect> (*make_dialect)();
};

// Every database, the default first.
const std::vector<Database>& databases();
// The database a URL without a scheme (libpq key=value conninfo) and `--sql` without a URL use: PostgreSQL.
const Database& default_database();
// REQUIRES: `name` is a registered database's name (else std::logic_error).
const Database& database(std::string_view name);
// nullptr for an unknown scheme.
const Database* database_for_scheme(std::string_view scheme);
}  // namespace luamig::db
