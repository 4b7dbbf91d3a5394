// Self-tests of the integration-test harness (tests/support/).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;

TEST_CASE("harness: PostgreSQL server starts and accepts connections", "[harness]") {
  auto t0 = std::chrono::steady_clock::now();
  PgServer& pg = PgServer::shared();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  INFO("startup took " << ms << " ms, admin url " << pg.admin_url());
  CHECK(pg.port() > 0);
  CHECK(&pg == &PgServer::shared());
  CHECK(pg.is_running());

  pqxx::connection c{pg.admin_url()};
  pqxx::nontransaction tx{c};
  auto r = tx.exec("SELECT current_user, current_setting('server_version_num')::int");
  CHECK(std::string(r[0][0].c_str()) == "postgres");
  if (!pg.external()) {
    CHECK(pg.admin_url() == "postgresql://postgres@127.0.0.1:" + std::to_string(pg.port()) + "/postgres");
    CHECK(pg.host() == "127.0.0.1");
    CHECK(r[0][1].as<int>() >= 150000);
    CHECK(std::filesystem::exists(std::filesystem::path(pg.bin_dir()) / "initdb"));
    CHECK(std::string(tx.exec("SHOW fsync")[0][0].c_str()) == "off");
    CHECK(std::string(tx.exec("SHOW listen_addresses")[0][0].c_str()) == "127.0.0.1");
  }
}

TEST_CASE("harness: TempDbs are isolated and dropped", "[harness]") {
  std::string first_name;
  {
    TempDb a, b;
    first_name = a.name();
    CHECK(a.name() != b.name());
    CHECK(a.url() != b.url());
    CHECK_THAT(a.url(), Contains(a.name()));
    CHECK(a.query_value("SELECT current_database()") == a.name());
    CHECK(b.query_value("SELECT current_database()") == b.name());
    CHECK(a.tables().empty());

    a.exec("CREATE TABLE only_in_a (id int)");
    CHECK(a.table_exists("only_in_a"));
    CHECK_FALSE(b.table_exists("only_in_a"));
    CHECK(a.tables() == Strings{"only_in_a"});
    CHECK(b.tables().empty());

    // An open connection does not prevent the drop (WITH (FORCE)).
    pqxx::connection held = a.connect();
    CHECK(held.is_open());
  }
  TempDb c;
  CHECK(c.query_value("SELECT count(*) FROM pg_database WHERE datname = '" + first_name + "'") == "0");
}

TEST_CASE("harness: table_exists columns and version_rows", "[harness]") {
  TempDb db;
  CHECK_FALSE(db.table_exists("t"));
  CHECK(db.columns("t").empty());
  CHECK(db.version_rows().empty());

  db.exec(
      "CREATE TABLE t (a int, b text, c int);"
      "ALTER TABLE t DROP COLUMN b;"
      "ALTER TABLE t ADD COLUMN d text;"
      "CREATE VIEW v AS SELECT a FROM t;"
      "CREATE SCHEMA other;"
      "CREATE TABLE other.t2 (x int)");
  CHECK(db.table_exists("t"));
  CHECK(db.columns("t") == Strings{"a", "c", "d"});
  CHECK_FALSE(db.table_exists("v"));
  CHECK(db.relation_exists("v"));
  CHECK(db.columns("v") == Strings{"a"});
  CHECK_FALSE(db.table_exists("t2"));
  CHECK(db.table_exists("t2", "other"));
  CHECK(db.columns("t2", "other") == Strings{"x"});

  db.exec(
      "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);"
      "INSERT INTO alembic_version VALUES ('b2'), ('a1')");
  CHECK(db.version_rows() == Strings{"a1", "b2"});
  CHECK(db.version_rows("alembic_version", "other").empty());
  db.exec(
      "CREATE TABLE other.my_versions (version_num varchar(32) PRIMARY KEY);"
      "INSERT INTO other.my_versions VALUES ('zz')");
  CHECK(db.version_rows("my_versions", "other") == Strings{"zz"});

  CHECK(db.query_column("SELECT x FROM (VALUES (1), (NULL), (3)) v(x) ORDER BY x NULLS FIRST") ==
        Strings{"<null>", "1", "3"});
  CHECK(db.query_value("SELECT NULL") == "<null>");
  CHECK_THROWS(db.query_value("SELECT 1 WHERE false"));
  CHECK_THROWS(db.exec("SELECT * FROM no_such_table"));
}

