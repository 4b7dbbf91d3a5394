// A database and a project whose luamig.lua points at it (`url = "..."`), and PostgreSQL catalog helpers.
//
//   Fixture f;                                   // PostgreSQL (TempDb): PostgreSQL-only behaviour,
//   pg_catalog TEST_CASE(...) { DUAL_FIXTURE(f); ... }      // DualFixture f, on PostgreSQL then on SQLite
//   (TestDb) f.migration("a1", std::nullopt, up, down, "transactional = false", "msg");   // globals before
//   upgrade() LM_OK(f, {"upgrade", "head"});               // runs luamig in f.proj, requires exit status 0
//   auto r = f.lm({"downgrade", "base"});        // RunResult; cwd = f.proj, no DATABASE_URL needed
//   f.value(sql), f.column(sql)                  // query the database
//   column_defs(f.db, "t"), constraint_defs(f.db, "public.t"), index_defs(f.db, "t")
//
// For a project that reaches its database through DATABASE_URL instead, see cli.hpp (luamig_in,
// BOTH_DIALECTS_DB).
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

namespace luamig::test {

using Strings = std::vector<std::string>;

// What Fixture and DualFixture share: the project, luamig run in it, revision files written into it.
struct FixtureProject {
  TempProject proj;

  // luamig with `args` in the project (cwd = proj; the rest of `opts` is kept).
  RunResult lm(const std::vector<std::string>& args, RunOptions opts = {}) const {
    opts.cwd = proj.path();
    return luamig(args, opts);
  }
  // Writes migrations/versions/<rev>_<slug>.lua; `globals` are top-level lines placed before upgrade().
  void migration(const std::string& rev, std::optional<std::string> down, const std::string& up,
                 const std::string& down_body, const std::string& globals = "",
                 const std::string& msg = "msg") const {
    proj.write_migration(rev, std::move(down), up, down_body, msg, globals);
  }
};

// A fresh PostgreSQL database and a project whose config points at it.
struct Fixture : FixtureProject {
  TempDb db;
  Fixture() { proj.write_config("url = \"" + db.url() + "\""); }

  std::string value(const std::string& sql) const { return db.query_value(sql); }
  Strings column(const std::string& sql) const { return db.query_column(sql); }
};

// A fresh database of `dialect` ("postgresql" or "sqlite") and a project whose config points at it.
struct DualFixture : FixtureProject {
  std::unique_ptr<TestDb> owner;
  const TestDb& db;
  explicit DualFixture(const std::string& dialect) : owner(TestDb::make(dialect)), db(*owner) {
    proj.write_config("url = \"" + db.url() + "\"");
  }
  bool sqlite() const { return db.is_sqlite(); }

  std::string value(const std::string& sql) const { return db.query_value(sql); }
  Strings column(const std::string& sql) const { return db.query_column(sql); }
};

// Declares `DualFixture f` on PostgreSQL, then (Catch2 re-enters the test case) on SQLite.
#define DUAL_FIXTURE(f)                           \
  const std::string f##_dialect = EACH_DIALECT(); \
  INFO("dialect: " << f##_dialect);               \
  DualFixture f(f##_dialect)

// "name type nullable default" per column, in order.
inline Strings column_defs(const TempDb& db, const std::string& table, const std::string& schema = "public") {
  return db.query_column(
      "SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT "
      "NULL' "
      "ELSE '' END || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') || CASE a.attidentity "
      "WHEN 'd' "
      "THEN ' IDENTITY' WHEN 'a' THEN ' IDENTITY ALWAYS' ELSE '' END "
      "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
      "WHERE a.attrelid = " +
      sql_string(schema + "." + table) +
      "::regclass AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum");
}

// "name: definition" of each constraint, sorted.
inline Strings constraint_defs(const TempDb& db, const std::string& qualified_table) {
  return db.query_column(
      "SELECT conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = " +
      sql_string(qualified_table) + "::regclass ORDER BY conname");
}

// "name: definition" of each index, sorted.
inline Strings index_defs(const TempDb& db, const std::string& table, const std::string& schema = "public") {
  return db.query_column(
      "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE tablename = " + sql_string(table) +
      " AND schemaname = " + sql_string(schema) + " ORDER BY indexname");
}

// Peak RSS in KiB of `argv` run under /usr/bin/time -v; nullopt when /usr/bin/time is missing.
inline std::optional<long> peak_rss_kib(const RunResult& timed) {
  auto pos = timed.err.find("Maximum resident set size (kbytes): ");
  if (pos == std::string::npos) return std::nullopt;
  return std::stol(timed.err.substr(pos + 36));
}
}  // namespace luamig::test

// Runs luamig in the fixture's project and requires success, showing its output when it fails.
#define LM_OK(fixture, ...)                      \
  do {                                           \
    auto lm_result_ = (fixture).lm(__VA_ARGS__); \
    INFO(lm_result_.describe());                 \
    REQUIRE(lm_result_.status == 0);             \
  } while (0)
