#include "dialect/sqlite.hpp"

namespace luamig::dialect {

std::string SQLite::quote_ident(std::string_view s) const { return quote_doubling(s, '"'); }
std::string SQLite::quote_literal(std::string_view s) const { return quote_doubling(s, '\''); }

std::string SQLite::table_exists_query() const {
  return "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1 AND (?2 = '' OR ?2 = 'main')";
}
}  // namespace luamig::dialect
