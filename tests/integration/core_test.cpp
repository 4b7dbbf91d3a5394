// The core behaviour of luamig, end to end: the real binary against a real PostgreSQL and a real SQLite file.
//
// Every test builds a small project in a temporary directory, runs `luamig` in it with DATABASE_URL pointing
// at a fresh database, and checks what the database holds afterwards (tables, columns, alembic_version rows),
// the exit status, and what was printed.
//
// Over 600 lines, on purpose: one self-contained case per core command and failure; a reader looks for a
// command here.
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Matches;
using Strings = std::vector<std::string>;

namespace {

// Revision ids of the standard linear project: r1 creates t1, r2 adds t1.note, r3 creates t3.
const std::string R1 = "1111aaaa0001";
const std::string R2 = "2222bbbb0002";
const std::string R3 = "3333cccc0003";

// Line of the k-th body line of a TempProject migration's upgrade() (see support/project.hpp for the layout).
constexpr int kUpgradeBodyLine = 13;

void write_linear(const TempProject& proj) {
  proj.write_config();
  proj.write_migration(R1, std::nullopt,
                       R"(  op.create_table("t1", { "id", "integer", primary_key = true }))",
                       R"(  op.drop_table("t1"))", "create t1");
  proj.write_migration(R2, R1, R"(  op.add_column("t1", { "note", "text", nullable = true }))",
                       R"(  op.drop_column("t1", "note"))", "add note");
  proj.write_migration(R3, R2, R"(  op.create_table("t3", { "id", "integer" }))", R"(  op.drop_table("t3"))",
                       "create t3");
}

// The catalog's view of a version table: column, type, nullability, constraints, indexes.
std::string version_table_catalog(const TempDb& db, const std::string& schema = "public") {
  return db.query_value(
      "SELECT (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || "
      "a.attnotnull || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-'), '; ' ORDER BY "
      "a.attnum) "
      "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
      "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) || ' | ' || "
      "(SELECT string_agg(con.conname || ' ' || con.contype::text || ' ' || pg_get_constraintdef(con.oid), "
      "'; ' "
      "ORDER BY con.conname) FROM pg_constraint con WHERE con.conrelid = c.oid) || ' | ' || "
      "(SELECT string_agg(i.relname, '; ' ORDER BY i.relname) FROM pg_index x JOIN pg_class i ON i.oid = "
      "x.indexrelid WHERE x.indrelid = c.oid) "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relname = 'alembic_version' AND n.nspname = '" +
      schema + "'");
}

// Exactly what Alembic 1.x emits for PostgreSQL (alembic/runtime/migration.py, _version table) plus its row.
const char* kAlembicDdl =
    "CREATE TABLE alembic_version (\n"
    "    version_num VARCHAR(32) NOT NULL, \n"
    "    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n"
    ")";

}  // namespace

