#pragma once
// Test rows for `verify --data` and `trace --data`: fills every table of the database with generated rows, so
// that steps which only fail (or only take long) on non-empty tables show it.
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "verify/catalog_snapshot.hpp"

namespace luamig::verify {

struct SeedReport {
  std::vector<std::string> filled;   // tables that got rows
  std::vector<std::string> skipped;  // "table: why" (a column no value can be generated for, a failed INSERT)
};

// Inserts `rows` generated rows (numbered from `first`: call again with a higher one to add distinct rows)
// into every table but the version table, outside any transaction. Values respect column types and NOT NULL;
// columns with a default, identity or generated columns are left to the database; a With `only_empty`, tables
// that hold rows already are left alone. A single-column foreign key takes a value from the referenced table
// (tables are tried again until no more succeed, so referenced tables fill first). A table that cannot be
// filled is skipped and named in the report.
SeedReport seed_tables(db::Connection& conn, const VersionTableName& version_table, int rows,
                       long long first = 1, bool only_empty = false);
}  // namespace luamig::verify