TEST_CASE("harness: server can be stopped and restarted", "[harness]") {
  PgServer& pg = PgServer::shared();
  if (pg.external()) {
    WARN("external server (LUAMIG_TEST_PG_URL): restart not tested");
    return;
  }
  TempDb db;
  db.exec("CREATE TABLE survives (id int); INSERT INTO survives VALUES (42)");
  int port = pg.port();
  pg.stop();
  CHECK_FALSE(pg.is_running());
  CHECK_THROWS(db.query_value("SELECT 1"));
  pg.start();
  CHECK(pg.is_running());
  CHECK(pg.port() == port);
  CHECK(db.query_value("SELECT id FROM survives") == "42");
}

TEST_CASE("harness: run captures stdout stderr and exit status", "[harness]") {
  auto r = run({"sh", "-c", "echo out; echo err >&2; printf 'no newline'; exit 3"});
  CHECK(r.status == 3);
  CHECK(r.out == "out\nno newline");
  CHECK(r.err == "err\n");
  CHECK_FALSE(r.ok());
  CHECK_THAT(r.describe(), Contains("exit status 3"));

  CHECK(run({"true"}).status == 0);
  CHECK(run({"false"}).status == 1);

  // Big output on both streams does not deadlock.
  auto big = run({"sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; head -c 2000000 /dev/zero >&2"});
  CHECK(big.status == 0);
  CHECK(big.out.size() == 3000000);
  CHECK(big.err.size() == 2000000);

  RunOptions in;
  in.stdin_data = std::string(300000, 'y') + "\nlast line\n";
  auto cat = run({"cat"}, in);
  CHECK(cat.out == in.stdin_data);
  // Without stdin_data, stdin is empty (EOF), never the test's terminal.
  CHECK(run({"cat"}).out.empty());

  CHECK_THROWS_WITH(run({"/nonexistent/program"}), Contains("/nonexistent/program"));
}

TEST_CASE("harness: run reports signals and enforces timeouts", "[harness]") {
  CHECK(run({"sh", "-c", "kill -TERM $$"}).status == 128 + SIGTERM);
  CHECK(run({"sh", "-c", "kill -KILL $$"}).status == 128 + SIGKILL);

  RunOptions quick;
  quick.timeout_ms = 300;
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(run({"sh", "-c", "echo started; sleep 30"}, quick), RunTimeout);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed < std::chrono::seconds(5));
  CHECK_THROWS_WITH(run({"sleep", "30"}, quick), Contains("timeout") && Contains("sleep 30"));
}

TEST_CASE("harness: run environment cwd and descriptors are hermetic", "[harness]") {
  ::setenv("DATABASE_URL", "postgresql://leaked/db", 1);
  ::setenv("LUAMIG_CONFIG", "/leaked.lua", 1);
  ::setenv("PGPASSWORD", "leaked", 1);
  ::setenv("HARNESS_KEEP_ME", "kept", 1);
  ::setenv("HARNESS_DROP_ME", "x", 1);

  const char* show =
      "echo \"${DATABASE_URL-unset} ${LUAMIG_CONFIG-unset} ${PGPASSWORD-unset} "
      "${NO_COLOR-unset} ${HARNESS_KEEP_ME-unset} ${HARNESS_DROP_ME-unset}\"";
  CHECK(run({"sh", "-c", show}).out == "unset unset unset 1 kept x\n");

  RunOptions o;
  o.env = {{"DATABASE_URL", "postgresql://given/db"}, {"NO_COLOR", "0"}};
  o.unset_env = {"HARNESS_DROP_ME"};
  CHECK(run({"sh", "-c", show}, o).out == "postgresql://given/db unset unset 0 kept unset\n");

  RunOptions no_color;
  no_color.unset_env = {"NO_COLOR"};
  CHECK(run({"sh", "-c", "echo ${NO_COLOR-unset}"}, no_color).out == "unset\n");

  ::unsetenv("DATABASE_URL");
  ::unsetenv("LUAMIG_CONFIG");
  ::unsetenv("PGPASSWORD");
  ::unsetenv("HARNESS_KEEP_ME");
  ::unsetenv("HARNESS_DROP_ME");

  TempProject proj;
  RunOptions in_dir;
  in_dir.cwd = proj.path();
  CHECK(run({"pwd", "-P"}, in_dir).out == proj.path().string() + "\n");
  in_dir.cwd = proj.path() / "missing";
  CHECK_THROWS_WITH(run({"pwd"}, in_dir), Contains("chdir"));

  // A descriptor leaked without O_CLOEXEC is not visible in the child.
  int fd = ::open("/dev/null", O_RDONLY);
  REQUIRE(fd > 2);
  auto r = run({"sh", "-c",
                "ls /proc/self/fd/ >/dev/null; [ -e /proc/$$/fd/" + std::to_string(fd) +
                    " ] && echo leaked || echo clean"});
  ::close(fd);
  CHECK(r.out == "clean\n");

  if (::geteuid() == 0) {
    RunOptions as_nobody;
    as_nobody.run_as_user = "nobody";
    CHECK(run({"id", "-un"}, as_nobody).out == "nobody\n");
  }
}

