// luamig_history: checksums, the tamper-evident chain, validate / repair, failure rows, concurrency, Alembic
// sharing the database, and luamig.sum. Each database case runs on PostgreSQL and SQLite.
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"

namespace lt = luamig::test;
using Catch::Matchers::Contains;
using lt::RunResult;
using lt::TempProject;

namespace {
struct Fixture {
  explicit Fixture(const std::string& dialect) : db(lt::TestDb::make(dialect)) { proj.write_config(); }
  RunResult run(std::vector<std::string> args) const { return lt::luamig_in(proj, db->url(), args); }
  std::vector<std::string> rows(const std::string& what = "kind || ' ' || revision || ' ' || outcome") const {
    return db->query_column("SELECT " + what + " FROM luamig_history ORDER BY seq");
  }
  // Three revisions a1 <- b2 <- c3, each creating a table.
  void three() {
    files.push_back(proj.write_migration("a1", std::nullopt, "  op.execute(\"CREATE TABLE ta (id integer)\")",
                                         "  op.execute(\"DROP TABLE ta\")"));
    files.push_back(proj.write_migration("b2", "a1", "  op.execute(\"CREATE TABLE tb (id integer)\")",
                                         "  op.execute(\"DROP TABLE tb\")"));
    files.push_back(proj.write_migration("c3", "b2", "  op.execute(\"CREATE TABLE tc (id integer)\")",
                                         "  op.execute(\"DROP TABLE tc\")"));
  }
  TempProject proj;
  std::unique_ptr<lt::TestDb> db;
  std::vector<std::string> files;
};

}  // namespace

TEST_CASE("history: upgrade writes one row per step with checksums and an intact chain", "[history]") {
  Fixture f(EACH_DIALECT());
  f.three();
  auto r = f.run({"upgrade", "b2"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.rows() == std::vector<std::string>{"upgrade a1 success", "upgrade b2 success"});
  CHECK(f.rows("heads_before || '>' || heads_after") == std::vector<std::string>{">a1", "a1>b2"});
  CHECK(f.rows("checksum_algo") == std::vector<std::string>{"1", "1"});
  for (const auto& c : f.rows("checksum")) CHECK(c.size() == 64);
  r = f.run({"upgrade", "head"});
  REQUIRE(r.status == 0);
  r = f.run({"downgrade", "a1"});
  REQUIRE(r.status == 0);
  CHECK(f.rows() == std::vector<std::string>{"upgrade a1 success", "upgrade b2 success", "upgrade c3 success",
                                             "downgrade c3 success", "downgrade b2 success"});
  r = f.run({"validate"});
  INFO(r);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("History valid: 5 rows"));
  r = f.run({"history", "--applied"});
  INFO(r);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("downgrade b2 success b2 -> a1"));
  CHECK(r.out.find("\n\n") == std::string::npos);
  for (const auto& user : f.rows("db_user")) CHECK_FALSE(user.empty());
  for (const auto& host : f.rows("client_host")) CHECK_FALSE(host.empty());
  r = f.run({"show", "a1"});
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("Applied:  upgrade success at 20"));
  // A no-op upgrade writes nothing
  r = f.run({"upgrade", "a1"});
  CHECK(f.rows().size() == 5);
}

