#pragma once
#include "dialect/dialect.hpp"

namespace luamig::dialect {
class SQLite : public Dialect {
 public:
  std::string name() const override { return "sqlite"; }
  std::string quote_ident(std::string_view) const override;
  std::string quote_literal(std::string_view) const override;
  std::string placeholder(int n) const override { return std::string("?").append(std::to_string(n)); }
  std::string table_exists_query() const override;
  std::string begin() const override { return "BEGIN IMMEDIATE"; }
  bool serializes_by_transaction() const override { return true; }
};
}  // namespace luamig::dialect
