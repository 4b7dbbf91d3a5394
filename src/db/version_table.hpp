#pragma once
// The alembic_version table, kept exactly as Alembic keeps it: one row per applied head.
#include <string>
#include <vector>

#include "db/connection.hpp"

namespace luamig::db {

class VersionTable {
 public:
  // `schema` "" means the connection's default schema. `lookup_schema`, when given, is the schema that
  // default was when the run started: catalog lookups use it, while statements keep the name as configured
  // (unqualified when `schema` is ""), so that what they print matches Alembic's.
  VersionTable(Connection& conn, std::string table, std::string schema, std::string lookup_schema = "");
  bool exists();
  // Creates the table when missing (Alembic's DDL). Runs in the caller's transaction if one is open.
  void ensure();
  // Current heads, sorted. Empty when the table does not exist (never creates it); *table_exists, when given,
  // tells the two apart. Outside a transaction this is one query (the SELECT itself; a missing table is
  // caught).
  std::vector<std::string> heads(bool* table_exists = nullptr);
  // Single-row changes; each checks that exactly one row changed, as Alembic's HeadMaintainer does, and
  // throws RunError otherwise ("version table out of sync"), when the change is sent: inside a transaction it
  // is deferred (Connection::defer) to the next statement or COMMIT.
  void insert(const std::string& rev);
  void remove(const std::string& rev);
  void update(const std::string& from, const std::string& to);
  void clear();
  // Alembic's CREATE TABLE for this version table.
  std::string create_sql() const;
  const std::string& qualified_name() const { return qualified_; }

 private:
  void change(const std::string& sql, const std::vector<Param>& params, std::string what);
  static void expect_one(const std::string& table, long long n, const std::string& what);
  Connection& conn_;
  std::string table_, schema_, qualified_, lookup_schema_;
};
}  // namespace luamig::db