TEST_CASE("history: an edited applied file stops upgrade; validate names it; repair accepts it",
          "[history]") {
  Fixture f(EACH_DIALECT());
  f.three();
  f.proj.remove(f.files[2]);
  REQUIRE(f.run({"upgrade", "head"}).status == 0);
  REQUIRE(f.run({"upgrade", "head"}).status == 0);
  auto text = f.proj.read(f.files[0]);
  f.proj.write(f.files[0], text + "\nlocal extra = 1\n");
  // Nothing to run, but the no-op path validates as well
  auto noop = f.run({"upgrade", "head"});
  INFO(noop);
  CHECK(noop.status == 1);
  CHECK_THAT(noop.err, Contains("revision a1 was edited after it was applied"));
  f.proj.write(f.files[2], lt::migration("c3", "b2", "  op.execute(\"CREATE TABLE tc (id integer)\")", ""));
  auto r = f.run({"upgrade", "head"});
  INFO(r);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains(f.files[0]) && Contains("revision a1 was edited after it was applied") &&
                        Contains("repair --accept a1"));
  CHECK(f.db->version_rows() == std::vector<std::string>{"b2"});
  CHECK_FALSE(f.db->table_exists("tc"));
  r = f.run({"validate"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("revision a1 was edited"));
  // The no-op path refuses as well
  r = f.run({"upgrade", "b2"});
  CHECK(r.status == 1);
  r = f.run({"upgrade", "head", "--dry-run"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("revision a1 was edited"));
  // --no-validate goes ahead and says so
  r = f.run({"upgrade", "head", "--no-validate"});
  INFO(r);
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("--no-validate"));
  r = f.run({"repair", "--accept", "a1", "--reason", "added a local"});
  INFO(r);
  CHECK(r.status == 0);
  r = f.run({"validate"});
  INFO(r);
  CHECK(r.status == 0);
  CHECK(f.rows().back() == "repair a1 success");
  CHECK(f.rows("message").back() == "added a local");
  // repair of a revision that is not applied is refused
  r = f.run({"repair", "--accept", "zz", "--reason", "x"});
  CHECK(r.status != 0);
}

