#include "dialect/postgresql.hpp"

#include <fmt/format.h>

namespace luamig::dialect {

std::string PostgreSQL::quote_ident(std::string_view s) const { return quote_doubling(s, '"'); }

std::string PostgreSQL::quote_literal(std::string_view s) const {
  // With standard_conforming_strings on (the default since 9.1) only quotes need doubling; a backslash
  // switches to the E'' form so the text survives either setting.
  if (s.find('\\') == std::string_view::npos) return quote_doubling(s, '\'');
  std::string out = "E'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back(c);
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string PostgreSQL::table_exists_query() const {
  return "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
         "WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND "
         "n.nspname = (CASE WHEN $2 = '' THEN pg_catalog.current_schema() ELSE $2 END)";
}

std::string PostgreSQL::set_timeout(std::string_view setting, std::chrono::milliseconds value,
                                    bool local) const {
  // Milliseconds are exact; SHOW prints the value back in the largest unit that divides it ("5s", "10min").
  return fmt::format("SET {}{} = '{}ms'", local ? "LOCAL " : "", setting, value.count());
}

std::string PostgreSQL::reset_setting(std::string_view setting) const {
  return fmt::format("RESET {}", setting);
}
std::string PostgreSQL::array_literal(const std::vector<std::optional<std::string>>& values) const {
  size_t size = 2;
  for (const auto& v : values) size += (v ? v->size() + 3 : 4) + 1;
  std::string out;
  out.reserve(size);
  out.push_back('{');
  bool first = true;
  for (const auto& v : values) {
    if (!first) out.push_back(',');
    first = false;
    if (!v) {
      out += "NULL";
      continue;
    }
    out.push_back('"');
    for (char c : *v) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}
}  // namespace luamig::dialect
