#include "dialect/dialect.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "dialect/postgresql.hpp"
#include "dialect/sqlite.hpp"

namespace luamig::dialect {

std::string quote_doubling(std::string_view s, char q) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back(q);
  for (char c : s) {
    if (c == q) out.push_back(q);
    out.push_back(c);
  }
  out.push_back(q);
  return out;
}

std::string Dialect::qualify(std::string_view table, std::string_view schema) const {
  if (schema.empty()) return quote_ident(table);
  return quote_ident(schema) + "." + quote_ident(table);
}

std::string Dialect::create_version_table(std::string_view table, std::string_view schema) const {
  return fmt::format("CREATE TABLE {} (\n    version_num VARCHAR(32) NOT NULL,\n    CONSTRAINT {} PRIMARY KEY (version_num)\n)",
                     qualify(table, schema), quote_ident(std::string(table) + "_pkc"));
}

std::unique_ptr<Dialect> make(std::string_view name) {
  if (name == "postgresql") return std::make_unique<PostgreSQL>();
  if (name == "sqlite") return std::make_unique<SQLite>();
  throw std::logic_error(fmt::format("unknown dialect '{}'", name));
}
}  // namespace luamig::dialect
