// `luamig verify` (the stairway on a throwaway database) and `luamig trace` (locks, rewrites and scans per
// statement). Both start their own PostgreSQL from the local server binaries; as root it runs as an
// unprivileged user.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/text.hpp"

namespace lt = luamig::test;
using Catch::Matchers::Contains;
using luamig::test::RunResult;
using luamig::test::TempProject;

namespace {

const char* kCreateT = R"LUA(  op.create_table("t",
    { "id", op.types.integer, primary_key = true },
    { "name", op.types.string(20) },
    { "n", op.types.integer }))LUA";

void write_chain(const TempProject& proj) {
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1", "  op.create_index(\"t_name_idx\", \"t\", { \"name\" })",
                       "  op.drop_index(\"t_name_idx\")", "index name");
  proj.write_migration("c3", "b2", "  op.add_column(\"t\", { \"note\", op.types.text, nullable = true })",
                       "  op.drop_column(\"t\", \"note\")", "add note");
}
}  // namespace

TEST_CASE("verify: a correct chain passes the stairway and the round trip", "[verify]") {
  TempProject proj;
  write_chain(proj);
  auto r = lt::cli({"verify"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("ok    a1") && Contains("ok    b2") && Contains("ok    c3"));
  CHECK_THAT(r.out, Contains("round trip: upgrade head, downgrade base, upgrade head"));
  CHECK_THAT(r.out, Contains("Verified"));
  // As root, PostgreSQL refuses to start: verify's own server runs as an unprivileged user.
  if (::geteuid() == 0) CHECK_THAT(r.out, Contains("running as nobody"));
  // The throwaway server is gone afterwards.
  CHECK(r.err.empty());
}

TEST_CASE("verify: a downgrade that forgets an index names the revision, downgrade() file:line and the index",
          "[verify]") {
  TempProject proj;
  write_chain(proj);
  auto file = proj.write_migration("b2", "a1", "  op.create_index(\"t_name_idx\", \"t\", { \"name\" })",
                                   "  -- the index is forgotten", "index name");
  int line = lt::line_of(proj.read(file), "function downgrade(");
  REQUIRE(line > 0);
  auto r = lt::cli({"verify"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("FAIL  b2"));
  CHECK_THAT(r.err, Contains("downgrade() at") && Contains(file + ":" + std::to_string(line)));
  CHECK_THAT(r.err, Contains("+ index public.t_name_idx"));
  CHECK_THAT(r.err, Contains("Verify failed: revision b2"));
  // The stairway stops at the first broken revision: c3 is never run.
  CHECK_THAT(r.all(), !Contains("c3"));

  auto j = lt::cli({"verify", "--json"}, lt::in_project(proj));
  CHECK(j.status == 1);
  CHECK_THAT(j.out, Contains("\"ok\": false") && Contains("\"revision\": \"b2\"") &&
                        Contains("\"downgrade_at\": \"" + file + ":" + std::to_string(line) + "\"") &&
                        Contains("t_name_idx"));
}

TEST_CASE("verify: other schema differences are named (a column type, a constraint, a default)", "[verify]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1",
                       "  op.alter_column(\"t\", \"n\", { type = op.types.bigint, server_default = \"0\" })\n"
                       "  op.create_check_constraint(\"t_n_pos\", \"t\", \"n >= 0\")",
                       "  op.alter_column(\"t\", \"n\", { type = op.types.integer })", "widen n");
  auto r = lt::cli({"verify"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("FAIL  b2"));
  CHECK_THAT(r.err, Contains("+ constraint public.t.t_n_pos: CHECK ((n >= 0))"));
  CHECK_THAT(r.err, Contains("~ column public.t.n") && Contains("after:  integer NULL DEFAULT '0'::bigint"));
}

TEST_CASE("verify: a downgrade that drops more than the upgrade created is found", "[verify]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1", "  op.add_column(\"t\", { \"x\", op.types.integer })",
                       "  op.drop_column(\"t\", \"x\")\n  op.drop_column(\"t\", \"name\")", "add x");
  auto r = lt::cli({"verify"}, lt::in_project(proj));
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("- column public.t.name: character varying(20) NULL"));
}

