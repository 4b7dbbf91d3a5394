// luamig.backfill on a real PostgreSQL: results, bounded set-based batches, every write method, resume after
// a kill in the committing mode, and its promised error messages.
#include <chrono>
#include <thread>

#include "support/fixture.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;

namespace {
// users(id, email, domain, visits) with n rows; every UPDATE statement's row count goes to batch_log.
void seed_users(const Fixture& f, int n) {
  f.db.exec(
      "CREATE TABLE users (id bigserial PRIMARY KEY, email text, domain text, visits int NOT NULL DEFAULT 0);"
      "INSERT INTO users (email) SELECT 'user' || g || '@d' || (g % 7) || '.example' FROM "
      "generate_series(1, " +
      std::to_string(n) +
      ") g;"
      "UPDATE users SET email = NULL WHERE id % 10 = 0;"
      "CREATE TABLE batch_log (n bigint);"
      "CREATE FUNCTION log_batch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "  INSERT INTO batch_log SELECT count(*) FROM new_rows; RETURN NULL; END $$;"
      "CREATE TRIGGER users_batches AFTER UPDATE ON users REFERENCING NEW TABLE AS new_rows "
      "  FOR EACH STATEMENT EXECUTE FUNCTION log_batch()");
}
}  // namespace

TEST_CASE("backfill: updates every selected row in bounded set-based batches, with each write method",
          "[ops][backfill]") {
  for (std::string method : {"unnest", "copy", "values"}) {
    DYNAMIC_SECTION("method " << method) {
      Fixture f;
      seed_users(f, 25000);
      f.migration("a1", std::nullopt,
                  R"lua(
  local backfill = require("luamig.backfill")
  local r = backfill.update{
    table = "users", key = "id", batch = 1000, method = ")lua" +
                      method + R"lua(",
    where = "email IS NOT NULL AND domain IS NULL",
    columns = { "email" },
    set = function(row) return { domain = row.email:match("@(.*)$") } end,
  }
  log.info("result", r.rows, r.updated, r.batches)
)lua",
                  "  op.execute('UPDATE users SET domain = NULL')");
      auto r = f.lm({"upgrade", "head"});
      INFO(r.describe());
      REQUIRE(r.status == 0);
      CHECK_THAT(r.err, Contains("result 22500 22500 23"));
      CHECK(f.value("SELECT count(*) FROM users WHERE email IS NOT NULL AND domain IS DISTINCT FROM "
                    "split_part(email, '@', 2)") == "0");
      CHECK(f.value("SELECT count(*) FROM users WHERE email IS NULL AND domain IS NOT NULL") == "0");
      // One UPDATE per batch, none larger than the batch (the downgrade and seed statements are not logged
      // here).
      CHECK(f.value("SELECT count(*) FROM batch_log") == "23");
      CHECK(f.value("SELECT max(n) FROM batch_log") == "1000");
      CHECK(f.value("SELECT sum(n) FROM batch_log") == "22500");
      // Not a terminal: a line per 10 batches and a summary.
      CHECK_THAT(r.err, Contains("backfill users: 10,000 rows in 10 batches, "));
      CHECK_THAT(r.err, Contains("backfill users: 20,000 rows in 20 batches, "));
      CHECK_THAT(r.err, Contains("backfill users: done, 22,500 rows read, 22,500 updated in 23 batches ("));
      CHECK(f.value("SELECT count(*) FROM pg_class WHERE relname LIKE 'luamig_backfill%'") == "0");
    }
  }
}