TEST_CASE("core: upgrade head then downgrade base and back", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  write_linear(proj);

  auto up = luamig_in(proj, db.url(), {"upgrade", "head"});
  REQUIRE(up.status == 0);
  CHECK(db.version_rows() == Strings{R3});
  CHECK(db.columns("t1") == Strings{"id", "note"});
  CHECK(db.table_exists("t3"));
  // Which environment and database first, then one line per step, Alembic's wording, with the time taken.
  const std::string where = "Environment default, database " + db.url() + "\n";
  // Each step is announced before it runs, and its duration given when it ends; all of it on stderr.
  CHECK_THAT(up.err,
             Matches(where + "Running upgrade  -> 1111aaaa0001, create t1\n  done in \\d+ ms\n"
                             "Running upgrade 1111aaaa0001 -> 2222bbbb0002, add note\n  done in \\d+ ms\n"
                             "Running upgrade 2222bbbb0002 -> 3333cccc0003, create t3\n  done in \\d+ ms\n"));
  CHECK(up.out.empty());

  auto cur = luamig_in(proj, db.url(), {"current"});
  CHECK(cur.status == 0);
  CHECK(cur.out == R3 + "\n");  // the bare id off a terminal

  auto again = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(again.status == 0);
  CHECK_THAT(again.err, Contains("Nothing to do"));
  CHECK(db.version_rows() == Strings{R3});

  auto down = luamig_in(proj, db.url(), {"downgrade", "base"});
  REQUIRE(down.status == 0);
  CHECK_THAT(down.err,
             Matches(where + "Running downgrade 3333cccc0003 -> 2222bbbb0002, create t3\n  done in \\d+ ms\n"
                             "Running downgrade 2222bbbb0002 -> 1111aaaa0001, add note\n  done in \\d+ ms\n"
                             "Running downgrade 1111aaaa0001 -> , create t1\n  done in \\d+ ms\n"));
  CHECK(db.version_rows().empty());
  CHECK(db.tables() == Strings{"alembic_version"});
  CHECK(luamig_in(proj, db.url(), {"current"}).out.empty());

  REQUIRE(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
  CHECK(db.version_rows() == Strings{R3});
  CHECK(db.tables() == Strings{"alembic_version", "t1", "t3"});

  // -q prints errors only.
  auto quiet = luamig_in(proj, db.url(), {"-q", "downgrade", "base"});
  CHECK(quiet.status == 0);
  CHECK(quiet.out.empty());
  CHECK(db.version_rows().empty());
}

TEST_CASE("core: relative targets +N -N id+N id-N and prefixes", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  write_linear(proj);

  CHECK(luamig_in(proj, db.url(), {"upgrade", "+1"}).status == 0);
  CHECK(db.version_rows() == Strings{R1});
  CHECK(db.columns("t1") == Strings{"id"});
  CHECK(luamig_in(proj, db.url(), {"upgrade", "+2"}).status == 0);
  CHECK(db.version_rows() == Strings{R3});
  CHECK(luamig_in(proj, db.url(), {"downgrade", "-1"}).status == 0);
  CHECK(db.version_rows() == Strings{R2});
  CHECK_FALSE(db.table_exists("t3"));
  CHECK(luamig_in(proj, db.url(), {"downgrade", "-2"}).status == 0);
  CHECK(db.version_rows().empty());
  CHECK_FALSE(db.table_exists("t1"));

  CHECK(luamig_in(proj, db.url(), {"upgrade", R1 + "+2"}).status == 0);
  CHECK(db.version_rows() == Strings{R3});
  CHECK(luamig_in(proj, db.url(), {"downgrade", R3 + "-2"}).status == 0);
  CHECK(db.version_rows() == Strings{R1});
  CHECK(luamig_in(proj, db.url(), {"upgrade", R1 + "+1"}).status == 0);
  CHECK(db.version_rows() == Strings{R2});
  CHECK(db.columns("t1") == Strings{"id", "note"});

  // Unique prefixes of four or more characters.
  CHECK(luamig_in(proj, db.url(), {"upgrade", "3333"}).status == 0);
  CHECK(db.version_rows() == Strings{R3});
  CHECK(luamig_in(proj, db.url(), {"downgrade", "1111aa"}).status == 0);
  CHECK(db.version_rows() == Strings{R1});

  // Walking past the head, or down past base, is an error that changes nothing.
  CHECK(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
  auto over = luamig_in(proj, db.url(), {"upgrade", "+1"});
  CHECK(over.status == 2);
  CHECK_THAT(over.err, Contains("ERROR"));
  CHECK(luamig_in(proj, db.url(), {"downgrade", "-4"}).status == 2);
  CHECK(db.version_rows() == Strings{R3});
  // An upgrade target behind the database says to use downgrade.
  auto behind = luamig_in(proj, db.url(), {"upgrade", R1});
  CHECK(behind.status == 2);
  CHECK_THAT(behind.err, Contains("downgrade"));
  CHECK(db.version_rows() == Strings{R3});
}

TEST_CASE("core: a Lua error rolls the failing revision back", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  proj.write_config();
  proj.write_migration(R1, std::nullopt, R"(  op.create_table("t1", { "id", "integer" }))",
                       R"(  op.drop_table("t1"))", "create t1");
  proj.write_migration(R2, R1,
                       "  op.add_column(\"t1\", { \"half\", \"text\" })\n"
                       "  op.create_table(\"half_done\", { \"id\", \"integer\" })\n"
                       "  local settings = nil\n"
                       "  local mode = settings.mode\n",
                       "", "broken by Lua");
  proj.write_migration(R3, R2, R"(  op.create_table("t3", { "id", "integer" }))", "", "after the failure");

  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 1);
  // The revision before it stays committed; nothing of the failing one remains; the next one never ran.
  CHECK(db.version_rows() == Strings{R1});
  CHECK(db.columns("t1") == Strings{"id"});
  CHECK_FALSE(db.table_exists("half_done"));
  CHECK_FALSE(db.table_exists("t3"));
  CHECK_THAT(r.err, Contains("Running upgrade  -> " + R1));
  CHECK_THAT(r.out, !Contains("-> " + R2));
  // The message names the revision, the file and line, and the Lua error.
  std::string where = proj.migration_file(R2) + ":" + std::to_string(kUpgradeBodyLine + 3);
  CHECK_THAT(r.err, Contains("upgrade of revision " + R2 + " (broken by Lua) failed"));
  CHECK_THAT(r.err, Contains("at " + where));
  CHECK_THAT(r.err, Contains("attempt to index local 'settings' (a nil value)"));
  CHECK_THAT(r.err, Contains("rolled back"));
  CHECK_THAT(r.err, Contains("The database is at " + R1));

  auto cur = luamig_in(proj, db.url(), {"current"});
  CHECK(cur.status == 0);
  CHECK(cur.out == R1 + "\n");
}

TEST_CASE("core: an SQL error rolls the failing revision back and shows statement and SQLSTATE", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  proj.write_config();
  proj.write_migration(R1, std::nullopt, R"(  op.create_table("t1", { "id", "integer" }))",
                       R"(  op.drop_table("t1"))", "create t1");
  proj.write_migration(R2, R1,
                       "  op.add_column(\"t1\", { \"half\", \"text\" })\n"
                       "  op.create_table(\"half_done\", { \"id\", \"integer\" })\n"
                       "  op.execute(\"INSERT INTO t1 (id) VALUES ($1)\", \"not a number\")\n"
                       "  op.execute(\"INSERT INTO t1 (id) VALUES (1), (1)\")\n",
                       "", "broken by SQL");
  // PostgreSQL refuses the text in the integer column; SQLite stores it (type affinity) and fails on the
  // duplicate key of the unique index added here.
  REQUIRE(luamig_in(proj, db.url(), {"upgrade", R1}).status == 0);
  db.exec("CREATE UNIQUE INDEX t1_id_unique ON t1 (id)");

  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK(db.version_rows() == Strings{R1});
  CHECK(db.columns("t1") == Strings{"id"});
  CHECK_FALSE(db.table_exists("half_done"));
  CHECK(db.query_value("SELECT count(*) FROM t1") == "0");
  CHECK_THAT(r.err, Contains("upgrade of revision " + R2 + " (broken by SQL) failed"));
  if (db.is_postgresql()) {
    CHECK_THAT(r.err, Contains("at " + proj.migration_file(R2) + ":" + std::to_string(kUpgradeBodyLine + 2)));
    CHECK_THAT(r.err, Contains("invalid input syntax for type integer"));
    CHECK_THAT(r.err, Contains("SQLSTATE: 22P02"));
    CHECK_THAT(r.err, Contains("SQL: INSERT INTO t1 (id) VALUES ($1)"));
  } else {
    CHECK_THAT(r.err, Contains("at " + proj.migration_file(R2) + ":" + std::to_string(kUpgradeBodyLine + 3)));
    CHECK_THAT(r.err, Contains("UNIQUE constraint failed: t1.id"));
    CHECK_THAT(r.err, Contains("SQLSTATE: SQLITE_CONSTRAINT (2067)"));
    CHECK_THAT(r.err, Contains("SQL: INSERT INTO t1 (id) VALUES (1), (1)"));
  }

  // A statement generated by an op: the statement shown is the generated one, the line is the caller's.
  proj.write_migration(R2, R1,
                       "  op.create_table(\"half_done\", { \"id\", \"integer\" })\n"
                       "  op.add_column(\"no_such_table\", { \"c\", \"text\" })\n",
                       "", "broken by SQL");
  auto op_fail = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(op_fail.describe());
  CHECK(op_fail.status == 1);
  CHECK(db.version_rows() == Strings{R1});
  CHECK_FALSE(db.table_exists("half_done"));
  CHECK_THAT(op_fail.err,
             Contains("at " + proj.migration_file(R2) + ":" + std::to_string(kUpgradeBodyLine + 1)));
  if (db.is_postgresql()) {
    CHECK_THAT(op_fail.err, Contains("SQLSTATE: 42P01"));
  } else {
    CHECK_THAT(op_fail.err, Contains("no such table: no_such_table"));
    CHECK_THAT(op_fail.err, Contains("SQLSTATE: SQLITE_ERROR (1)"));
  }
  CHECK_THAT(op_fail.err, Contains("SQL: ALTER TABLE \"no_such_table\" ADD COLUMN \"c\" text"));

  // An SQL error caught by pcall is not blamed for a later, different Lua error.
  proj.write_migration(R2, R1,
                       "  pcall(op.execute, \"SELECT * FROM no_such_table\")\n"
                       "  error(\"the real problem\")\n",
                       "", "broken by SQL");
  auto caught = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(caught.status == 1);
  CHECK_THAT(caught.err, Contains("error: the real problem"));
  CHECK_THAT(caught.err, !Contains("SQLSTATE") && !Contains("no_such_table"));
  CHECK(db.version_rows() == Strings{R1});
}

TEST_CASE("core: a Lua syntax error is reported with file and line before anything runs", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  write_linear(proj);
  proj.write_migration(R3, R2, "  op.create_table(\"t3\", { \"id\", \"integer\" }", "", "create t3");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains(proj.migration_file(R3) + ":" + std::to_string(kUpgradeBodyLine + 1) + ":"));
  CHECK_THAT(r.err, Contains("')' expected"));
  // Nothing ran, not even the revisions before the broken file.
  CHECK_FALSE(db.table_exists("t1"));
  CHECK_FALSE(db.table_exists("alembic_version"));
  CHECK(luamig_in(proj, db.url(), {"heads"}).status == 2);
  CHECK(luamig_in(proj, db.url(), {"history"}).status == 2);
}