TEST_CASE("verify --data: ADD COLUMN NOT NULL without a default fails on filled tables", "[verify]") {
  TempProject proj;
  write_chain(proj);
  proj.write_migration("d4", "c3", "  op.add_column(\"t\", { \"age\", op.types.integer, nullable = false })",
                       "  op.drop_column(\"t\", \"age\")", "add age");
  auto plain = lt::cli({"verify"}, lt::in_project(proj));
  INFO(plain.describe());
  CHECK(plain.status == 0);  // empty tables hide the problem
  auto r = lt::cli({"verify", "--data"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("FAIL  d4") && Contains("generated rows"));
  CHECK_THAT(r.err, Contains("contains null values"));
  CHECK_THAT(r.err, Contains("SQLSTATE: 23502"));
}

TEST_CASE("verify --data: a unique index over duplicated values is found", "[verify]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt,
                       "  op.create_table(\"flags\", { \"id\", op.types.serial, primary_key = true }, "
                       "{ \"on\", op.types.boolean, nullable = false })",
                       "  op.drop_table(\"flags\")", "flags");
  proj.write_migration("b2", "a1",
                       "  op.create_index(\"flags_on\", \"flags\", { \"on\" }, { unique = true })",
                       "  op.drop_index(\"flags_on\")", "unique on");
  CHECK(lt::cli({"verify"}, lt::in_project(proj)).status == 0);
  auto r = lt::cli({"verify", "--data"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("FAIL  b2") && Contains("23505"));
}

TEST_CASE("verify --from/--to walk part of the chain", "[verify]") {
  TempProject proj;
  write_chain(proj);
  auto r = lt::cli({"verify", "--from", "a1", "--to", "b2"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.out,
             Contains("Verifying 1 revision (a1 to b2)") && Contains("ok    b2") && !Contains("ok    c3"));
}

TEST_CASE("verify --url refuses a database that is not empty unless --force", "[verify]") {
  lt::TempDb db;
  TempProject proj;
  write_chain(proj);
  auto empty = lt::cli({"verify", "--url", db.url()}, lt::in_project(proj));
  INFO(empty.describe());
  CHECK(empty.status == 0);
  // The round trip leaves the chain applied.
  CHECK(db.version_rows() == std::vector<std::string>{"c3"});
  auto refused = lt::cli({"verify", "--url", db.url()}, lt::in_project(proj));
  CHECK(refused.status == 2);
  CHECK_THAT(refused.err, Contains("is not empty") && Contains("--force"));
}

TEST_CASE("verify --sqlite: the stairway on a temporary SQLite file", "[verify]") {
  TempProject proj;
  write_chain(proj);
  auto ok = lt::cli({"verify", "--sqlite"}, lt::in_project(proj));
  INFO(ok.describe());
  CHECK(ok.status == 0);
  CHECK_THAT(ok.out, Contains("temporary SQLite file") && Contains("ok    c3"));
  CHECK(!proj.exists("luamig.db"));
  proj.write_migration("b2", "a1", "  op.create_index(\"t_name_idx\", \"t\", { \"name\" })", "",
                       "index name");
  auto bad = lt::cli({"verify", "--sqlite"}, lt::in_project(proj));
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err, Contains("FAIL  b2") && Contains("+ index t_name_idx"));
}

TEST_CASE("verify: the worked example in migrations/ passes", "[verify]") {
  auto r = lt::luamig({"verify", "--data"}, {.cwd = LUAMIG_SOURCE_DIR});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("ok    4c1f3a9b7d20") && Contains("ok    9e7d2b6a1c38"));
}