TEST_CASE("history: CRLF-only and comment-only edits warn and do not stop upgrade", "[history]") {
  Fixture f(EACH_DIALECT());
  f.three();
  f.proj.remove(f.files[2]);
  REQUIRE(f.run({"upgrade", "head"}).status == 0);
  auto text = f.proj.read(f.files[0]);
  SECTION("CRLF") {
    std::string crlf;
    for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    f.proj.write(f.files[0], crlf);
    auto r = f.run({"validate"});
    INFO(r);
    CHECK(r.status == 0);
    CHECK(r.err.find("WARNING") == std::string::npos);  // line endings do not count at all
  }
  SECTION("comments and indentation") {
    auto at = text.find("  op.execute");
    REQUIRE(at != std::string::npos);
    text.insert(at, "  -- a comment added later\n\t");
    f.proj.write(f.files[0], text + "--[[ and a long one ]]\n");
    auto r = f.run({"validate"});
    INFO(r);
    CHECK(r.status == 0);
    CHECK_THAT(r.err,
               Contains("WARNING") && Contains("comments or whitespace only") && Contains("revision a1"));
    f.proj.write(f.files[2], lt::migration("c3", "b2", "  op.execute(\"CREATE TABLE tc (id integer)\")", ""));
    r = f.run({"upgrade", "head"});
    INFO(r);
    CHECK(r.status == 0);
    CHECK_THAT(r.err, Contains("comments or whitespace only"));
    CHECK(f.db->version_rows() == std::vector<std::string>{"c3"});
  }
  SECTION("a change inside a string literal is an edit") {
    auto at = text.find("CREATE TABLE ta");
    REQUIRE(at != std::string::npos);
    text.replace(at, 15, "CREATE TABLE  ta");
    f.proj.write(f.files[0], text);
    auto r = f.run({"validate"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("revision a1 was edited"));
  }
}

TEST_CASE("history: tampered rows are detected and the first bad row named", "[history]") {
  Fixture f(EACH_DIALECT());
  f.three();
  REQUIRE(f.run({"upgrade", "head"}).status == 0);
  REQUIRE(f.run({"validate"}).status == 0);
  std::string expect;
  SECTION("update") {
    f.db->exec("UPDATE luamig_history SET db_user = 'mallory' WHERE seq = 2");
    expect = "history row seq 2 (revision b2, upgrade): chain mismatch";
  }
  SECTION("update of the checksum and the chain of the last row") {
    f.db->exec("UPDATE luamig_history SET checksum = 'x', chain = 'y' WHERE seq = 3");
    expect = "history row seq 3 (revision c3, upgrade): chain mismatch";
  }
  SECTION("delete") {
    f.db->exec("DELETE FROM luamig_history WHERE seq = 2");
    expect = "history row seq 3 (revision c3, upgrade): expected seq 2";
  }
  SECTION("swap two rows") {
    f.db->exec("UPDATE luamig_history SET seq = -1 WHERE seq = 1");
    f.db->exec("UPDATE luamig_history SET seq = 1 WHERE seq = 2");
    f.db->exec("UPDATE luamig_history SET seq = 2 WHERE seq = -1");
    expect = "history row seq 1 (revision b2, upgrade): chain mismatch";
  }
  auto r = f.run({"validate"});
  INFO(r);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains(expect));
  // The no-op `upgrade head` (answered from the remembered heads and the header cache) refuses
  r = f.run({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains(expect));
  // upgrade refuses too, and repair does not paper over an edited history
  f.proj.write_migration("d4", "c3", "", "");
  r = f.run({"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains(expect));
  CHECK(f.db->version_rows() == std::vector<std::string>{"c3"});
  r = f.run({"repair", "--accept", "a1", "--reason", "x"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("not an edited history"));
}

TEST_CASE("history: a failed step leaves one failure row and no partial chain", "[history]") {
  Fixture f(EACH_DIALECT());
  const bool whole = GENERATE(false, true);
  if (whole) f.proj.write_config("transaction_per_migration = false");
  f.three();
  f.proj.write_migration(
      "d4", "c3", "  op.execute(\"CREATE TABLE td (id integer)\")\n  op.execute(\"SELECT * FROM no_such_t\")",
      "");
  REQUIRE(f.run({"upgrade", "a1"}).status == 0);
  auto r = f.run({"upgrade", "head"});
  INFO(r);
  CHECK(r.status == 1);
  if (whole)
    CHECK(f.rows() == std::vector<std::string>{"upgrade a1 success", "upgrade d4 failed"});
  else
    CHECK(f.rows() == std::vector<std::string>{"upgrade a1 success", "upgrade b2 success",
                                               "upgrade c3 success", "upgrade d4 failed"});
  CHECK_THAT(f.rows("message").back(), Contains("no_such_t"));
  if (f.db->is_postgresql()) CHECK(f.rows("sqlstate").back() == "42P01");
  CHECK_FALSE(f.db->table_exists("td"));
  r = f.run({"validate"});
  INFO(r);
  CHECK(r.status == 0);
}

TEST_CASE("history: concurrent upgrades write one row per step", "[history]") {
  Fixture f(EACH_DIALECT());
  std::optional<std::string> prev;
  for (int i = 1; i <= 8; ++i) {
    std::string rev = "r0" + std::to_string(i);
    f.proj.write_migration(rev, prev, "  op.execute(\"CREATE TABLE t" + rev + " (id integer)\")", "");
    prev = rev;
  }
  std::vector<std::unique_ptr<lt::Spawned>> procs;
  for (int i = 0; i < 5; ++i)
    procs.push_back(std::make_unique<lt::Spawned>(
        std::vector<std::string>{lt::luamig_bin(), "upgrade", "head"},
        lt::RunOptions{.cwd = f.proj.path().string(), .env = {{"DATABASE_URL", f.db->url()}}}));
  for (auto& p : procs) {
    auto r = p->wait(60000);
    INFO(r);
    CHECK(r.status == 0);
  }
  auto rows = f.rows("revision");
  CHECK(rows == std::vector<std::string>{"r01", "r02", "r03", "r04", "r05", "r06", "r07", "r08"});
  CHECK(f.run({"validate"}).status == 0);
}

TEST_CASE("history: a database taken over from Alembic gets a baseline row; stamp moves become external rows",
          "[history]") {
  Fixture f(EACH_DIALECT());
  f.three();
  f.db->exec("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)");
  f.db->exec("INSERT INTO alembic_version VALUES ('a1')");
  f.db->exec("CREATE TABLE ta (id integer)");
  auto r = f.run({"upgrade", "b2"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.rows("kind || ' ' || heads_after") == std::vector<std::string>{"baseline a1", "upgrade b2"});
  // Moves made without luamig are recorded by the next run
  f.db->exec("CREATE TABLE tc (id integer)");
  f.db->exec("UPDATE alembic_version SET version_num = 'c3'");
  r = f.run({"validate"});
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("moved since the last history row"));
  r = f.run({"upgrade", "head"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.rows() ==
        std::vector<std::string>{"baseline  success", "upgrade b2 success", "external-upgrade c3 success"});
  r = f.run({"validate"});
  CHECK(r.status == 0);
  CHECK(r.err.find("WARNING") == std::string::npos);
}

namespace {
// A tiny Alembic project with the same revision ids as the luamig project.
void write_alembic(const TempProject& proj, const std::string& url) {
  proj.write("alembic/alembic.ini",
             "[alembic]\nscript_location = " + (proj.path() / "alembic").string() +
                 "\nsqlalchemy.url = " + url +
                 "\n[loggers]\nkeys = root\n[handlers]\nkeys = console\n[formatters]\nkeys = "
                 "generic\n[logger_root]\nlevel = WARN\nhandlers = console\n[handler_console]\n"
                 "class = StreamHandler\nargs = (sys.stderr,)\nformatter = generic\n"
                 "[formatter_generic]\nformat = %(message)s\n");
  proj.write(
      "alembic/env.py",
      "from alembic import context\nfrom sqlalchemy import engine_from_config, pool\n"
      "config = context.config\n"
      "connectable = engine_from_config(config.get_section(config.config_ini_section), prefix='sqlalchemy.', "
      "poolclass=pool.NullPool)\n"
      "with connectable.connect() as connection:\n"
      "    context.configure(connection=connection, target_metadata=None)\n"
      "    with context.begin_transaction():\n"
      "        context.run_migrations()\n");
  proj.write("alembic/script.py.mako", "");
  auto rev = [&](const std::string& id, const std::string& down, const std::string& table) {
    proj.write("alembic/versions/" + id + ".py", "from alembic import op\nrevision = '" + id +
                                                     "'\ndown_revision = " + down +
                                                     "\nbranch_labels = None\ndepends_on = None\n"
                                                     "def upgrade():\n    op.execute('CREATE TABLE " +
                                                     table +
                                                     " (id integer)')\n"
                                                     "def downgrade():\n    op.execute('DROP TABLE " +
                                                     table + "')\n");
  };
  rev("a1", "None", "ta");
  rev("b2", "'a1'", "tb");
  rev("c3", "'b2'", "tc");
}
}  // namespace

TEST_CASE("history: Alembic upgrades and downgrades the same database; luamig records external rows",
          "[history]") {
  Fixture f(EACH_DIALECT());
  f.three();
  write_alembic(f.proj, f.db->url());  // SQLAlchemy spells both URLs as luamig does
  auto alembic = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"alembic", "-c", (f.proj.path() / "alembic/alembic.ini").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return lt::run(argv, {.cwd = f.proj.path().string()});
  };
  auto r = f.run({"upgrade", "a1"});
  REQUIRE(r.status == 0);
  r = alembic({"upgrade", "head"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.db->version_rows() == std::vector<std::string>{"c3"});
  CHECK(f.db->table_exists("tc"));
  r = alembic({"downgrade", "b2"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.db->version_rows() == std::vector<std::string>{"b2"});
  CHECK_FALSE(f.db->table_exists("tc"));
  r = f.run({"upgrade", "head"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.rows() ==
        std::vector<std::string>{"upgrade a1 success", "external-upgrade b2 success", "upgrade c3 success"});
  r = alembic({"downgrade", "a1"});
  INFO(r);
  REQUIRE(r.status == 0);
  r = f.run({"upgrade", "b2"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.rows() == std::vector<std::string>{"upgrade a1 success", "external-upgrade b2 success",
                                             "upgrade c3 success", "external-downgrade c3 success",
                                             "external-downgrade b2 success", "upgrade b2 success"});
  r = f.run({"validate"});
  INFO(r);
  CHECK(r.status == 0);
  r = alembic({"current"});
  INFO(r);
  CHECK(r.status == 0);
  CHECK_THAT(r.all(), Contains("b2"));
}

TEST_CASE("history: validate --files checks luamig.sum without a database", "[history]") {
  TempProject proj;
  proj.write_config();
  proj.write("migrations/versions/.keep", "");
  auto run = [&](std::vector<std::string> args) { return lt::cli(args, lt::in_project(proj)); };
  REQUIRE(run({"revision", "-m", "first", "--rev-id", "a1"}).status == 0);
  REQUIRE(proj.exists("migrations/luamig.sum"));
  auto r = run({"validate", "--files"});
  INFO(r);
  CHECK(r.status == 0);
  CHECK_FALSE(proj.exists("test.db"));
  REQUIRE(run({"revision", "-m", "second", "--rev-id", "b2"}).status == 0);
  CHECK(run({"validate", "--files"}).status == 0);
  proj.write("migrations/versions/b2_second.lua",
             proj.read("migrations/versions/b2_second.lua") + "-- edited\n");
  r = run({"validate", "--files"});
  INFO(r);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("migrations/versions/b2_second.lua: changed"));
  CHECK(run({"validate", "--files", "--update"}).status == 0);
  CHECK(run({"validate", "--files"}).status == 0);
  proj.write("migrations/versions/c3_new.lua", lt::migration("c3", "b2", "", ""));
  r = run({"validate", "--files"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("c3_new.lua") && Contains("added"));
}

TEST_CASE("history: two branches that both add a revision conflict in luamig.sum", "[history]") {
  TempProject proj;
  proj.write_config();
  proj.write("migrations/versions/.keep", "");
  auto run = [&](std::vector<std::string> args) { return lt::cli(args, lt::in_project(proj)); };
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-c", "user.email=t@example.com", "-c", "user.name=t"};
    argv.insert(argv.end(), args.begin(), args.end());
    return lt::run(argv, {.cwd = proj.path().string()});
  };
  REQUIRE(git({"init", "-q", "-b", "main"}).status == 0);
  REQUIRE(run({"revision", "-m", "base", "--rev-id", "a1"}).status == 0);
  REQUIRE(git({"add", "-A"}).status == 0);
  REQUIRE(git({"commit", "-qm", "a1"}).status == 0);
  REQUIRE(git({"checkout", "-qb", "one"}).status == 0);
  REQUIRE(run({"revision", "-m", "one", "--rev-id", "b1"}).status == 0);
  REQUIRE(git({"add", "-A"}).status == 0);
  REQUIRE(git({"commit", "-qm", "b1"}).status == 0);
  REQUIRE(git({"checkout", "-q", "main"}).status == 0);
  REQUIRE(run({"revision", "-m", "two", "--rev-id", "b2"}).status == 0);
  REQUIRE(git({"add", "-A"}).status == 0);
  REQUIRE(git({"commit", "-qm", "b2"}).status == 0);
  auto m = git({"merge", "one"});
  INFO(m);
  CHECK(m.status != 0);
  CHECK_THAT(m.all(), Contains("CONFLICT") && Contains("luamig.sum"));
  auto r = run({"validate", "--files"});
  INFO(r);
  CHECK(r.status == 1);
}

TEST_CASE("history: --sql scripts and dry runs write no history; history_table is configurable",
          "[history]") {
  Fixture f(EACH_DIALECT());
  f.three();
  auto r = f.run({"upgrade", "head", "--sql"});
  CHECK(r.status == 0);
  CHECK(r.out.find("luamig_history") == std::string::npos);
  r = f.run({"upgrade", "head", "--dry-run"});
  CHECK(r.status == 0);
  CHECK_FALSE(f.db->table_exists("luamig_history"));
  f.proj.write_config("history_table = \"audit_trail\"");
  r = f.run({"upgrade", "head"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.db->table_exists("audit_trail"));
  CHECK_FALSE(f.db->table_exists("luamig_history"));
  CHECK(f.db->query_column("SELECT revision FROM audit_trail ORDER BY seq") ==
        std::vector<std::string>{"a1", "b2", "c3"});
}

TEST_CASE("history: the table lives in the version table's schema unless history_table_schema says otherwise",
          "[history]") {
  Fixture f("postgresql");
  f.three();
  f.db->exec("CREATE SCHEMA s1; CREATE SCHEMA s2");
  f.proj.write_config("version_table_schema = \"s1\"");
  auto r = f.run({"upgrade", "a1"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(f.db->query_column("SELECT revision FROM s1.luamig_history") == std::vector<std::string>{"a1"});
  CHECK_FALSE(f.db->table_exists("luamig_history"));
  f.proj.write_config("version_table_schema = \"s1\"\nhistory_table_schema = \"s2\"\nhistory_table = \"h\"");
  r = f.run({"upgrade", "b2"});
  INFO(r);
  REQUIRE(r.status == 0);
  // A new table starts with a baseline row for what the version table already held
  CHECK(f.db->query_column("SELECT kind || ' ' || revision FROM s2.h ORDER BY seq") ==
        std::vector<std::string>{"baseline ", "upgrade b2"});
  r = f.run({"validate"});
  CHECK(r.status == 0);
}
