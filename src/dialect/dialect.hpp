#pragma once
// Everything about SQL text that differs between databases, for the engine's own statements (version table,
// locking, catalog queries). Operations in migrations are rendered by the Lua dialect modules
// (lua/dialect/*.lua).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::dialect {

// How the inline-parameter scanner (inline_params.hpp) tells code from quoted text. Placeholders are $1..$n
// on every database (luamig's own convention; each driver binds them).
struct LexicalRules {
  bool escape_string_prefix = true;   // E'...' strings take backslash escapes
  bool dollar_quotes = true;          // $tag$ ... $tag$ bodies are quoted text
  bool nested_block_comments = true;  // /* /* */ */ nest
};

// The system catalog a database describes its schema in, for the tools that read it: verify's snapshots and
// seeding, trace's lock, rewrite and scan readings. pg_catalog: PostgreSQL's (with pg_locks and the
// statistics views); sqlite_schema: SQLite's sqlite_schema table and pragma table functions; none: no catalog
// luamig reads, and those tools refuse the database.
enum class Catalog { none, pg_catalog, sqlite_schema };

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string name() const = 0;  // "postgresql", "sqlite"
  virtual std::string quote_ident(std::string_view) const = 0;
  virtual std::string quote_literal(std::string_view) const = 0;
  // Bound parameter placeholder number n (1-based).
  virtual std::string placeholder(int n) const = 0;
  // "schema"."table", or "table" when schema is empty.
  std::string qualify(std::string_view table, std::string_view schema) const;
  // Alembic's exact table: version_num VARCHAR(32) NOT NULL, CONSTRAINT <table>_pkc PRIMARY KEY
  // (version_num).
  virtual std::string create_version_table(std::string_view table, std::string_view schema) const;
  // A query returning one row when the table exists; takes table name as $1 and schema as $2 ("" = default).
  virtual std::string table_exists_query() const = 0;
  virtual bool transactional_ddl() const { return true; }
  // Default: none (verify and trace refuse the database).
  virtual Catalog catalog() const { return Catalog::none; }
  // Default: PostgreSQL's rules.
  virtual LexicalRules lexical_rules() const { return {}; }
  // True when a write transaction locks the whole database (SQLite): concurrent runs then serialise per
  // revision, and the runner re-reads the version table at the start of each one.
  virtual bool serializes_by_transaction() const { return false; }
  virtual std::string begin() const { return "BEGIN"; }
  // Sets a server timeout ("lock_timeout", "statement_timeout") for the current transaction (`local`) or for
  // the session; "" when the database has no such setting (then nothing is run).
  virtual std::string set_timeout(std::string_view /*setting*/, std::chrono::milliseconds /*value*/,
                                  bool /*local*/) const {
    return "";
  }
  // An array literal carrying `values` (NULL where a value is absent) as one bound parameter, for statements
  // that take a whole batch per parameter (UPDATE ... FROM unnest($1::bigint[], ...)). Throws RunError when
  // the database has no arrays (the default).
  virtual std::string array_literal(const std::vector<std::optional<std::string>>& values) const;
  // A query returning the schema unqualified names are created in (one row, one column, maybe NULL); "" when
  // the database has no schemas.
  virtual std::string current_schema_query() const { return ""; }
  // A query returning the database user the session runs as (one row, one column); "" when the database has
  // no users (the operating system's user stands in).
  virtual std::string current_user_query() const { return ""; }
  // Statements that undo what a migration may have set for the session (search_path, role, session settings),
  // back to the connection's defaults, one statement each; none when there is nothing to reset.
  virtual std::vector<std::string> reset_session() const { return {}; }
  // A query listing the settings set for the session (name, value as SET would take it).
  virtual std::string session_settings_query() const { return ""; }
  // Restores a session setting to its default; "" when unsupported.
  virtual std::string reset_setting(std::string_view /*setting*/) const { return ""; }
};

// Wraps `s` in `q`, doubling every `q` inside: the quoting rule both dialects share.
std::string quote_doubling(std::string_view s, char q);
// The dialect of a registered database: db::database(name).make_dialect() (db/registry.hpp).
}  // namespace luamig::dialect
