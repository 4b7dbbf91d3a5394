#include "db/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "db/connection.hpp"
#include "dialect/postgresql.hpp"
#include "dialect/sqlite.hpp"

namespace luamig::db {

const std::vector<Database>& databases() {
  static const std::vector<Database> all = {
      {"postgresql",
       {"postgresql", "postgres"},
       "postgresql://..., postgresql+DRIVER://...",
       "postgresql",
       config::parse_postgresql_url,
       config::describe_server,
       connect_postgresql,
       []() -> std::unique_ptr<dialect::Dialect> { return std::make_unique<dialect::PostgreSQL>(); }},
      {"sqlite",
       {"sqlite"},
       "sqlite:///...",
       "sqlite",
       config::parse_sqlite_url,
       config::describe_sqlite,
       connect_sqlite,
       []() -> std::unique_ptr<dialect::Dialect> { return std::make_unique<dialect::SQLite>(); }},
  };
  return all;
}

const Database& default_database() { return databases().front(); }

const Database& database(std::string_view name) {
  for (const auto& d : databases())
    if (d.name == name) return d;
  throw std::logic_error(fmt::format("unknown dialect '{}'", name));
}

const Database* database_for_scheme(std::string_view scheme) {
  for (const auto& d : databases())
    if (std::find(d.schemes.begin(), d.schemes.end(), scheme) != d.schemes.end()) return &d;
  return nullptr;
}
}  // namespace luamig::db