TEST_CASE("trace: ALTER COLUMN TYPE on a filled table takes ACCESS EXCLUSIVE and rewrites it", "[trace]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  auto file = proj.write_migration("b2", "a1", "  op.alter_column(\"t\", \"n\", { type = op.types.bigint })",
                                   "  op.alter_column(\"t\", \"n\", { type = op.types.integer })", "widen n");
  int line = lt::line_of(proj.read(file), "op.alter_column(\"t\", \"n\", { type = op.types.bigint })");
  auto r = lt::cli({"trace", "b2", "--data", "5000", "--json"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("\"sql\": \"ALTER TABLE \\\"t\\\" ALTER COLUMN \\\"n\\\" TYPE bigint\""));
  CHECK_THAT(r.out, Contains("\"line\": " + std::to_string(line)));
  CHECK_THAT(r.out, Contains("{\"relation\": \"t\", \"mode\": \"ACCESS EXCLUSIVE\""));
  CHECK_THAT(r.out, Contains("\"rewrites\": [\"t\", \"index t_pkey\"]"));
  auto text = lt::cli({"trace", "b2", "--data", "5000"}, lt::in_project(proj));
  CHECK_THAT(text.out, Contains("t ACCESS EXCLUSIVE") && Contains("rewrites t: a full copy"));
  CHECK_THAT(text.out, Contains("with no lock_timeout in force"));
  // With --long 0 every statement counts as long: ACCESS EXCLUSIVE during it is flagged.
  auto strict = lt::cli({"trace", "b2", "--long", "0"}, lt::in_project(proj));
  CHECK_THAT(strict.out, Contains("ACCESS EXCLUSIVE on t (taken by #1) is held during long statement #1"));
}

TEST_CASE("trace: ACCESS EXCLUSIVE held across several statements is flagged", "[trace]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1",
                       "  op.add_column(\"t\", { \"x\", op.types.integer })\n"
                       "  op.execute(\"UPDATE t SET x = n\")\n"
                       "  op.execute(\"SELECT pg_sleep(0.05)\")",
                       "  op.drop_column(\"t\", \"x\")", "add x and fill it");
  auto r = lt::cli({"trace", "b2", "--data", "100"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.out,
             Contains("ACCESS EXCLUSIVE on t (taken by #1) is held across 2 more statements until commit"));
}

TEST_CASE("trace: a failing revision is reported and the exit status is 1", "[trace]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1", "  op.execute(\"ALTER TABLE nope ADD COLUMN x integer\")", "", "broken");
  auto r = lt::cli({"trace"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("FAILED: upgrade b2 failed"));
  CHECK_THAT(r.err, Contains("relation \"nope\" does not exist"));
}

TEST_CASE("trace: a lock_timeout in force is not flagged", "[trace]") {
  TempProject proj;
  proj.write_config("lock_timeout = \"2s\"");
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1", "  op.add_column(\"t\", { \"x\", op.types.integer })",
                       "  op.drop_column(\"t\", \"x\")", "add x");
  auto r = lt::cli({"trace", "a1:b2"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("t ACCESS EXCLUSIVE"));
  CHECK_THAT(r.out, !Contains("no lock_timeout"));
  CHECK_THAT(r.out, !Contains("rewrites t"));
}

TEST_CASE("trace: create_index concurrently takes no ACCESS EXCLUSIVE and no SHARE lock", "[trace]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1",
                       "  op.autocommit_block(function()\n"
                       "    op.create_index(\"t_name_idx\", \"t\", { \"name\" }, { concurrently = true })\n"
                       "  end)",
                       "  op.drop_index(\"t_name_idx\")", "index concurrently");
  proj.write_migration("c3", "b2", "  op.create_index(\"t_n_idx\", \"t\", { \"n\" })",
                       "  op.drop_index(\"t_n_idx\")", "plain index");
  auto r = lt::cli({"trace", "a1:c3", "--data", "20000", "--json"}, lt::in_project(proj));
  INFO(r.describe());
  REQUIRE(r.status == 0);
  auto b2 = r.out.substr(r.out.find("\"revision\": \"b2\""),
                         r.out.find("\"revision\": \"c3\"") - r.out.find("\"revision\": \"b2\""));
  auto c3 = r.out.substr(r.out.find("\"revision\": \"c3\""));
  CHECK_THAT(b2, Contains("CREATE INDEX CONCURRENTLY") && Contains("\"in_transaction\": false"));
  CHECK_THAT(b2, Contains("\"mode\": \"SHARE UPDATE EXCLUSIVE\""));
  CHECK_THAT(b2, !Contains("\"mode\": \"ACCESS EXCLUSIVE\"") && !Contains("\"mode\": \"SHARE\""));
  // The same index built in a transaction takes SHARE: the difference is measured, not assumed.
  CHECK_THAT(c3, Contains("\"mode\": \"SHARE\""));
  auto text = lt::cli({"trace", "b2", "--data", "100"}, lt::in_project(proj));
  CHECK_THAT(text.out, Contains("[outside a transaction] CREATE INDEX CONCURRENTLY"));
}

TEST_CASE("trace: SET NOT NULL reports the validating scan, DROP NOT NULL none", "[trace]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1", "  op.alter_column(\"t\", \"n\", { nullable = false })",
                       "  op.alter_column(\"t\", \"n\", { nullable = true })", "n not null");
  auto r = lt::cli({"trace", "b2", "--data", "1000", "--json"}, lt::in_project(proj));
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out,
             Contains("SET NOT NULL") && Contains("\"scans\": [\"t\"]") && Contains("\"rewrites\": []"));
  // A statement that reads no rows reports no scan.
  TempProject p2;
  p2.write_config();
  p2.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  p2.write_migration("b2", "a1", "  op.alter_column(\"t\", \"n\", { nullable = true })", "", "n nullable");
  auto d = lt::cli({"trace", "b2", "--data", "1000", "--json"}, lt::in_project(p2));
  REQUIRE(d.status == 0);
  CHECK_THAT(d.out, Contains("DROP NOT NULL") && Contains("\"scans\": []"));
}

