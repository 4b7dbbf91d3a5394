#pragma once
// A deterministic description of a database's schema, for comparing it before and after a step. Each object
// is one entry: a key naming it ("index public.users_email_key") and a definition line ("CREATE UNIQUE INDEX
// ... valid"). Owners, OIDs and other incidental facts are left out, so two databases with the same schema
// compare equal.
#include <map>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "dialect/dialect.hpp"

namespace luamig::verify {

using Snapshot = std::map<std::string, std::string>;

// What the version table is: left out of snapshots (it comes and goes with the first upgrade and `downgrade
// base`).
struct VersionTableName {
  std::string table = "alembic_version";
  std::string schema;  // "" = the default schema
};

// PostgreSQL: schemas, tables (persistence, row security), columns (type, nullability, default, identity,
// generated, collation), constraints (pg_get_constraintdef), indexes (pg_get_indexdef and validity),
// sequences, views and materialized views (their definitions), functions and procedures (pg_get_functiondef),
// triggers, enums, domains, composite and range types, extensions, comments. SQLite: tables (columns from
// pragma table_xinfo, foreign keys), indexes, views and triggers (from sqlite_master). Throws SqlFailure, and
// UsageError for a database whose catalog luamig does not read (readable_catalog).
Snapshot take_snapshot(db::Connection& conn, const VersionTableName& version_table);

// The catalog `d` declares (dialect::Dialect::catalog()); throws UsageError (exit 2) naming the database when
// it declares none, since `what` ("verify", "trace --data") reads the schema from it.
dialect::Catalog readable_catalog(const dialect::Dialect& d, const char* what);

// One line per difference, "+ key: definition" (only in `after`), "- key: ..." (only in `before`), or "~ key"
// with both definitions; sorted by key. Empty when equal.
std::vector<std::string> diff_snapshots(const Snapshot& before, const Snapshot& after);
}  // namespace luamig::verify
