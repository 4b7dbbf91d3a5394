// Start-up paths: `upgrade head` with nothing to do answers from one read of the version table, a missing
// version table is still created when there is nothing to apply, and `--version` needs no project.
#include <catch2/catch.hpp>

#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"

namespace lt = luamig::test;

TEST_CASE("startup: upgrade head twice, the second run has nothing to do", "[startup]") {
  lt::TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, "  op.create_table('t', { 'id', 'integer' })",
                       "  op.drop_table('t')");
  proj.write_migration("b2", "a1", "  op.add_column('t', { 'c', 'integer' })", "  op.drop_column('t', 'c')");
  lt::TempDb db;

  auto r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
  REQUIRE(r.status == 0);
  CHECK(db.version_rows() == std::vector<std::string>{"b2"});

  r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
  REQUIRE(r.status == 0);
  CHECK(r.err.find("Nothing to do: the database is at b2") != std::string::npos);
  CHECK(db.version_rows() == std::vector<std::string>{"b2"});

  SECTION("upgrade to an ancestor is refused as before (the fast path leaves errors to the full run)") {
    r = lt::luamig_in(proj, db.url(), {"upgrade", "a1"});
    CHECK(r.status == 2);
    INFO(r.err);
    CHECK(r.err.find("a1") != std::string::npos);
    CHECK(db.version_rows() == std::vector<std::string>{"b2"});
  }
  SECTION("upgrade to the current revision by id") {
    r = lt::luamig_in(proj, db.url(), {"upgrade", "b2"});
    CHECK(r.status == 0);
    CHECK(r.err.find("Nothing to do") != std::string::npos);
  }
  SECTION("a target that does not resolve is still reported") {
    r = lt::luamig_in(proj, db.url(), {"upgrade", "zz9"});
    CHECK(r.status == 2);
    CHECK(db.version_rows() == std::vector<std::string>{"b2"});
  }
  SECTION("downgrade to where the database is") {
    r = lt::luamig_in(proj, db.url(), {"downgrade", "b2"});
    CHECK(r.status == 0);
    CHECK(r.err.find("Nothing to do") != std::string::npos);
  }
  SECTION("new work after the fast path's read is applied") {
    proj.write_migration("c3", "b2", "  op.add_column('t', { 'd', 'integer' })",
                         "  op.drop_column('t', 'd')");
    r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
    CHECK(r.status == 0);
    CHECK(db.version_rows() == std::vector<std::string>{"c3"});
    CHECK(db.columns("t") == std::vector<std::string>{"id", "c", "d"});
  }
}

TEST_CASE("startup: with nothing to apply the version table is still created", "[startup]") {
  lt::TempProject proj;
  proj.write_config();
  proj.write("migrations/versions/.keep", "");
  lt::TempDb db;
  auto r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
  REQUIRE(r.status == 0);
  CHECK(db.table_exists("alembic_version"));
  CHECK(db.version_rows().empty());
  // And once it exists, the fast path answers.
  r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(r.status == 0);
  CHECK(r.err.find("Nothing to do: the database is at base") != std::string::npos);
}

TEST_CASE("startup: read-only commands on a database without a version table create nothing", "[startup]") {
  lt::TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, "", "");
  lt::TempDb db;
  auto r = lt::luamig_in(proj, db.url(), {"current"});
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  r = lt::luamig_in(proj, db.url(), {"history", "-i"});
  CHECK(r.status == 0);
  CHECK(!db.table_exists("alembic_version"));
}

TEST_CASE("startup: a version table luamig cannot read is an error, not an empty database", "[startup]") {
  lt::TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, "", "");
  lt::TempDb db;
  // A table of that name without the version_num column: the SELECT fails with another SQLSTATE than
  // undefined_table, and the table exists, so luamig must not treat the database as empty.
  db.exec("CREATE TABLE alembic_version (v text)");
  auto r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(r.status != 0);
  CHECK(r.err.find("version_num") != std::string::npos);
}

TEST_CASE("startup: --version needs no project, config or database", "[startup]") {
  lt::TempProject empty;
  lt::RunOptions o;
  o.cwd = empty.path().string();
  o.env = {{"LUAMIG_CONFIG", "/nonexistent.lua"}};
  auto r = lt::luamig({"--version"}, o);
  CHECK(r.status == 0);
  CHECK(r.out == "luamig " LUAMIG_VERSION "\n");
}

TEST_CASE("startup: the remembered heads never hide a change to the project", "[startup]") {
  lt::TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, "  op.create_table('t', { 'id', 'integer' })",
                       "  op.drop_table('t')");
  lt::TempDb db;
  REQUIRE(lt::luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
  REQUIRE(proj.exists("migrations/versions/.luamig-cache-heads"));
  auto r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(r.err.find("Nothing to do: the database is at a1") != std::string::npos);

  SECTION("a file that breaks the graph is reported, not skipped") {
    proj.write("migrations/versions/b2_broken.lua", "revision = \"b2\"\ndown_revision = \"nope\"\n");
    r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
    CHECK(r.status == 2);
    CHECK(r.err.find("nope") != std::string::npos);
  }
  SECTION("a second head makes `upgrade head` ask for a choice") {
    proj.write_migration("b2", std::nullopt, "", "", "other base");
    r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
    CHECK(r.status == 2);
    CHECK(r.err.find("Multiple head") != std::string::npos);
    r = lt::luamig_in(proj, db.url(), {"upgrade", "heads"});
    CHECK(r.status == 0);
    CHECK(db.version_rows() == std::vector<std::string>{"a1", "b2"});
    r = lt::luamig_in(proj, db.url(), {"upgrade", "heads"});
    CHECK(r.err.find("Nothing to do") != std::string::npos);
  }
  SECTION("a stamped database elsewhere in the graph is upgraded") {
    proj.write_migration("b2", "a1", "  op.add_column('t', { 'c', 'integer' })",
                         "  op.drop_column('t', 'c')");
    REQUIRE(lt::luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
    REQUIRE(lt::luamig_in(proj, db.url(), {"stamp", "a1"}).status == 0);
    db.exec("ALTER TABLE t DROP COLUMN c");
    r = lt::luamig_in(proj, db.url(), {"upgrade", "head"});
    CHECK(r.status == 0);
    CHECK(db.version_rows() == std::vector<std::string>{"b2"});
  }
}
