#include "db/version_table.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/error.hpp"
#include "util/sql_failure.hpp"

namespace luamig::db {
namespace {
const char kUndefinedTable[] = "42P01";
}  // namespace

VersionTable::VersionTable(Connection& conn, std::string table, std::string schema, std::string lookup_schema)
    : conn_(conn),
      table_(std::move(table)),
      schema_(std::move(schema)),
      lookup_schema_(std::move(lookup_schema)) {
  qualified_ = conn_.dialect().qualify(table_, schema_);
  if (lookup_schema_.empty()) lookup_schema_ = schema_;
}

bool VersionTable::exists() {
  return !conn_.fetch(conn_.dialect().table_exists_query(), {table_, lookup_schema_}).empty();
}

void VersionTable::ensure() {
  if (!exists()) conn_.execute(create_sql());
}

std::vector<std::string> VersionTable::heads(bool* table_exists) {
  if (table_exists) *table_exists = false;
  const std::string select = fmt::format("SELECT version_num FROM {}", qualified_);
  ResultRows rows;
  if (conn_.in_transaction()) {
    // Inside a transaction a failing SELECT would abort it (PostgreSQL): ask the catalog first.
    if (!exists()) return {};
    rows = conn_.fetch(select);
  } else {
    // One round trip when the table is there, which is every run but the first: its absence shows as an error
    // (undefined_table on PostgreSQL; other dialects' errors are checked against the catalog).
    try {
      rows = conn_.fetch(select);
    } catch (const SqlFailure& e) {
      if (e.sqlstate() == kUndefinedTable || !exists()) return {};
      // Another process created it between the two reads (SQLite, several processes upgrading one file): read
      // it now; any other error shows again here.
      rows = conn_.fetch(select);
    }
  }
  if (table_exists) *table_exists = true;
  std::vector<std::string> out;
  for (const auto& row : rows)
    if (!row.empty() && row[0]) out.push_back(*row[0]);
  std::sort(out.begin(), out.end());
  return out;
}

void VersionTable::expect_one(const std::string& table, long long n, const std::string& what) {
  if (n < 0) return;  // an offline (--sql) connection cannot know the count
  if (n != 1)
    throw RunError(
        fmt::format("version table {} out of sync: {} changed {} rows instead of 1 (did another process "
                    "change it?)",
                    table, what, n));
}

// The changes are deferred (Connection::defer): inside the step's transaction they travel with the history
// row and the lock check in one round trip before COMMIT, and a count other than 1 stops the COMMIT.
void VersionTable::change(const std::string& sql, const std::vector<Param>& params, std::string what) {
  conn_.defer(sql, params, false, [table = qualified_, what = std::move(what)](const Connection::Checked& c) {
    expect_one(table, c.affected, what);
  });
}

void VersionTable::insert(const std::string& rev) {
  const auto& d = conn_.dialect();
  change(fmt::format("INSERT INTO {} (version_num) VALUES ({})", qualified_, d.placeholder(1)), {rev},
         "inserting " + rev);
}

void VersionTable::remove(const std::string& rev) {
  const auto& d = conn_.dialect();
  change(fmt::format("DELETE FROM {} WHERE version_num = {}", qualified_, d.placeholder(1)), {rev},
         "deleting " + rev);
}

void VersionTable::update(const std::string& from, const std::string& to) {
  const auto& d = conn_.dialect();
  change(fmt::format("UPDATE {} SET version_num = {} WHERE version_num = {}", qualified_, d.placeholder(1),
                     d.placeholder(2)),
         {to, from}, fmt::format("updating {} to {}", from, to));
}

void VersionTable::clear() { conn_.execute(fmt::format("DELETE FROM {}", qualified_)); }

std::string VersionTable::create_sql() const { return conn_.dialect().create_version_table(table_, schema_); }
}  // namespace luamig::db