TEST_CASE("trace --url runs in a transaction that is rolled back", "[trace]") {
  lt::TempDb db;
  TempProject proj;
  write_chain(proj);
  REQUIRE(lt::cli({"upgrade", "a1", "--url", db.url()}, lt::in_project(proj)).status == 0);
  auto r = lt::cli({"trace", "a1:c3", "--url", db.url()}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.out,
             Contains("rolled back") && Contains("CREATE INDEX \"t_name_idx\"") && Contains("t SHARE"));
  CHECK(db.version_rows() == std::vector<std::string>{"a1"});
  CHECK(!db.relation_exists("t_name_idx"));
}

TEST_CASE("verify: every kind of catalog object left behind by a downgrade is named", "[verify]") {
  struct Case {
    const char* create;    // statements separated by '|'
    const char* expected;  // the start of the diff line naming the object
  };
  auto c = GENERATE(
      Case{"CREATE TYPE mood AS ENUM ('sad', 'happy')", "+ type public.mood: enum ('sad', 'happy')"},
      Case{"CREATE DOMAIN posint AS integer CHECK (VALUE > 0)", "+ type public.posint: domain integer"},
      Case{"CREATE TYPE pair AS (a integer, b text)", "+ type public.pair: composite"},
      Case{"CREATE VIEW t_names AS SELECT name FROM t", "+ view public.t_names:"},
      Case{"CREATE MATERIALIZED VIEW t_ids AS SELECT id FROM t", "+ materialized view public.t_ids:"},
      Case{"CREATE SEQUENCE tickets START 100", "+ sequence public.tickets: bigint start 100"},
      Case{"CREATE FUNCTION twice(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x * 2'",
           "+ function public.twice(x integer):"},
      Case{"CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'|"
           "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()",
           "+ trigger public.t.t_touch: CREATE TRIGGER t_touch BEFORE UPDATE ON public.t"},
      Case{"COMMENT ON COLUMN t.name IS 'display name'", "+ comment on column name of table t: display name"},
      Case{"CREATE SCHEMA audit", "+ schema audit: schema"},
      Case{"ALTER TABLE t ALTER COLUMN name SET DEFAULT 'x'", "~ column public.t.name"},
      Case{"ALTER TABLE t ALTER COLUMN name SET NOT NULL", "~ column public.t.name"},
      Case{"ALTER TABLE t ADD COLUMN total integer GENERATED ALWAYS AS (n * 2) STORED",
           "+ column public.t.total: integer NULL GENERATED ALWAYS AS ((n * 2)) STORED"},
      Case{"ALTER TABLE t ALTER COLUMN n SET NOT NULL|ALTER TABLE t ALTER COLUMN n ADD GENERATED BY DEFAULT "
           "AS IDENTITY",
           "~ column public.t.n"},
      Case{"ALTER TABLE t ALTER COLUMN name TYPE varchar(20) COLLATE \"C\"", "COLLATE C"},
      Case{"ALTER TABLE t ENABLE ROW LEVEL SECURITY", "~ table public.t"},
      Case{"ALTER TABLE t ADD CONSTRAINT t_n_fk FOREIGN KEY (n) REFERENCES t (id) NOT VALID",
           "+ constraint public.t.t_n_fk: FOREIGN KEY (n) REFERENCES t(id) NOT VALID"});
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\", { cascade = true })",
                       "create t");
  std::string sql = c.create;
  std::string body;
  for (size_t start = 0; start < sql.size();) {
    size_t end = sql.find('|', start);
    if (end == std::string::npos) end = sql.size();
    body += "  op.execute([[" + sql.substr(start, end - start) + "]])\n";
    start = end + 1;
  }
  proj.write_migration("b2", "a1", body, "  -- forgets to undo it", "leaves something");
  auto r = lt::cli({"verify"}, lt::in_project(proj));
  INFO(sql << "\n" << r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("FAIL  b2") && Contains(c.expected));
}

