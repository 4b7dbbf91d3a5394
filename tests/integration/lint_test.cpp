// `luamig lint` through the binary: offline and against a real PostgreSQL (unapplied revisions, table sizes),
// --json, --fail-on, silencing from luamig.lua, and lint_on_upgrade stopping an upgrade before it changes
// anything.
#include <catch2/catch.hpp>
#include <map>

#include "support/cli.hpp"
#include "support/json.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
namespace tj = luamig::test::json;

namespace {
// a1 creates users; b2 indexes it without CONCURRENTLY (line 13 of its file).
void write_two(const TempProject& p) {
  p.write_migration("a1", std::nullopt, "  op.create_table('users', {'id', 'int'}, {'email', 'text'})",
                    "  op.drop_table('users')", "users");
  p.write_migration("b2", "a1", "  op.create_index('ix_users_email', 'users', {'email'})",
                    "  op.drop_index('ix_users_email')", "index");
}
}  // namespace

TEST_CASE("lint: offline finds the index on an earlier table, with file:line and the alternative", "[lint]") {
  TempProject p;
  p.write_config("lock_timeout = '5s'\n");
  write_two(p);
  auto r = cli({"lint"}, in_project(p));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("b2") && Contains(":13: error [require-concurrent-index-creation]") &&
                        Contains("op.autocommit_block(function()") && Contains("concurrently = true"));
  CHECK_THAT(r.out, !Contains("a1.lua:13"));  // a table created in the same revision is empty

  auto j = cli({"lint", "--json"}, in_project(p));
  auto doc = tj::parse(j.out);
  REQUIRE(doc["findings"].array().size() == 1);
  CHECK(doc["findings"][0]["line"].number() == 13);
  CHECK(doc["findings"][0]["revision"].str() == "b2");

  // Silenced in luamig.lua: exit 0; severity lowered to warning: exit 0 unless --fail-on warning.
  p.write_config("lock_timeout = '5s'\nlint = { disable = { 'require-concurrent-index-creation' } }\n");
  CHECK(cli({"lint"}, in_project(p)).status == 0);
  p.write_config(
      "lock_timeout = '5s'\nlint = { severity = { ['require-concurrent-index-creation'] = 'warning' } }\n");
  CHECK(cli({"lint"}, in_project(p)).status == 0);
  CHECK(cli({"lint", "--fail-on", "warning"}, in_project(p)).status == 1);
  p.write_config("lint = { disable = { 'no-such-rule' } }\n");
  auto bad = cli({"lint"}, in_project(p));
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Contains("no-such-rule"));
  CHECK(cli({"lint", "--rules"}, in_project(p)).status == 0);
}

TEST_CASE("lint: with a database, only revisions not applied, and lint_on_upgrade stops before any change",
          "[lint]") {
  TempDb db;
  TempProject p;
  p.write_config("url = [[" + db.url() + "]]\nlock_timeout = '5s'\nlint_on_upgrade = true\n");
  write_two(p);
  // a1 is clean; upgrading to it passes the check.
  REQUIRE(cli({"upgrade", "a1"}, in_project(p)).status == 0);
  db.exec("INSERT INTO users SELECT g, 'x' FROM generate_series(1, 1000) g; ANALYZE users");
  auto lint = cli({"lint", "--json"}, in_project(p));
  auto doc = tj::parse(lint.out);
  REQUIRE(doc["findings"].array().size() == 1);
  CHECK_THAT(doc["findings"][0]["message"].str(), Contains("~1000 rows"));

  auto up = cli({"upgrade", "head"}, in_project(p));
  CHECK(up.status == 1);
  CHECK_THAT(up.err, Contains("require-concurrent-index-creation") && Contains("b2") &&
                         Contains("nothing was changed") && Contains("concurrently = true"));
  CHECK(db.query_value("SELECT version_num FROM alembic_version") == "a1");
  CHECK(db.query_value("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_users_email'") == "0");

  // Silenced at the op call: the upgrade runs.
  p.write_migration("b2", "a1",
                    "  -- luamig: allow require-concurrent-index-creation the table is small\n"
                    "  op.create_index('ix_users_email', 'users', {'email'})",
                    "  op.drop_index('ix_users_email')", "index");
  auto ok = cli({"upgrade", "head"}, in_project(p));
  CHECK(ok.status == 0);
  CHECK(db.query_value("SELECT version_num FROM alembic_version") == "b2");
}

TEST_CASE(
    "lint: SQL in op.execute is placed at its own line, two heads are reported, a revision failing offline "
    "is linted up to the failure",
    "[lint]") {
  TempProject p;
  p.write_config("lock_timeout = '5s'\n");
  p.write_migration("a1", std::nullopt, "  op.create_table('t', {'id', 'int'})", "  op.drop_table('t')", "t");
  // Upgrade bodies start on line 13: op.execute([[ there, its statements on 14 and 15.
  p.write_migration("b2", "a1",
                    "  op.execute([[\n"
                    "    SELECT 1;\n"
                    "    ALTER TABLE t ALTER COLUMN id TYPE bigint\n"
                    "  ]])",
                    "  op.execute('ALTER TABLE t ALTER COLUMN id TYPE int')", "type");
  p.write_migration("c3", "a1", "  op.execute('ALTER TABLE t ADD COLUMN')", "", "broken");
  auto r = cli({"lint", "--json"}, in_project(p));
  CHECK(r.status == 1);
  auto doc = tj::parse(r.out);
  std::map<std::string, int> lines;
  // A finding without a line (multiple-heads) counts as line 0.
  for (const auto& f : doc["findings"].array())
    lines[f["rule"].str()] =
        f.has("line") && f["line"].is_number() ? static_cast<int>(f["line"].number()) : 0;
  CHECK(lines["changing-column-type"] == 15);
  CHECK(lines["sql-syntax-error"] == 13);
  CHECK(lines.count("multiple-heads") == 1);

  // A revision that cannot run offline past a line: linted up to it, then lint-incomplete at that line.
  p.write_migration("c3", "a1",
                    "  op.execute('CREATE INDEX ix ON t (id)')\n"
                    "  error('boom')\n"
                    "  op.drop_table('t')",
                    "", "broken");
  auto partial = cli({"lint", "--json"}, in_project(p));
  CHECK(partial.status == 1);
  auto pdoc = tj::parse(partial.out);
  std::map<std::string, const tj::Value*> by_rule;
  for (const auto& f : pdoc["findings"].array()) by_rule[f["rule"].str()] = &f;
  REQUIRE(by_rule.count("lint-incomplete"));
  CHECK((*by_rule["lint-incomplete"])["line"].number() == 14);
  CHECK_THAT((*by_rule["lint-incomplete"])["message"].str(), Contains("boom"));
  CHECK(by_rule.count("require-concurrent-index-creation"));
  CHECK_FALSE(by_rule.count("ban-drop-table"));
}