TEST_CASE("backfill: awkward values, NULLs, skipped rows, several columns and a text key",
          "[ops][backfill]") {
  Fixture f;
  f.db.exec(
      "CREATE TABLE docs (slug text PRIMARY KEY, body text, a text, b int, c jsonb, tags text[], n numeric);"
      "INSERT INTO docs (slug, body) SELECT 'doc-' || lpad(g::text, 5, '0'), 'body ' || g FROM "
      "generate_series(1, 3000) g");
  for (std::string method : {"unnest", "copy", "values"}) {
    DYNAMIC_SECTION("method " << method) {
      f.migration("a1", std::nullopt,
                  R"lua(
  local backfill = require("luamig.backfill")
  local awkward = { "", "NULL", "quote ' and \" double", "back\\slash", "{braces},comma", "tab\tnew\nline",
    "ünïcödé ✓", "$1 $$ :x" }
  backfill.update{
    table = "docs", key = "slug", batch = 700, method = ")lua" +
                      method + R"lua(",
    columns = { "body" },
    set = function(row)
      local i = tonumber(row.slug:sub(5))
      if i % 5 == 0 then return nil end                       -- skipped
      if i % 5 == 1 then return { a = op.NULL, b = i } end    -- another column set, explicit NULL
      return { a = awkward[i % #awkward + 1], b = i, c = '{"k": "' .. i .. '"}', tags = "{x,y}", n = "1.50" }
    end,
  }
)lua",
                  "");
      f.db.exec("UPDATE docs SET a = 'untouched', b = NULL, c = NULL, tags = NULL, n = NULL");
      auto r = f.lm({"upgrade", "head"});
      INFO(r.describe());
      REQUIRE(r.status == 0);
      CHECK(f.value("SELECT count(*) FROM docs WHERE a = 'untouched' AND b IS NULL") == "600");
      CHECK(f.value("SELECT count(*) FROM docs WHERE a IS NULL AND b IS NOT NULL") == "600");
      CHECK(f.value("SELECT count(*) FROM docs WHERE b::text = ltrim(substr(slug, 5), '0')") == "2400");
      CHECK(f.column("SELECT DISTINCT a COLLATE \"C\" FROM docs WHERE b % 5 NOT IN (0, 1) ORDER BY 1") ==
            Strings{"", "$1 $$ :x", "NULL", "back\\slash", "quote ' and \" double", "tab\tnew\nline",
                    "{braces},comma", "ünïcödé ✓"});
      CHECK(f.value("SELECT c ->> 'k' FROM docs WHERE slug = 'doc-00002'") == "2");
      CHECK(f.value("SELECT tags[2] || n::text FROM docs WHERE slug = 'doc-00003'") == "y1.50");
      f.db.exec("DROP TABLE alembic_version");
    }
  }
}

TEST_CASE("backfill: promised errors", "[ops][backfill]") {
  Fixture f;
  f.db.exec(
      "CREATE TABLE t (id int, k int PRIMARY KEY, v text); INSERT INTO t SELECT g, g FROM generate_series(1, "
      "10) g");
  auto error_of = [&](const std::string& body, const std::string& globals = "") {
    f.migration("a1", std::nullopt, "  local backfill = require('luamig.backfill')\n" + body, "", globals);
    auto r = f.lm({"upgrade", "head"});
    CHECK(r.status == 1);
    return r.err;
  };
  CHECK_THAT(
      error_of("  backfill.update{ table = 't', key = 'id', set = function() end }"),
      Contains("backfill.update: key 'id' of t is not a unique column (primary key or single-column unique "
               "index): keyset pagination would skip or repeat rows"));
  CHECK_THAT(
      error_of(
          "  backfill.update{ table = 't', key = 'k', commit_every_batch = true, set = function() end }"),
      Contains(
          "backfill.update: commit_every_batch = true needs a migration declared `transactional = false`"));
  CHECK_THAT(error_of("  backfill.update{ table = 't', key = 'k', sett = function() end }"),
             Contains("backfill.update: unknown option 'sett'"));
  CHECK_THAT(
      error_of("  backfill.update{ table = 't', key = 'k', set = function(r) return { nope = 1 } end }"),
      Contains("backfill.update: set() returned column 'nope', which t does not have"));
  CHECK_THAT(error_of("  backfill.update{ table = 't', key = 'k', set = function(r) return 5 end }"),
             Contains("backfill.update: set() must return a table of new values or nil, got number"));
  CHECK_THAT(
      error_of("  backfill.update{ table = 't', key = 'k', set = function(r) return { v = {} } end }"),
      Contains(
          "backfill.update: set() returned a table for column 'v'; values are strings, numbers, booleans "
          "or op.NULL"));
  CHECK(f.value("SELECT count(*) FROM t WHERE v IS NOT NULL") == "0");
}

TEST_CASE("backfill: commit_every_batch resumes after kill -9 where the last committed batch ended",
          "[ops][backfill]") {
  Fixture f;
  seed_users(f, 40000);
  f.db.exec("UPDATE users SET email = 'x@y' WHERE email IS NULL");
  // Slow batches (a busy loop per row), one progress line per batch, so the kill lands mid-run.
  f.migration("a1", std::nullopt, R"lua(
  local backfill = require("luamig.backfill")
  local r = backfill.update{
    table = "users", batch = 1000, commit_every_batch = true, progress_every = 1,
    columns = { "email", "visits" },
    set = function(row)
      local x = 0
      for i = 1, tonumber(context.x.spin or "0") do x = x + i end
      return { domain = row.email:match("@(.*)$"), visits = row.visits + 1 }
    end,
  }
  log.info("resumed from", tostring(r.resumed_from), "rows", r.rows)
)lua",
              "", "transactional = false");
  RunOptions opts;
  opts.cwd = f.proj.path();
  Spawned run({luamig_bin(), "-x", "spin=20000", "upgrade", "head"}, opts);
  REQUIRE(run.wait_for_output("rows in 5 batches", 60000));
  run.kill(SIGKILL);
  auto killed = run.wait(10000);
  CHECK(killed.status == 128 + SIGKILL);
  CHECK(f.db.version_rows().empty());
  auto saved = f.value("SELECT position FROM luamig_backfill_progress WHERE name = 'a1:users.id'");
  long position = std::stol(saved);
  CHECK(position >= 5000);
  CHECK(position % 1000 == 0);
  CHECK(f.value("SELECT count(*) FROM users WHERE visits = 1") == saved);  // exactly the committed batches
  CHECK(f.value("SELECT count(*) FROM users WHERE visits > 1") == "0");

  auto r = f.lm({"upgrade", "head"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("backfill users: resuming after id = " + saved));
  CHECK_THAT(r.err, Contains("resumed from " + saved + " rows " + std::to_string(40000 - position)));
  // Every row processed exactly once across both runs.
  CHECK(f.value("SELECT count(*) FROM users WHERE visits = 1 AND domain = split_part(email, '@', 2)") ==
        "40000");
  CHECK(f.value("SELECT count(*) FROM luamig_backfill_progress") == "0");
  CHECK(f.db.version_rows() == Strings{"a1"});
}

TEST_CASE("backfill: outside a transaction without commit_every_batch, each batch is its own transaction",
          "[ops][backfill]") {
  Fixture f;
  seed_users(f, 5000);
  f.migration("a1", std::nullopt, R"lua(
  local backfill = require("luamig.backfill")
  for _, m in ipairs({ "copy", "unnest" }) do
    backfill.update{ table = "users", batch = 1000, method = m, columns = { "id" },
      set = function(row) return { visits = row.id % 3 } end }
  end
)lua",
              "", "transactional = false");
  LM_OK(f, {"upgrade", "head"});
  CHECK(f.value("SELECT count(*) FROM users WHERE visits = id % 3") == "5000");
  CHECK(f.db.version_rows() == Strings{"a1"});
}