TEST_CASE("harness: Spawned background processes", "[harness]") {
  Spawned s({"sh", "-c", "echo ready; exec sleep 30"});
  CHECK(s.pid() > 0);
  CHECK(s.wait_for_output("ready", 10000));
  CHECK(s.running());
  s.kill(SIGTERM);
  auto r = s.wait(10000);
  CHECK(r.status == 128 + SIGTERM);
  CHECK(r.out == "ready\n");
  CHECK_FALSE(s.running());

  Spawned quick({"sh", "-c", "echo done >&2; exit 7"});
  auto q = quick.wait();
  CHECK(q.status == 7);
  CHECK(q.err == "done\n");
  CHECK_FALSE(quick.wait_for_output("never printed", 200));

  Spawned slow({"sleep", "30"});
  CHECK_THROWS_AS(slow.wait(200), RunTimeout);
  CHECK_FALSE(slow.running());

  // Destructor kills a still-running child.
  pid_t pid;
  {
    Spawned bg({"sleep", "30"});
    pid = bg.pid();
  }
  CHECK(::kill(pid, 0) != 0);
}

TEST_CASE("harness: luamig binary is configured", "[harness]") {
  CHECK(std::filesystem::path(luamig_bin()).is_absolute());
  CHECK(::access(luamig_bin().c_str(), X_OK) == 0);
}

TEST_CASE("harness: TempProject writes files and migrations", "[harness]") {
  std::filesystem::path root;
  {
    TempProject p;
    root = p.path();
    CHECK(std::filesystem::is_directory(root));
    CHECK(p.list().empty());

    p.write("a/b/c.txt", "hello\n");
    CHECK(p.exists("a/b/c.txt"));
    CHECK_FALSE(p.exists("a/b/d.txt"));
    CHECK(p.read("a/b/c.txt") == "hello\n");
    CHECK(p.list("a") == Strings{"b"});
    CHECK(p.list("nope").empty());
    CHECK_THROWS(p.read("nope.txt"));

    p.write_config("sqlalchemy_url = nil");
    CHECK(p.read("luamig.lua") == "script_location = \"migrations\"\nsqlalchemy_url = nil\n");

    std::string rel =
        p.write_migration("a1b2", std::nullopt, "  op.execute(\"SELECT 1\")", "", "Add users table");
    CHECK(rel == "migrations/versions/a1b2_add_users_table.lua");
    CHECK(p.read(rel) ==
          "-- Add users table\n"
          "--\n"
          "-- Revision ID: a1b2\n"
          "-- Revises: \n"
          "-- Create Date: 2026-11-21 10:00:00\n"
          "\n"
          "revision = \"a1b2\"\n"
          "down_revision = nil\n"
          "branch_labels = nil\n"
          "depends_on = nil\n"
          "\n"
          "function upgrade()\n"
          "  op.execute(\"SELECT 1\")\n"
          "end\n"
          "\n"
          "function downgrade()\n"
          "\n"
          "end\n");
    p.write_migration("c3d4", "a1b2", "", "");
    CHECK(p.list("migrations/versions") == Strings{"a1b2_add_users_table.lua", "c3d4_msg.lua"});
    std::string child = p.read("migrations/versions/c3d4_msg.lua");
    CHECK_THAT(child, Contains("-- Revises: a1b2\n"));
    CHECK_THAT(child, Contains("down_revision = \"a1b2\"\n"));

    CHECK_THAT(migration("m1", R"({"a1", "b2"})", "", "", "merge"),
               Contains("down_revision = {\"a1\", \"b2\"}\n") && Contains("-- Revises: a1, b2\n"));
    CHECK(slugify("Add a very long message that exceeds the forty character limit") ==
          "add_a_very_long_message_that_exceeds_");
  }
  if (!std::getenv("LUAMIG_KEEP_TMP")) CHECK_FALSE(std::filesystem::exists(root));
}
