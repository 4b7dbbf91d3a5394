#pragma once
// Everything about SQL text that differs between databases, for the engine's own statements (version table,
// locking, catalog queries). Operations in migrations are rendered by the Lua dialect modules (lua/dialect/*.lua).
#include <memory>
#include <string>
#include <string_view>

namespace luamig::dialect {

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string name() const = 0;                        // "postgresql", "sqlite"
  virtual std::string quote_ident(std::string_view) const = 0;
  virtual std::string quote_literal(std::string_view) const = 0;
  // Bound parameter placeholder number n (1-based).
  virtual std::string placeholder(int n) const = 0;
  // "schema"."table", or "table" when schema is empty.
  std::string qualify(std::string_view table, std::string_view schema) const;
  // Alembic's exact table: version_num VARCHAR(32) NOT NULL, CONSTRAINT <table>_pkc PRIMARY KEY (version_num).
  virtual std::string create_version_table(std::string_view table, std::string_view schema) const;
  // A query returning one row when the table exists; takes table name as $1 and schema as $2 ("" = default).
  virtual std::string table_exists_query() const = 0;
  virtual bool transactional_ddl() const { return true; }
  // True when a write transaction locks the whole database (SQLite): concurrent runs then serialise per revision,
  // and the runner re-reads the version table at the start of each one.
  virtual bool serializes_by_transaction() const { return false; }
  virtual std::string begin() const { return "BEGIN"; }
};

// Wraps `s` in `q`, doubling every `q` inside: the quoting rule both dialects share.
std::string quote_doubling(std::string_view s, char q);

// REQUIRES: name is "postgresql" or "sqlite".
std::unique_ptr<Dialect> make(std::string_view name);
}  // namespace luamig::dialect