TEST_CASE("verify: an object the downgrade recreates exactly is not a difference", "[verify]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration(
      "a1", std::nullopt,
      std::string(kCreateT) +
          "\n  op.execute([[CREATE TYPE mood AS ENUM ('sad', 'happy')]])"
          "\n  op.execute([[CREATE VIEW t_names AS SELECT name FROM t]])",
      "  op.execute('DROP VIEW t_names')\n  op.execute('DROP TYPE mood')\n  op.drop_table(\"t\")",
      "create t");
  // b2 drops and c3 recreates objects under the same definitions: the stairway compares definitions, not
  // OIDs.
  proj.write_migration("b2", "a1", "  op.execute('DROP VIEW t_names')",
                       "  op.execute([[CREATE VIEW t_names AS SELECT name FROM t]])", "drop view");
  auto r = lt::cli({"verify"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 0);
}

TEST_CASE("verify: branches and a merge are walked revision by revision", "[verify]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, kCreateT, "  op.drop_table(\"t\")", "create t");
  proj.write_migration("b2", "a1", "  op.add_column(\"t\", { \"b\", op.types.integer })",
                       "  op.drop_column(\"t\", \"b\")", "branch b");
  proj.write_migration("c3", "a1", "  op.add_column(\"t\", { \"c\", op.types.integer })",
                       "  op.drop_column(\"t\", \"c\")", "branch c");
  auto merge = lt::migration("m4", "b2", "  op.create_index(\"t_bc\", \"t\", { \"b\", \"c\" })",
                             "  op.drop_index(\"t_bc\")", "merge");
  auto at = merge.find("down_revision = \"b2\"");
  REQUIRE(at != std::string::npos);
  merge.replace(at, std::string("down_revision = \"b2\"").size(), "down_revision = { \"b2\", \"c3\" }");
  proj.write("migrations/versions/m4_merge.lua", merge);
  auto r = lt::cli({"verify"}, lt::in_project(proj));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.out,
             Contains("ok    b2") && Contains("ok    c3") && Contains("ok    m4") && Contains("round trip"));
  // A broken downgrade on the second branch is still found and named.
  proj.write_migration("c3", "a1", "  op.add_column(\"t\", { \"c\", op.types.integer })", "", "branch c");
  auto bad = lt::cli({"verify"}, lt::in_project(proj));
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err, Contains("FAIL  c3") && Contains("+ column public.t.c"));
}
