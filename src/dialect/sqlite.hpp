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
  Catalog catalog() const override { return Catalog::sqlite_schema; }
  std::string begin() const override { return "BEGIN IMMEDIATE"; }
  bool serializes_by_transaction() const override { return true; }
  // No E'' strings, no dollar quotes, and a block comment ends at the first */.
  LexicalRules lexical_rules() const override { return {false, false, false}; }
};
}  // namespace luamig::dialect