TEST_CASE("core: revision graph errors name the files involved", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  write_linear(proj);

  SECTION("duplicate revision id names both files") {
    proj.write("migrations/versions/zz_copy.lua", migration(R2, R1, "", "", "copy"));
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("Duplicate revision id '" + R2 + "'"));
    CHECK_THAT(r.err, Contains(proj.migration_file(R2)));
    CHECK_THAT(r.err, Contains("migrations/versions/zz_copy.lua"));
  }
  SECTION("missing down_revision") {
    proj.write_migration("4444dddd0004", std::string("nothere00000"), "", "", "orphan");
    auto r = luamig_in(proj, db.url(), {"heads"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("'nothere00000'"));
    CHECK_THAT(r.err, Contains(proj.migration_file("4444dddd0004") + ":7"));
  }
  SECTION("a cycle is shown as the whole path") {
    proj.write_migration("cyc1", std::string("cyc3"), "", "", "c1");
    proj.write_migration("cyc2", std::string("cyc1"), "", "", "c2");
    proj.write_migration("cyc3", std::string("cyc2"), "", "", "c3");
    auto r = luamig_in(proj, db.url(), {"history"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("cyc1 -> cyc3 -> cyc2 -> cyc1"));
    CHECK_THAT(r.err, Contains(proj.migration_file("cyc1")));
    CHECK_THAT(r.err, Contains(proj.migration_file("cyc2")));
    CHECK_THAT(r.err, Contains(proj.migration_file("cyc3")));
  }
  SECTION("invalid revision ids") {
    proj.write("migrations/versions/x_bad.lua", migration("bad-id", R3, "", ""));
    auto r = luamig_in(proj, db.url(), {"heads"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("Invalid revision id 'bad-id'"));
    CHECK_THAT(r.err, Contains("migrations/versions/x_bad.lua:7"));
    proj.write("migrations/versions/x_bad.lua", migration(std::string(33, 'a'), R3, "", ""));
    auto longer = luamig_in(proj, db.url(), {"heads"});
    CHECK(longer.status == 2);
    CHECK_THAT(longer.err, Contains("longer than 32"));
    proj.write("migrations/versions/x_bad.lua", "-- no header\nfunction upgrade() end\n");
    auto none = luamig_in(proj, db.url(), {"heads"});
    CHECK(none.status == 2);
    CHECK_THAT(none.err, Contains("migrations/versions/x_bad.lua"));
    CHECK_THAT(none.err, Contains("revision"));
    proj.write("migrations/versions/x_bad.lua", "revision = 42\nfunction upgrade() end\n");
    auto number = luamig_in(proj, db.url(), {"heads"});
    CHECK(number.status == 2);
    CHECK_THAT(number.err, Contains("migrations/versions/x_bad.lua:1"));
    CHECK_THAT(number.err, Contains("must be a string"));
  }
  SECTION("an ambiguous prefix lists the candidates") {
    proj.write_migration("2222bbbb9999", R3, "", "", "same prefix");
    auto r = luamig_in(proj, db.url(), {"upgrade", "2222"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("'2222bbbb0002'") && Contains("'2222bbbb9999'"));
    auto show = luamig_in(proj, db.url(), {"show", "2222bbbb"});
    CHECK(show.status == 2);
    CHECK_THAT(show.err, Contains("'2222bbbb0002'") && Contains("'2222bbbb9999'"));
    auto unknown = luamig_in(proj, db.url(), {"upgrade", "ffffeeee"});
    CHECK(unknown.status == 2);
    CHECK_THAT(unknown.err, Contains("ffffeeee"));
  }
  // Graph errors are found before connecting: the database was never touched.
  CHECK_FALSE(db.table_exists("alembic_version"));
  CHECK(db.tables().empty());
}

TEST_CASE("core: stamp and stamp --purge change only the version table", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  write_linear(proj);

  auto r = luamig_in(proj, db.url(), {"stamp", R2});
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("Stamped base -> " + R2));
  CHECK(db.version_rows() == Strings{R2});
  CHECK(db.tables() == Strings{"alembic_version"});  // no migration ran

  CHECK(luamig_in(proj, db.url(), {"stamp", "head"}).status == 0);
  CHECK(db.version_rows() == Strings{R3});
  CHECK(luamig_in(proj, db.url(), {"stamp", "1111"}).status == 0);
  CHECK(db.version_rows() == Strings{R1});
  CHECK(luamig_in(proj, db.url(), {"stamp", "base"}).status == 0);
  CHECK(db.version_rows().empty());

  // A row no file knows about: plain stamp refuses and points at --purge; --purge replaces it.
  db.exec("INSERT INTO alembic_version VALUES ('feedfacecafe')");
  auto refused = luamig_in(proj, db.url(), {"stamp", R1});
  CHECK(refused.status == 1);
  CHECK_THAT(refused.err, Contains("feedfacecafe") && Contains("--purge"));
  CHECK(db.version_rows() == Strings{"feedfacecafe"});
  auto cur = luamig_in(proj, db.url(), {"current"});
  CHECK(cur.status == 0);
  CHECK(cur.out == "feedfacecafe\n");
  CHECK_THAT(cur.err, Contains("feedfacecafe") && Contains("unknown"));

  // The seeds' workflow for a database whose tables already exist: stamp the baseline, then upgrade from it.
  db.exec("CREATE TABLE t1 (id integer PRIMARY KEY)");
  auto purged = luamig_in(proj, db.url(), {"stamp", "--purge", R1});
  CHECK(purged.status == 0);
  CHECK(db.version_rows() == Strings{R1});
  CHECK(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
  CHECK(db.version_rows() == Strings{R3});
  CHECK(db.columns("t1") == Strings{"id", "note"});
}

TEST_CASE("core: two heads, the multiple-heads error, merge, and the version table at each step", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  proj.write_config();
  const std::string A = "aaaa00000001", B = "bbbb00000002", C = "cccc00000003";
  proj.write_migration(A, std::nullopt, R"(  op.create_table("base_t", { "id", "integer" }))",
                       R"(  op.drop_table("base_t"))", "base");
  proj.write_migration(B, A, R"(  op.create_table("b_t", { "id", "integer" }))", R"(  op.drop_table("b_t"))",
                       "branch b");
  proj.write_migration(C, A, R"(  op.create_table("c_t", { "id", "integer" }))", R"(  op.drop_table("c_t"))",
                       "branch c");

  // `upgrade head` with two heads: lists them, suggests `upgrade heads` and `merge`, touches nothing.
  auto multi = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(multi.status == 2);
  CHECK_THAT(multi.err, Contains(B) && Contains(C));
  CHECK_THAT(multi.err, Contains("upgrade heads") && Contains("merge"));
  CHECK_FALSE(db.table_exists("alembic_version"));
  CHECK(db.tables().empty());

  auto heads = luamig_in(proj, db.url(), {"heads"});
  CHECK(heads.status == 0);
  CHECK(heads.out == B + " (head)\n" + C + " (head)\n");

  // Step by step: linear update, then a branch-out insert.
  CHECK(luamig_in(proj, db.url(), {"upgrade", A}).status == 0);
  CHECK(db.version_rows() == Strings{A});
  CHECK(luamig_in(proj, db.url(), {"upgrade", B}).status == 0);
  CHECK(db.version_rows() == Strings{B});
  CHECK(luamig_in(proj, db.url(), {"upgrade", C}).status == 0);
  CHECK(db.version_rows() == (Strings{B, C}));
  CHECK(db.tables() == (Strings{"alembic_version", "b_t", "base_t", "c_t"}));
  auto cur = luamig_in(proj, db.url(), {"current"});
  CHECK_THAT(cur.out, Contains(B + "\n") && Contains(C + "\n"));

  // merge heads writes a merge revision whose down_revision lists both heads.
  auto merge =
      luamig_in(proj, db.url(), {"merge", "heads", "-m", "merge b and c", "--rev-id", "dddd00000004"});
  INFO(merge.describe());
  REQUIRE(merge.status == 0);
  CHECK_THAT(merge.err, Contains("Generating migrations/versions/dddd00000004_merge_b_and_c.lua ... done"));
  std::string text = proj.read("migrations/versions/dddd00000004_merge_b_and_c.lua");
  CHECK_THAT(text, Contains("revision = \"dddd00000004\""));
  CHECK_THAT(text, Contains("down_revision = { \"" + B + "\", \"" + C + "\" }"));
  CHECK_THAT(text, Contains("-- Revises: " + B + ", " + C));
  auto new_heads = luamig_in(proj, db.url(), {"heads"});
  CHECK(new_heads.out == "dddd00000004 (head) (mergepoint)\n");

  // Upgrading through the merge point deletes one row and updates the other.
  auto up = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(up.status == 0);
  CHECK_THAT(up.err, Contains("Running upgrade " + B + ", " + C + " -> dddd00000004, merge b and c"));
  CHECK(db.version_rows() == Strings{"dddd00000004"});

  // Downgrading below the merge point unmerges: both parents become rows again.
  auto unmerge = luamig_in(proj, db.url(), {"downgrade", B});
  CHECK(unmerge.status == 0);
  CHECK(db.version_rows() == (Strings{B, C}));
  CHECK(db.table_exists("b_t"));
  CHECK(db.table_exists("c_t"));
  // Down to the branch point: both branches go, one row remains.
  CHECK(luamig_in(proj, db.url(), {"downgrade", B + "-1"}).status == 0);
  CHECK(db.version_rows() == Strings{A});
  CHECK_FALSE(db.table_exists("b_t"));
  CHECK_FALSE(db.table_exists("c_t"));

  // `upgrade heads` brings every branch up.
  auto all = luamig_in(proj, db.url(), {"upgrade", "heads"});
  CHECK(all.status == 0);
  CHECK(db.version_rows() == Strings{"dddd00000004"});
  CHECK(luamig_in(proj, db.url(), {"downgrade", "base"}).status == 0);
  CHECK(db.version_rows().empty());
  CHECK(db.tables() == Strings{"alembic_version"});

  // merge needs two revisions.
  auto single = luamig_in(proj, db.url(), {"merge", "heads", "-m", "nothing"});
  CHECK(single.status == 2);
  CHECK_THAT(single.err, Contains("single head"));
}

TEST_CASE("core: a database whose alembic_version Alembic created is taken over, and can go back", "[core]") {
  TempProject proj;
  write_linear(proj);

  // A database Alembic migrated to r1: its table, its row, r1's schema.
  TempDb alembic_db;
  alembic_db.exec(kAlembicDdl);
  alembic_db.exec("INSERT INTO alembic_version (version_num) VALUES ('" + R1 + "')");
  alembic_db.exec("CREATE TABLE t1 (id integer PRIMARY KEY)");
  std::string alembic_catalog = version_table_catalog(alembic_db);
  CHECK(alembic_catalog ==
        "version_num character varying(32) notnull=true default=- | "
        "alembic_version_pkc p PRIMARY KEY (version_num) | alembic_version_pkc");

  auto cur = luamig_in(proj, alembic_db.url(), {"current"});
  CHECK(cur.status == 0);
  CHECK(cur.out == R1 + "\n");
  auto up = luamig_in(proj, alembic_db.url(), {"upgrade", "head"});
  CHECK(up.status == 0);
  CHECK_THAT(up.out, !Contains("-> " + R1));  // r1 is not run again
  CHECK(alembic_db.version_rows() == Strings{R3});
  CHECK(alembic_db.columns("t1") == Strings{"id", "note"});
  // The table itself is untouched.
  CHECK(version_table_catalog(alembic_db) == alembic_catalog);

  // A database luamig created: the version table is identical in pg_catalog, so Alembic can take it back.
  TempDb luamig_db;
  CHECK(luamig_in(proj, luamig_db.url(), {"upgrade", R1}).status == 0);
  CHECK(version_table_catalog(luamig_db) == alembic_catalog);
  CHECK(luamig_db.version_rows() == Strings{R1});
  CHECK(luamig_db.query_value("SELECT count(*) FROM alembic_version") == "1");

  // A configured version table name and schema keep Alembic's shape and constraint naming.
  TempProject custom;
  write_linear(custom);
  custom.write_config("version_table = \"my_versions\"\nversion_table_schema = \"meta\"");
  TempDb custom_db;
  custom_db.exec("CREATE SCHEMA meta");
  CHECK(luamig_in(custom, custom_db.url(), {"upgrade", "head"}).status == 0);
  CHECK(custom_db.version_rows("my_versions", "meta") == Strings{R3});
  CHECK_FALSE(custom_db.table_exists("alembic_version"));
  CHECK(custom_db.query_value(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'meta.my_versions'::regclass") ==
        "my_versions_pkc");
}

TEST_CASE("core: a revision without downgrade() cannot be downgraded past", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  proj.write_config();
  proj.write_migration(R1, std::nullopt, R"(  op.create_table("t1", { "id", "integer" }))",
                       R"(  op.drop_table("t1"))", "create t1");
  proj.write("migrations/versions/" + R2 + "_one_way.lua",
             "-- one way\nrevision = \"" + R2 + "\"\ndown_revision = \"" + R1 +
                 "\"\n\nfunction upgrade()\n  op.create_table(\"t2\", { \"id\", \"integer\" })\nend\n");
  proj.write_migration(R3, R2, R"(  op.create_table("t3", { "id", "integer" }))", R"(  op.drop_table("t3"))",
                       "create t3");

  REQUIRE(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
  CHECK(db.version_rows() == Strings{R3});

  auto r = luamig_in(proj, db.url(), {"downgrade", "base"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("migrations/versions/" + R2 + "_one_way.lua"));
  CHECK_THAT(r.err, Contains("downgrade()"));
  // Nothing changed, not even r3, which could have been downgraded.
  CHECK(db.version_rows() == Strings{R3});
  CHECK(db.tables() == (Strings{"alembic_version", "t1", "t2", "t3"}));

  // Down to the file itself is fine: its downgrade() is not needed.
  CHECK(luamig_in(proj, db.url(), {"downgrade", R2}).status == 0);
  CHECK(db.version_rows() == Strings{R2});
  CHECK_FALSE(db.table_exists("t3"));
}

TEST_CASE("core: current history and heads never create the version table", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  write_linear(proj);
  for (const Strings& args :
       {Strings{"current"}, Strings{"current", "-v"}, Strings{"history"}, Strings{"history", "-v"},
        Strings{"history", "-i"}, Strings{"history", "-r", "current:"}, Strings{"heads"},
        Strings{"heads", "-v"}, Strings{"show", "head"}}) {
    auto r = luamig_in(proj, db.url(), args);
    INFO(join_argv(args) << "\n" << r.describe());
    CHECK(r.status == 0);
  }
  CHECK_FALSE(db.table_exists("alembic_version"));
  CHECK(db.tables().empty());

  auto history = luamig_in(proj, db.url(), {"history"});
  CHECK(history.out == R2 + " -> " + R3 + " (head), create t3\n" + R1 + " -> " + R2 +
                           ", add note\n<base> -> " + R1 + ", create t1\n");
  auto verbose = luamig_in(proj, db.url(), {"current", "-v"});
  CHECK_THAT(verbose.err, Contains("does not exist yet"));

  REQUIRE(luamig_in(proj, db.url(), {"upgrade", R2}).status == 0);
  auto marked = luamig_in(proj, db.url(), {"history", "-i"});
  CHECK_THAT(marked.out, Contains(R1 + " -> " + R2 + " (current), add note"));
}

TEST_CASE("core: -x KEY=VALUE is visible to migrations as context.x.KEY", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  proj.write_config();
  proj.write_migration(
      R1, std::nullopt,
      "  op.execute(\"CREATE TABLE seen (k text, v text)\")\n"
      "  op.execute(\"INSERT INTO seen VALUES ('tenant', $1), ('note', $2), ('missing', $3)\",\n"
      "             context.x.tenant, context.x.note, context.x.missing == nil and 'nil' or 'set')\n"
      "  log.info('tenant is ' .. context.x.tenant)\n",
      "  op.execute(\"DROP TABLE seen\")", "x values");
  auto r = luamig_in(proj, db.url(), {"-x", "tenant=acme", "-x", "note=a=b c", "upgrade", "head"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("tenant is acme"));
  CHECK(db.query_column("SELECT v FROM seen ORDER BY k") == (Strings{"nil", "a=b c", "acme"}));

  // context is read-only.
  proj.write_migration(R2, R1, "  context.x = {}", "", "writes context");
  auto ro = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(ro.status == 1);
  CHECK_THAT(ro.err, Contains("read-only"));

  auto bad = luamig_in(proj, db.url(), {"-x", "novalue", "upgrade", "head"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Contains("KEY=VALUE"));
}

TEST_CASE("core: op.execute binds hostile strings and identifiers are always quoted", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  proj.write_config();
  proj.write_migration(R1, std::nullopt, R"LUA(
  op.create_table("notes", { "id", op.types.serial, primary_key = true }, { "body", "text", nullable = false })
  local n = op.execute("INSERT INTO notes (body) VALUES ($1), ($2), ($3), ($4), ($5)",
    "it's a \"quote\"", "'; DROP TABLE notes; --", "héllo wörld ✓ 日本語 🎉", [[back\slash \' $1 ? %s]],
    "')); DELETE FROM notes; SELECT ('")
  log.info("inserted " .. n .. " rows")
  op.create_table('we"ird name', { "id", "integer", primary_key = true },
    { "it's", "text", default = "x'); DROP TABLE notes; --" })
  op.add_column('we"ird name', { 'col "q"; DROP TABLE notes', "varchar(20)", nullable = true, default = "o'k" })
  op.execute('INSERT INTO "we""ird name" (id) VALUES (1)')
  op.drop_column('we"ird name', "it's"))LUA",
                       R"LUA(
  op.drop_table('we"ird name')
  op.drop_table("notes"))LUA",
                       "hostile");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.err, Contains("inserted 5 rows"));
  CHECK(db.query_column("SELECT body FROM notes ORDER BY id") ==
        (Strings{"it's a \"quote\"", "'; DROP TABLE notes; --", "héllo wörld ✓ 日本語 🎉",
                 "back\\slash \\' $1 ? %s", "')); DELETE FROM notes; SELECT ('"}));
  CHECK(db.columns("we\"ird name") == (Strings{"id", "col \"q\"; DROP TABLE notes"}));
  CHECK(db.query_value("SELECT \"col \"\"q\"\"; DROP TABLE notes\" FROM \"we\"\"ird name\"") == "o'k");
  CHECK(db.table_exists("notes"));

  auto down = luamig_in(proj, db.url(), {"downgrade", "base"});
  CHECK(down.status == 0);
  CHECK(db.tables() == Strings{"alembic_version"});
}

TEST_CASE("core: operations take a schema option", "[core]") {
  TempProject proj;
  TempDb db;
  proj.write_config();
  proj.write_migration(R1, std::nullopt, R"LUA(
  op.execute("CREATE SCHEMA billing")
  op.create_table("invoices", { "id", "integer", primary_key = true }, { "total", "numeric(10,2)" }, { schema = "billing" })
  op.add_column("invoices", { "currency", "char(3)", nullable = false, default = "EUR" }, { schema = "billing" })
  op.drop_column("invoices", "total", { schema = "billing" }))LUA",
                       R"LUA(
  op.drop_table("invoices", { schema = "billing" })
  op.execute("DROP SCHEMA billing"))LUA",
                       "billing schema");
  // A table of the same name in public must be left alone by every operation.
  db.exec("CREATE TABLE invoices (id integer, total integer)");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK(db.columns("invoices", "billing") == (Strings{"id", "currency"}));
  CHECK(db.columns("invoices", "public") == (Strings{"id", "total"}));
  CHECK(luamig_in(proj, db.url(), {"downgrade", "base"}).status == 0);
  CHECK_FALSE(db.table_exists("invoices", "billing"));
  CHECK(db.query_value("SELECT count(*) FROM pg_namespace WHERE nspname = 'billing'") == "0");
  CHECK(db.columns("invoices", "public") == (Strings{"id", "total"}));
}

TEST_CASE("core: a password in the database URL is never printed", "[core]") {
  TempProject proj;
  TempDb db;
  write_linear(proj);
  proj.write_migration("4444dddd0004", R3, "  op.execute(\"SELECT 1/0\")", "", "fails");
  const std::string secret = "s3cretpw";
  // The server trusts every connection, so the password is accepted and ignored.
  std::string url = "postgresql://postgres:" + secret + "@127.0.0.1:" + std::to_string(db.server().port()) +
                    "/" + db.name();
  std::string closed =
      "postgresql://postgres:" + secret + "@127.0.0.1:" + std::to_string(unused_tcp_port()) + "/db";

  auto expect_clean = [&](const RunResult& r, int status) {
    INFO(r.describe());
    CHECK(r.status == status);
    CHECK_THAT(r.all(), !Contains(secret));
  };
  auto with_url = [&](Strings args, const std::string& u = "") {
    args.insert(args.begin(), {"--url", u.empty() ? url : u});
    RunOptions o;
    o.cwd = proj.path();
    return cli(args, o);
  };
  expect_clean(with_url({"upgrade", R3}), 0);
  CHECK(db.version_rows() == Strings{R3});
  auto verbose = with_url({"current", "-v"});
  expect_clean(verbose, 0);
  // The start line names the resolved target: no password at all.
  CHECK_THAT(verbose.err, Contains("postgresql://postgres@127.0.0.1"));
  expect_clean(with_url({"history", "-i", "-v"}), 0);
  expect_clean(with_url({"upgrade", "head"}), 1);  // the failing migration
  expect_clean(with_url({"stamp", R2}), 0);
  expect_clean(with_url({"downgrade", "base"}), 0);
  CHECK(db.version_rows().empty());

  // Connection failures, wherever the URL comes from.
  auto refused = with_url({"current"}, closed);
  expect_clean(refused, 1);
  CHECK_THAT(refused.err, Contains("cannot connect"));
  expect_clean(with_url({"upgrade", "head"}, closed), 1);
  expect_clean(with_url({"current"}, "postgresql://postgres:" + secret + "@127.0.0.1:notaport/db"), 1);
  expect_clean(with_url({"current"}, "postgresql://postgres:" + secret + "@127.0.0.1:" +
                                         std::to_string(db.server().port()) + "/no_such_database"),
               1);
  expect_clean(with_url({"current"}, "postgresql://postgres:s3cret@pw@127.0.0.1:" +
                                         std::to_string(unused_tcp_port()) + "/db"),
               1);
  expect_clean(with_url({"current"}, "mysql://root:" + secret + "@localhost/db"), 2);
  expect_clean(with_url({"current"},
                        "host=127.0.0.1 port=" + std::to_string(unused_tcp_port()) + " password=" + secret),
               1);

  RunOptions env;
  env.cwd = proj.path();
  env.env = {{"DATABASE_URL", closed}};
  expect_clean(cli({"current", "-v"}, env), 1);
  expect_clean(cli({"upgrade", "head"}, env), 1);

  proj.write_config("url = \"" + closed + "\"");
  RunOptions cfg;
  cfg.cwd = proj.path();
  expect_clean(cli({"current", "-v"}, cfg), 1);
  proj.write_config("url = env(\"MY_DB\", \"\")");
  cfg.env = {{"MY_DB", url}};
  expect_clean(cli({"upgrade", R1}, cfg), 0);
  expect_clean(cli({"current", "-v"}, cfg), 0);
  CHECK(db.version_rows() == Strings{R1});
}

TEST_CASE("core: transaction_per_migration = false rolls the whole command back", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  write_linear(proj);
  proj.write_config("transaction_per_migration = false");
  proj.write_migration("4444dddd0004", R3, "  op.execute(\"INSERT INTO no_such_table VALUES (1)\")", "",
                       "fails");

  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("every step of this command was rolled back"));
  CHECK_THAT(r.err, Contains(db.is_postgresql() ? "SQLSTATE: 42P01" : "SQLSTATE: SQLITE_ERROR (1)"));
  // Not even the version table remains: the command left no trace.
  CHECK(db.tables().empty());

  // The same with a version table already there and a revision applied before the command.
  CHECK(luamig_in(proj, db.url(), {"upgrade", R1}).status == 0);
  CHECK(db.version_rows() == Strings{R1});
  CHECK(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 1);
  CHECK(db.version_rows() == Strings{R1});
  CHECK(db.tables() == (Strings{"alembic_version", "t1"}));
  CHECK(db.columns("t1") == Strings{"id"});

  // Without the failing revision the whole command commits at once.
  proj.remove(proj.migration_file("4444dddd0004"));
  CHECK(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
  CHECK(db.version_rows() == Strings{R3});
  CHECK(luamig_in(proj, db.url(), {"downgrade", "base"}).status == 0);
  CHECK(db.tables() == Strings{"alembic_version"});
}

TEST_CASE("core: init and revision write working files", "[core]") {
  TempProject dir;
  BOTH_DIALECTS_DB(db);
  RunOptions in_dir;
  in_dir.cwd = dir.path();

  auto init = cli({"init", "proj"}, in_dir);
  INFO(init.describe());
  REQUIRE(init.status == 0);
  CHECK(dir.exists("proj/luamig.lua"));
  CHECK(dir.exists("proj/migrations/versions"));
  CHECK(dir.exists("proj/migrations/script.lua.tmpl"));
  for (const auto& name : dir.list("proj/migrations/versions"))
    CHECK(name.front() == '.');                      // no revision yet
  CHECK(cli({"init", "proj"}, in_dir).status == 2);  // never overwrites

  RunOptions proj_dir;
  proj_dir.cwd = (dir.path() / "proj").string();
  proj_dir.env = {{"DATABASE_URL", db.url()}};
  auto first = cli({"revision", "-m", "Create users table", "--rev-id", "abc123def456"}, proj_dir);
  INFO(first.describe());
  REQUIRE(first.status == 0);
  CHECK(first.err == "Generating migrations/versions/abc123def456_create_users_table.lua ... done\n");
  std::string text = dir.read("proj/migrations/versions/abc123def456_create_users_table.lua");
  CHECK(text.rfind("-- Create users table\n--\n-- Revision ID: abc123def456\n-- Revises: \n-- Create Date: 2",
                   0) == 0);
  CHECK_THAT(text, Contains("\nrevision = \"abc123def456\"\ndown_revision = nil\nbranch_labels = nil\n"
                            "depends_on = nil\n"));
  CHECK_THAT(text, Contains("\nfunction upgrade()\n") && Contains("\nfunction downgrade()\n"));

  // Without --rev-id: 12 lowercase hex digits, the slug of the message, down_revision = the head.
  auto second = cli({"revision", "-m", "Add phone number!"}, proj_dir);
  REQUIRE(second.status == 0);
  auto revision_files = [&] {
    Strings out;
    for (const auto& name : dir.list("proj/migrations/versions"))
      if (name.front() != '.') out.push_back(name);
    return out;
  };
  auto files = revision_files();
  REQUIRE(files.size() == 2);
  std::string second_file = files[0] == "abc123def456_create_users_table.lua" ? files[1] : files[0];
  CHECK_THAT(second_file, Matches("[0-9a-f]{12}_add_phone_number\\.lua"));
  std::string second_id = second_file.substr(0, 12);
  CHECK_THAT(dir.read("proj/migrations/versions/" + second_file),
             Contains("down_revision = \"abc123def456\""));
  auto long_name = cli({"revision", "-m", "Add a very long message that exceeds the forty character limit",
                        "--rev-id", "0000000000aa", "--head", "abc123def456", "--splice"},
                       proj_dir);
  CHECK(long_name.status == 0);
  CHECK(dir.exists("proj/migrations/versions/0000000000aa_add_a_very_long_message_that_exceeds_.lua"));
  dir.remove("proj/migrations/versions/0000000000aa_add_a_very_long_message_that_exceeds_.lua");

  // The generated files load and run.
  auto hist = cli({"history"}, proj_dir);
  CHECK(hist.out == "abc123def456 -> " + second_id +
                        " (head), Add phone number!\n<base> -> abc123def456, Create "
                        "users table\n");
  CHECK(cli({"upgrade", "head"}, proj_dir).status == 0);
  CHECK(db.version_rows() == Strings{second_id});
  CHECK(cli({"downgrade", "base"}, proj_dir).status == 0);

  // --rev-id is validated up front.
  for (const std::string& bad :
       {std::string("bad-id"), std::string("a:b"), std::string("x@y"), std::string("a+b"),
        std::string(33, 'f'), std::string("head"), std::string("has space")}) {
    auto r = cli({"revision", "-m", "x", "--rev-id", bad}, proj_dir);
    INFO(bad << "\n" << r.describe());
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("--rev-id"));
  }
  auto dup = cli({"revision", "-m", "x", "--rev-id", "abc123def456"}, proj_dir);
  CHECK(dup.status == 2);
  CHECK_THAT(dup.err, Contains("already exists"));

  // --head must name a head unless --splice; --splice starts a branch.
  auto not_head = cli({"revision", "-m", "x", "--head", "abc123def456"}, proj_dir);
  CHECK(not_head.status == 2);
  CHECK_THAT(not_head.err, Contains("--splice"));
  auto unknown = cli({"revision", "-m", "x", "--head", "ffff0000ffff"}, proj_dir);
  CHECK(unknown.status == 2);
  CHECK_THAT(unknown.err, Contains("ffff0000ffff"));
  auto splice =
      cli({"revision", "-m", "branch", "--head", "abc1", "--splice", "--rev-id", "bbbb11112222"}, proj_dir);
  CHECK(splice.status == 0);
  CHECK_THAT(dir.read("proj/migrations/versions/bbbb11112222_branch.lua"),
             Contains("down_revision = \"abc123def456\""));
  // Two heads now: a plain revision must be told where to go.
  auto two = cli({"revision", "-m", "x"}, proj_dir);
  CHECK(two.status == 2);
  CHECK_THAT(two.err,
             Contains("bbbb11112222") && Contains(second_id) && Contains("--head") && Contains("merge"));
  CHECK(revision_files().size() == 3);
}

TEST_CASE("core: exit statuses 0 1 and 2", "[core]") {
  TempProject proj;
  BOTH_DIALECTS_DB(db);
  write_linear(proj);
  auto version = luamig_in(proj, db.url(), {"--version"});
  CHECK(version.status == 0);
  CHECK_THAT(version.out, Matches("luamig \\d+\\.\\d+\\.\\d+\n"));
  CHECK(luamig_in(proj, db.url(), {"--help"}).status == 0);
  CHECK(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);

  // 2: usage, config and revision-graph errors.
  CHECK(luamig_in(proj, db.url(), {}).status == 2);
  CHECK(luamig_in(proj, db.url(), {"frobnicate"}).status == 2);
  CHECK(luamig_in(proj, db.url(), {"upgrade"}).status == 2);
  CHECK(luamig_in(proj, db.url(), {"upgrade", "head", "--bogus"}).status == 2);
  CHECK(luamig_in(proj, db.url(), {"-c", "missing.lua", "heads"}).status == 2);
  CHECK(luamig_in(proj, db.url(), {"upgrade", "nosuchrev"}).status == 2);
  proj.write_config("colour = true");
  auto unknown_key = luamig_in(proj, db.url(), {"heads"});
  CHECK(unknown_key.status == 2);
  CHECK_THAT(unknown_key.err, Contains("'colour'"));
  proj.write_config("transaction_per_migration = 'yes'");
  CHECK(luamig_in(proj, db.url(), {"heads"}).status == 2);
  proj.write_config("script_location = ");
  auto broken = luamig_in(proj, db.url(), {"heads"});
  CHECK(broken.status == 2);
  CHECK_THAT(broken.err, Contains("luamig.lua:"));
  proj.write_config();
  CHECK(luamig_in(proj, db.url(), {"heads"}).status == 0);

  // 1: migration and database failures.
  proj.write_migration("4444dddd0004", R3, "  error('boom')", "", "fails");
  CHECK(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 1);
  RunOptions closed;
  closed.cwd = proj.path();
  closed.env = {
      {"DATABASE_URL", "postgresql://postgres@127.0.0.1:" + std::to_string(unused_tcp_port()) + "/x"}};
  CHECK(cli({"upgrade", "head"}, closed).status == 1);
  CHECK(db.version_rows() == Strings{R3});
}

TEST_CASE("core: the worked example in migrations/ upgrades and downgrades", "[core][example]") {
  BOTH_DIALECTS_DB(db);
  RunOptions at_root;
  at_root.cwd = LUAMIG_SOURCE_DIR;
  at_root.env = {{"DATABASE_URL", db.url()}};
  const Strings user_columns = {"id",   "email",     "first_name",  "last_name",  "password_hash",
                                "role", "is_active", "is_verified", "created_at", "updated_at"};

  auto heads = cli({"heads"}, at_root);
  REQUIRE(heads.status == 0);
  CHECK(heads.out == "9e7d2b6a1c38 (head)\n");

  auto up = cli({"upgrade", "head"}, at_root);
  INFO(up.describe());
  REQUIRE(up.status == 0);
  CHECK_THAT(up.err, Contains("Running upgrade  -> 4c1f3a9b7d20, create users"));
  CHECK_THAT(up.err, Contains("Running upgrade 4c1f3a9b7d20 -> 9e7d2b6a1c38, add phone_number to users"));
  CHECK(db.version_rows() == Strings{"9e7d2b6a1c38"});
  CHECK(cli({"current"}, at_root).out == "9e7d2b6a1c38\n");
  Strings with_phone = user_columns;
  with_phone.push_back("phone_number");
  CHECK(db.columns("users") == with_phone);
  auto phone = db.column("users", "phone_number");
  CHECK(phone.nullable);
  CHECK(phone.type == (db.is_postgresql() ? "character varying" : "varchar(20)"));

  // The database-side defaults, and email uniqueness.
  db.exec(
      "INSERT INTO users (email, first_name, last_name, password_hash) VALUES ('a@example.com', 'Ada', "
      "'Lovelace', 'x')");
  CHECK(db.query_value("SELECT role || ' ' || is_active || ' ' || is_verified || ' ' || (created_at IS NOT "
                       "NULL) || ' ' || (phone_number IS NULL) FROM users") ==
        (db.is_postgresql() ? "student true false true true" : "student 1 0 1 1"));
  CHECK_THROWS(
      db.exec("INSERT INTO users (email, first_name, last_name, password_hash) VALUES ('a@example.com', "
              "'B', 'C', 'y')"));

  auto down = cli({"downgrade", "-1"}, at_root);
  REQUIRE(down.status == 0);
  CHECK(db.version_rows() == Strings{"4c1f3a9b7d20"});
  CHECK(cli({"current"}, at_root).out == "4c1f3a9b7d20\n");
  CHECK(db.columns("users") == user_columns);
  CHECK(db.query_value("SELECT email FROM users") == "a@example.com");

  CHECK(cli({"downgrade", "base"}, at_root).status == 0);
  CHECK(db.version_rows().empty());
  CHECK(cli({"current"}, at_root).out.empty());
  CHECK_FALSE(db.table_exists("users"));
  CHECK(cli({"upgrade", "head"}, at_root).status == 0);
  CHECK(db.columns("users") == with_phone);
}
