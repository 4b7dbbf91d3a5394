#pragma once
// Which ALTER COLUMN ... TYPE changes PostgreSQL makes without rewriting the table (or rebuilding its
// indexes).
#include <string>

namespace luamig::lint {

enum class TypeChange {
  safe,         // no rewrite: catalog change only
  safe_if_utc,  // timestamp -> timestamptz: no rewrite when the session TimeZone is UTC (PostgreSQL 12+)
  rewrite,      // the table is rewritten under ACCESS EXCLUSIVE
  unknown,      // the old type is not known
};

// `from`, `to`: SQL type texts as written ("varchar(20)", "character varying", "numeric(10, 2)", "text").
// `using_clause`: a USING expression was given (anything but the column itself forces a rewrite).
TypeChange classify_type_change(const std::string& from, const std::string& to, bool using_clause);

// The canonical spelling used for comparisons: "varchar(20)", "numeric(10,2)", "timestamptz", "int4"...
std::string canonical_type(const std::string& type);
}  // namespace luamig::lint
