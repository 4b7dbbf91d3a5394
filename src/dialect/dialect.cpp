#include "dialect/dialect.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "util/error.hpp"

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

std::string Dialect::array_literal(const std::vector<std::optional<std::string>>&) const {
  throw RunError(fmt::format("{} has no array parameters", name()));
}

std::string Dialect::qualify(std::string_view table, std::string_view schema) const {
  if (schema.empty()) return quote_ident(table);
  return quote_ident(schema) + "." + quote_ident(table);
}

std::string Dialect::create_version_table(std::string_view table, std::string_view schema) const {
  return fmt::format(
      "CREATE TABLE {} (\n    version_num VARCHAR(32) NOT NULL,\n    CONSTRAINT {} PRIMARY KEY "
      "(version_num)\n)",
      qualify(table, schema), quote_ident(std::string(table) + "_pkc"));
}
}  // namespace luamig::dialect
