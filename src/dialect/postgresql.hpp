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
  Catalog catalog() const override { return Catalog::pg_catalog; }
  std::string current_schema_query() const override { return "SELECT pg_catalog.current_schema()"; }
  std::string current_user_query() const override { return "SELECT current_user"; }
  // RESET ALL leaves the role alone (it is GUC_NO_RESET_ALL): SET SESSION AUTHORIZATION DEFAULT and RESET
  // ROLE bring back the user luamig logged in as; both may be run by any user.
  std::vector<std::string> reset_session() const override {
    return {"RESET ALL", "SET SESSION AUTHORIZATION DEFAULT", "RESET ROLE"};
  }
  std::string session_settings_query() const override {
    return "SELECT name, pg_catalog.current_setting(name) FROM pg_catalog.pg_settings WHERE source = "
           "'session'";
  }
  std::string set_timeout(std::string_view setting, std::chrono::milliseconds value,
                          bool local) const override;
  std::string reset_setting(std::string_view setting) const override;
  // '{"a","b",NULL}': every element quoted, backslashes and quotes escaped.
  std::string array_literal(const std::vector<std::optional<std::string>>& values) const override;
};
}  // namespace luamig::dialect
