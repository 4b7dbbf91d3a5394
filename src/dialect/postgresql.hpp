#pragma once
#include "dialect/dialect.hpp"

namespace luamig::dialect {
class PostgreSQL : public Dialect {
 public:
  std::string name() const override { return "postgresql"; }
  std::string quote_ident(std::string_view) const override;
  std::string quote_literal(std::string_view) const override;
  std::string placeholder(int n) const override { return std::string("$").append(std::to_string(n)); }
  std::string table_exists_query() const override;
};
}  // namespace luamig::dialect
