// The one way integration tests run the luamig binary on a project, and the per-dialect fixture macro.
//
//   auto r = luamig_in(proj, db.url(), {"upgrade", "head"});        // cwd = proj, DATABASE_URL = db.url()
//   auto r = luamig_in(proj, "", {"history"});                       // cwd = proj, DATABASE_URL unset
//   auto s = cli({"--version"});                                     // no project
//   auto v = cli({"verify"}, in_project(proj, {{"LUAMIG_X", "1"}}));  // cwd = proj, extra environment
//   Spawned child({luamig_bin(), "upgrade", "head"}, with_db(proj, db.url()));
//   r.status, r.out, r.err                                           // exit status, stdout, stderr apart
//
//   TEST_CASE(...) { BOTH_DIALECTS_DB(db); ... }   // the body runs on PostgreSQL, then on SQLite (TestDb&
//   db)
//
// Every child runs hermetically (run.hpp): NO_COLOR=1, no inherited DATABASE_URL / LUAMIG_* / PG* / LUA_*;
// RunOptions says otherwise explicitly (env, unset_env, stdin_data, timeout_ms, cwd). A test whose project
// names its database in luamig.lua uses fixture.hpp (Fixture, DUAL_FIXTURE) instead.
//
// (`luamig(...)` itself cannot be called unqualified next to the namespace luamig: hence `cli`.)
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"

namespace luamig::test {

// luamig with `args` (see luamig() in run.hpp).
inline RunResult cli(const std::vector<std::string>& args, const RunOptions& opts = {}) {
  return luamig(args, opts);
}

// Options that run a child in `proj` (or in opts.cwd when that is set, e.g. a subdirectory) with
// DATABASE_URL = `database_url` (left unset when empty); the rest of `opts` (env, stdin, timeout...) is kept.
inline RunOptions with_db(const TempProject& proj, const std::string& database_url, RunOptions opts = {}) {
  if (opts.cwd.empty()) opts.cwd = proj.path().string();
  if (!database_url.empty()) opts.env.emplace_back("DATABASE_URL", database_url);
  return opts;
}

// Options that run a child in `proj` with these environment variables.
inline RunOptions in_project(const TempProject& proj,
                             std::vector<std::pair<std::string, std::string>> env = {}) {
  RunOptions opts;
  opts.cwd = proj.path().string();
  opts.env = std::move(env);
  return opts;
}

// luamig with `args`, run in `proj` against `database_url` (see with_db).
inline RunResult luamig_in(const TempProject& proj, const std::string& database_url,
                           const std::vector<std::string>& args, RunOptions opts = {}) {
  return luamig(args, with_db(proj, database_url, std::move(opts)));
}

}  // namespace luamig::test

// One test body, run once per dialect: declares `const TestDb& name` on a fresh PostgreSQL database, then on
// a fresh SQLite file (Catch2 re-enters the test case for each generated value).
#define BOTH_DIALECTS_DB(name)                                            \
  const std::string name##_dialect = EACH_DIALECT();                      \
  INFO("dialect: " << name##_dialect);                                    \
  const auto name##_owner = ::luamig::test::TestDb::make(name##_dialect); \
  const ::luamig::test::TestDb& name = *name##_owner
