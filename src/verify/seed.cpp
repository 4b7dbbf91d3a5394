#include "verify/seed.hpp"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <set>

#include "util/sql_failure.hpp"

namespace luamig::verify {
namespace {

std::string text(const std::optional<std::string>& v) { return v ? *v : ""; }

std::string quote_ident(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

struct Column {
  std::string name;
  std::optional<std::string> value;  // SQL expression over the row number g.n; nullopt = leave it out
  std::string why_not;               // set when the column is NOT NULL and no value can be made
};

struct Table {
  std::string qualified, display;
  std::vector<Column> columns;
};

// A value expression for a PostgreSQL column: by type category (pg_type.typcategory), cast to the column's
// type.
std::optional<std::string> postgres_value(const std::string& type, const std::string& category,
                                          const std::string& base, const std::string& type_oid) {
  if (base == "uuid") return "gen_random_uuid()";
  if (base == "json" || base == "jsonb") return fmt::format("'{{}}'::{}", type);
  if (base == "bytea") return "'\\x00'::bytea";
  if (category == "N") return fmt::format("(g.n)::{}", type);
  if (category == "S") return fmt::format("('v' || g.n)::{}", type);
  if (category == "B") return "(g.n % 2 = 0)";
  if (category == "D") return fmt::format("(now() + g.n * interval '1 minute')::{}", type);
  if (category == "T") return fmt::format("(g.n * interval '1 minute')::{}", type);
  if (category == "E")
    return fmt::format(
        "(SELECT e.enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = {} ORDER BY e.enumsortorder "
        "LIMIT 1)::{}",
        type_oid, type);
  if (category == "A") return fmt::format("'{{}}'::{}", type);
  if (category == "I") return fmt::format("('10.0.0.' || (g.n % 250))::{}", type);
  return std::nullopt;
}

std::vector<Table> postgres_tables(db::Connection& conn, const VersionTableName& vt) {
  auto rows = conn.fetch(
      "SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
      "t.typcategory, "
      "bt.typname, a.attnotnull, (d.adbin IS NOT NULL OR a.attidentity <> '' OR a.attgenerated <> ''), "
      "(SELECT format('(SELECT r.%I FROM %I.%I r LIMIT 1)', ra.attname, rn.nspname, rc.relname) "
      " FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class rc ON rc.oid = k.confrelid "
      " JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
      " JOIN pg_catalog.pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1] "
      " WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.conkey = ARRAY[a.attnum] LIMIT 1), "
      "coalesce(nullif(t.typbasetype, 0), t.oid)::text "
      "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_type t ON t.oid = "
      "a.atttypid "
      "JOIN pg_catalog.pg_type bt ON bt.oid = coalesce(nullif(t.typbasetype, 0), t.oid) "
      "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
      "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
      "AND NOT (c.relname = $1 AND n.nspname = CASE WHEN $2 = '' THEN pg_catalog.current_schema() ELSE $2 "
      "END) "
      "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.objid = c.oid AND dep.deptype = 'e') "
      "ORDER BY n.nspname, c.relname, a.attnum",
      {Param{vt.table}, Param{vt.schema}});
  std::vector<Table> tables;
  for (const auto& r : rows) {
    std::string display = text(r[0]) == "public" ? text(r[1]) : text(r[0]) + "." + text(r[1]);
    if (tables.empty() || tables.back().display != display)
      tables.push_back({quote_ident(text(r[0])) + "." + quote_ident(text(r[1])), display, {}});
    Column col{text(r[2]), std::nullopt, ""};
    const bool not_null = text(r[6]) == "t", defaulted = text(r[7]) == "t";
    if (defaulted) {
      // the database fills it
    } else if (r[8]) {
      col.value = *r[8];
    } else {
      col.value = postgres_value(text(r[3]), text(r[4]), text(r[5]), text(r[9]));
      if (!col.value && not_null)
        col.why_not = fmt::format("no value can be generated for column {} of type {}", col.name, text(r[3]));
    }
    tables.back().columns.push_back(std::move(col));
  }
  return tables;
}

std::optional<std::string> sqlite_value(std::string type) {
  for (auto& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto has = [&](const char* s) { return type.find(s) != std::string::npos; };
  if (has("BOOL")) return "(g.n % 2)";
  if (has("DATE") || has("TIME")) return "datetime('now', '+' || g.n || ' minutes')";
  if (has("INT") || has("REAL") || has("FLOA") || has("DOUB") || has("NUM") || has("DEC")) return "g.n";
  if (has("CHAR") || has("CLOB") || has("TEXT") || has("JSON") || has("UUID")) return "'v' || g.n";
  if (has("BLOB")) return "x'00'";
  return "'v' || g.n";
}

std::vector<Table> sqlite_tables(db::Connection& conn, const VersionTableName& vt) {
  std::vector<Table> tables;
  auto names = conn.fetch(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
      "name <> ? "
      "ORDER BY name",
      {Param{vt.table}});
  for (const auto& n : names) {
    Table t{quote_ident(text(n[0])), text(n[0]), {}};
    std::map<std::string, std::string> fks;
    for (const auto& fk :
         conn.fetch("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?)", {n[0]}))
      fks[text(fk[0])] =
          fmt::format("(SELECT r.{} FROM {} r LIMIT 1)", quote_ident(text(fk[2])), quote_ident(text(fk[1])));
    auto cols =
        conn.fetch("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", {n[0]});
    int pk_count = 0;
    for (const auto& c : cols) pk_count += text(c[4]) != "0";
    for (const auto& c : cols) {
      Column col{text(c[0]), std::nullopt, ""};
      bool rowid_alias = pk_count == 1 && text(c[4]) == "1" && text(c[1]).find("INT") != std::string::npos;
      if (c[3] || rowid_alias) {
        // default, or the rowid
      } else if (fks.count(col.name)) {
        col.value = fks[col.name];
      } else {
        col.value = sqlite_value(text(c[1]));
      }
      t.columns.push_back(std::move(col));
    }
    tables.push_back(std::move(t));
  }
  return tables;
}

std::string insert_sql(const Table& t, long long first, int rows, bool sqlite) {
  const long long last = first + rows - 1;
  std::string names, values;
  for (const auto& c : t.columns) {
    if (!c.value) continue;
    names += (names.empty() ? "" : ", ") + quote_ident(c.name);
    values += (values.empty() ? "" : ", ") + *c.value;
  }
  if (sqlite) {
    if (names.empty()) return fmt::format("INSERT INTO {} DEFAULT VALUES", t.qualified);
    return fmt::format(
        "WITH RECURSIVE g(n) AS (SELECT {} UNION ALL SELECT n + 1 FROM g WHERE n < {}) INSERT INTO {} "
        "({}) SELECT {} FROM g",
        first, last, t.qualified, names, values);
  }
  if (names.empty())
    return fmt::format("INSERT INTO {} SELECT FROM generate_series({}, {}) g(n)", t.qualified, first, last);
  return fmt::format("INSERT INTO {} ({}) SELECT {} FROM generate_series({}, {}) g(n)", t.qualified, names,
                     values, first, last);
}
}  // namespace

SeedReport seed_tables(db::Connection& conn, const VersionTableName& version_table, int rows, long long first,
                       bool only_empty) {
  // SQLite's catalog comes with its types and SQL: no generate_series, values by type affinity.
  const bool sqlite = readable_catalog(conn.dialect(), "--data") == dialect::Catalog::sqlite_schema;
  auto tables = sqlite ? sqlite_tables(conn, version_table) : postgres_tables(conn, version_table);
  SeedReport report;
  std::map<std::string, std::string> pending;  // display -> last error
  std::vector<const Table*> todo;
  for (const auto& t : tables) {
    std::string why;
    for (const auto& c : t.columns)
      if (!c.why_not.empty()) why = c.why_not;
    if (only_empty && !conn.fetch(fmt::format("SELECT 1 FROM {} LIMIT 1", t.qualified)).empty()) continue;
    if (!why.empty())
      report.skipped.push_back(t.display + ": " + why);
    else
      todo.push_back(&t);
  }
  // Referenced tables first: retry the failures as long as a pass fills some table.
  for (bool progress = true; progress && !todo.empty();) {
    progress = false;
    std::vector<const Table*> failed;
    for (const auto* t : todo) {
      try {
        conn.execute(insert_sql(*t, first, rows, sqlite));
        report.filled.push_back(t->display);
        progress = true;
      } catch (const SqlFailure& e) {
        pending[t->display] = e.message();
        failed.push_back(t);
      }
    }
    todo = failed;
  }
  for (const auto* t : todo) report.skipped.push_back(t->display + ": INSERT failed: " + pending[t->display]);
  return report;
}
}  // namespace luamig::verify