TEST_CASE("backfill: the same migration on both dialects (SQLite writes one UPDATE per row)",
          "[ops][backfill]") {
  DUAL_FIXTURE(f);
  // Portable seed: a recursive CTE instead of generate_series.
  f.db.exec(
      "CREATE TABLE users (id integer PRIMARY KEY, email text, domain text, visits integer NOT NULL DEFAULT "
      "0);"
      "INSERT INTO users (id, email) WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g "
      "< "
      "2500) SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'user' || g || '@d' || (g % 7) || '.example' END "
      "FROM s;"
      "CREATE TABLE docs (slug text PRIMARY KEY, body text, a text, b integer);"
      "INSERT INTO docs (slug, body) WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g "
      "< "
      "1000) SELECT 'doc-' || substr('0000' || g, length('0000' || g) - 4), 'body ' || g FROM s");
  f.migration("a1", std::nullopt, R"lua(
  local backfill = require("luamig.backfill")
  local r = backfill.update{
    table = "users", key = "id", batch = 300,
    where = "email IS NOT NULL AND domain IS NULL",
    columns = { "email" },
    set = function(row) return { domain = row.email:match("@(.*)$"), visits = row.id % 3 } end,
  }
  log.info("users", r.rows, r.updated, r.batches)
  local awkward = { "", "NULL", "quote ' and \" double", "back\\slash", "tab\tnew\nline", "ünïcödé ✓", "$1 $$ :x" }
  r = backfill.update{
    table = "docs", key = "slug", batch = 70,
    columns = { "body" },
    set = function(row)
      local i = tonumber(row.slug:sub(5))
      if i % 5 == 0 then return nil end
      if i % 5 == 1 then return { a = op.NULL, b = i } end
      return { a = awkward[i % #awkward + 1], b = i }
    end,
  }
  log.info("docs", r.rows, r.updated, r.batches)
)lua",
              "  op.execute('UPDATE users SET domain = NULL')");
  f.db.exec("UPDATE docs SET a = 'untouched'");
  auto r = f.lm({"upgrade", "head"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("users 2250 2250 8"));
  CHECK_THAT(r.err, Contains("docs 1000 800 15"));
  CHECK(
      f.value("SELECT count(*) FROM users WHERE email IS NOT NULL AND (domain IS NULL OR email NOT LIKE '%@' "
              "|| domain OR visits <> id % 3)") == "0");
  CHECK(f.value("SELECT count(*) FROM users WHERE email IS NULL AND (domain IS NOT NULL OR visits <> 0)") ==
        "0");
  CHECK(f.value("SELECT count(*) FROM docs WHERE a = 'untouched' AND b IS NULL") == "200");
  CHECK(f.value("SELECT count(*) FROM docs WHERE a IS NULL AND b IS NOT NULL") == "200");
  CHECK(
      f.value(
          "SELECT count(*) FROM docs WHERE 'doc-' || substr('0000' || b, length('0000' || b) - 4) = slug") ==
      "800");
  CHECK(f.value("SELECT a FROM docs WHERE slug = 'doc-00002'") == "quote ' and \" double");
  CHECK(f.value("SELECT a FROM docs WHERE slug = 'doc-00003'") == "back\\slash");
  CHECK(f.value("SELECT a FROM docs WHERE slug = 'doc-00004'") == "tab\tnew\nline");
  CHECK(f.value("SELECT a FROM docs WHERE slug = 'doc-00007'") == "");
  CHECK(f.value("SELECT a FROM docs WHERE slug = 'doc-00008'") == "NULL");
  CHECK(f.value("SELECT a FROM docs WHERE slug = 'doc-00013'") == "$1 $$ :x");
  CHECK(f.value("SELECT a FROM docs WHERE slug = 'doc-00006'") == "<null>");

  // commit_every_batch: each batch commits with its position; a finished run clears its progress row.
  f.migration("b2", "a1", R"lua(
  local backfill = require("luamig.backfill")
  local r = backfill.update{
    table = "users", key = "id", batch = 1000, commit_every_batch = true, name = "visits",
    columns = { "visits" },
    set = function(row) return { visits = row.visits + 10 } end,
  }
  log.info("visits", r.rows, r.updated, r.batches)
)lua",
              "", "transactional = false");
  auto again = f.lm({"upgrade", "head"});
  INFO(again.describe());
  REQUIRE(again.status == 0);
  CHECK_THAT(again.err, Contains("visits 2500 2500 3"));
  CHECK(f.value("SELECT count(*) FROM users WHERE visits < 10") == "0");
  CHECK(f.db.table_exists("luamig_backfill_progress"));
  CHECK(f.value("SELECT count(*) FROM luamig_backfill_progress") == "0");
  CHECK(f.db.version_rows() == Strings{"b2"});
}
