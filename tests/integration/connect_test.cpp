// Connecting: URL forms, libpq's environment, password masking, empty URLs, read-only verbs, and the
// guarantees that keep each revision applied exactly once (pinned version table, session reset, a lock that
// cannot lapse).
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/text.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using Strings = std::vector<std::string>;
using Env = std::vector<std::pair<std::string, std::string>>;

namespace {

// postgresql://postgres@127.0.0.1:PORT/NAME with the scheme and userinfo replaced.
std::string with(const TempDb& db, const std::string& scheme, const std::string& userinfo) {
  return scheme + "://" + userinfo + "@" + db.server().host() + ":" + std::to_string(db.server().port()) +
         "/" + db.name();
}

std::string resolved(const TempDb& db, const std::string& user = "postgres") {
  return "postgresql://" + user + "@" + db.server().host() + ":" + std::to_string(db.server().port()) + "/" +
         db.name();
}
}  // namespace

TEST_CASE("connect: libpq's variables select PostgreSQL when no URL is configured", "[connect]") {
  TempDb db;
  TempProject p;
  write_three_tables(p);
  p.write_config();
  Env env = {{"PGHOST", db.server().host()},
             {"PGPORT", std::to_string(db.server().port())},
             {"PGUSER", "postgres"},
             {"PGDATABASE", db.name()}};
  auto r = cli({"upgrade", "head"}, in_project(p, env));
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK(first_line(r.err) == "Environment default, database " + resolved(db));
  CHECK(db.version_rows() == Strings{"c3"});
  CHECK_FALSE(p.exists("luamig.db"));

  // Parts missing from a URL come from them too.
  auto cur = cli({"current"}, in_project(p, {{"PGHOST", db.server().host()},
                                             {"PGPORT", std::to_string(db.server().port())},
                                             {"PGUSER", "postgres"},
                                             {"DATABASE_URL", "postgresql+psycopg2:///" + db.name()}}));
  INFO(cur.describe());
  CHECK(cur.status == 0);
  CHECK_THAT(cur.out, Contains("c3"));

  // A service file (PGSERVICEFILE + PGSERVICE) names the server with nothing else set.
  p.write("pg_service.conf", "[testsvc]\nhost=" + db.server().host() +
                                 "\nport=" + std::to_string(db.server().port()) +
                                 "\nuser=postgres\ndbname=" + db.name() + "\n");
  auto svc =
      cli({"current"},
          in_project(p, {{"PGSERVICEFILE", p.path("pg_service.conf").string()}, {"PGSERVICE", "testsvc"}}));
  INFO(svc.describe());
  CHECK(svc.status == 0);
  CHECK_THAT(svc.out, Contains("c3"));
  CHECK_FALSE(p.exists("luamig.db"));
}

TEST_CASE("connect: SQLAlchemy URL forms work and the start line names the resolved target", "[connect]") {
  for (const std::string scheme :
       {"postgresql+asyncpg", "postgresql+psycopg2", "postgresql+psycopg", "postgresql+pg8000", "postgres"}) {
    TempDb db;
    TempProject p;
    write_three_tables(p);
    p.write_config();
    auto r = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", with(db, scheme, "postgres")}}));
    INFO(scheme << "\n" << r.describe());
    REQUIRE(r.status == 0);
    CHECK(first_line(r.err) == "Environment default, database " + resolved(db));
    CHECK(db.version_rows() == Strings{"c3"});
  }
  TempProject p;
  write_three_tables(p);
  p.write_config();
  std::filesystem::create_directories(p.path("data"));
  auto r = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", "sqlite+pysqlite:///data/app.db"}}));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK(first_line(r.err) == "Environment default, database sqlite:///data/app.db");
  CHECK(p.exists("data/app.db"));
  auto abs = p.path("abs.db").string();
  r = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", "sqlite:///" + abs}}));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK(p.exists("abs.db"));
}

TEST_CASE("connect: passwords with unencoded / ? # @ : are never printed", "[connect]") {
  TempDb db;
  const std::string password = "Pa/ss?w#o@rd:9x";
  TempProject p;
  write_three_tables(p);
  p.write_config("url = " + lua_long_string(with(db, "postgresql+asyncpg", "postgres:" + password)));
  // The server trusts local connections, so the URL connects whatever its password: what matters is that
  // luamig reads the URL as libpq would be given it and never shows any piece of the password.
  auto r = cli({"upgrade", "head"}, in_project(p));
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK(db.version_rows() == Strings{"c3"});
  CHECK(first_line(r.err) == "Environment default, database " + resolved(db));
  auto cfg = cli({"config"}, in_project(p));
  INFO(cfg.describe());
  CHECK(cfg.status == 0);
  CHECK_THAT(cfg.out, Contains("postgresql+asyncpg://postgres:***@"));
  for (const char* piece : {"Pa/ss", "ss?w", "w#o", "o@rd", "rd:9x"}) {
    CHECK_THAT(r.all(), !Contains(piece));
    CHECK_THAT(cfg.all(), !Contains(piece));
  }

  // A connection error (nothing listens on port 1) shows host, port, database and user, not the password.
  TempProject bad;
  write_three_tables(bad);
  bad.write_config();
  auto e = cli({"upgrade", "head"},
               in_project(bad, {{"DATABASE_URL",
                                 "postgresql://app:" + password + "@127.0.0.1:1/appdb?connect_timeout=3"}}));
  INFO(e.describe());
  CHECK(e.status != 0);
  CHECK_THAT(e.err, Contains("port 1, database appdb, user app"));
  for (const char* piece : {"Pa/ss", "ss?w", "w#o", "o@rd", "rd:9x"}) CHECK_THAT(e.all(), !Contains(piece));

  // libpq's variables are never printed either.
  auto pgpw = cli({"upgrade", "head"}, in_project(bad, {{"PGHOST", "127.0.0.1"},
                                                        {"PGPORT", "1"},
                                                        {"PGPASSWORD", "EnvSecret77"},
                                                        {"PGCONNECT_TIMEOUT", "3"}}));
  INFO(pgpw.describe());
  CHECK(pgpw.status != 0);
  CHECK_THAT(pgpw.all(), !Contains("EnvSecret77"));
}

TEST_CASE("connect: masking never alters --sql output or data", "[connect]") {
  TempDb db;
  TempProject p;
  p.write_migration("a1", std::nullopt,
                    "  op.execute('GRANT SELECT ON pg_class TO postgres')\n"
                    "  op.execute(\"INSERT INTO notes VALUES ('postgres', 'password=postgres')\")",
                    "", "grant to postgres");
  p.write_config("url = " + lua_long_string(with(db, "postgresql", "postgres:postgres")));
  auto r = cli({"upgrade", "head", "--sql"}, in_project(p));
  INFO(r.describe());
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Contains("GRANT SELECT ON pg_class TO postgres;"));
  CHECK_THAT(r.out, Contains("VALUES ('postgres', 'password=postgres')"));
  CHECK_THAT(r.out, !Contains("***"));
  auto h = cli({"history"}, in_project(p));
  CHECK_THAT(h.out, Contains("grant to postgres"));
}

TEST_CASE("connect: an empty or unread URL is an error, never a fallback", "[connect]") {
  TempDb other;
  TempProject p;
  write_three_tables(p);
  p.write_config();

  auto flag = cli({"--url", "", "upgrade", "head"}, in_project(p));
  INFO(flag.describe());
  CHECK(flag.status != 0);
  CHECK_THAT(flag.err, Contains("--url"));
  CHECK_THAT(flag.err, Contains("empty"));

  auto var = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", ""}}));
  INFO(var.describe());
  CHECK(var.status == 2);
  CHECK_THAT(var.err, Contains("$DATABASE_URL is set but empty"));

  // url = env("DATABASE_URL") in a named environment, the variable unset: no switch to the top-level URL.
  p.write_config("url = " + lua_long_string(other.url()) +
                 "\nenvironments = { production = { url = env('DATABASE_URL') } }\n"
                 "default_environment = 'production'\n");
  auto unset = cli({"upgrade", "head"}, in_project(p));
  INFO(unset.describe());
  CHECK(unset.status == 2);
  CHECK_THAT(
      unset.err,
      Contains(
          "no database URL for environment 'production': luamig.lua says url = env(\"DATABASE_URL\"), but "
          "$DATABASE_URL is unset or empty; luamig will not fall back"));
  CHECK(other.version_rows().empty());
  auto unset_empty = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", ""}}));
  CHECK(unset_empty.status == 2);
  CHECK(other.version_rows().empty());
  // With a default, or with the variable set, it works.
  auto set = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", other.url()}}));
  INFO(set.describe());
  CHECK(set.status == 0);

  // Top level, no environments: no switch to ./luamig.db either; an explicit empty url is refused too.
  TempProject q;
  write_three_tables(q);
  q.write_config("url = env('MY_DB_URL')");
  auto top = cli({"upgrade", "head"}, in_project(q));
  INFO(top.describe());
  CHECK(top.status == 2);
  CHECK_THAT(top.err,
             Contains("no database URL: luamig.lua says url = env(\"MY_DB_URL\"), but $MY_DB_URL is unset"));
  q.write_config("url = env('MY_DB_URL') or 'sqlite:///fallback.db'");
  auto dflt = cli({"upgrade", "head"}, in_project(q));
  INFO(dflt.describe());
  CHECK(dflt.status == 0);
  CHECK(q.exists("fallback.db"));
  q.write_config("url = ''");
  auto blank = cli({"current"}, in_project(q));
  CHECK(blank.status == 2);
  CHECK_THAT(blank.err, Contains("is empty"));
  CHECK_FALSE(p.exists("luamig.db"));
  CHECK_FALSE(q.exists("luamig.db"));
}

TEST_CASE("connect: read-only verbs never create a SQLite file", "[connect]") {
  TempProject p;
  write_three_tables(p);
  p.write_config();
  for (const Strings& verb : {Strings{"current"}, Strings{"current", "-v"}, Strings{"history"},
                              Strings{"heads"}, Strings{"check"}, Strings{"show", "head"}}) {
    auto r = cli(verb, in_project(p));
    INFO(verb[0] << "\n" << r.describe());
    CHECK(r.status == (verb[0] == "check" ? 1 : 0));
    CHECK_FALSE(p.exists("luamig.db"));
  }
  auto r = cli({"current"}, in_project(p, {{"DATABASE_URL", "sqlite:///missing.db"}}));
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("SQLite database missing.db does not exist"));
  CHECK_FALSE(p.exists("missing.db"));
}

TEST_CASE("connect: a migration's search_path, role or settings cannot move the version table", "[connect]") {
  struct Variant {
    const char* name;
    const char* sql;
    const char* extra;
  };
  for (const auto& v : std::vector<Variant>{
           {"SET", "SET search_path TO other, public", ""},
           {"SET LOCAL", "SET LOCAL search_path TO other, public", ""},
           {"set_config", "SELECT set_config('search_path', 'other, public', false)", ""},
           {"non-transactional SET", "SET search_path TO other, public", "transactional = false\n"},
           {"SET ROLE", "SET ROLE luamig_other_owner", ""},
       }) {
    TempDb db;
    db.exec(
        "CREATE SCHEMA other; CREATE TABLE other.alembic_version (version_num varchar(32) PRIMARY KEY);"
        "INSERT INTO other.alembic_version VALUES ('zzzz')");
    db.exec(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'luamig_other_owner') THEN "
        "CREATE ROLE luamig_other_owner; END IF; END$$; GRANT ALL ON SCHEMA public, other TO "
        "luamig_other_owner");
    TempProject p;
    // `extra` (transactional = false) goes at the end of the file.
    p.append(p.write_migration("a1", std::nullopt, std::string("  op.execute(\"") + v.sql + "\")", "", "m"),
             v.extra);
    p.write_migration("b2", "a1", "  op.execute('CREATE TABLE t_b2 (id int)')", "", "m");
    p.append(p.write_migration(
                 "c3", "b2",
                 std::string("  op.execute(\"") + v.sql + "\")\n  op.execute('CREATE TABLE t_c3 (id int)')",
                 "", "m"),
             v.extra);
    p.write_config();
    auto r = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", db.url()}}));
    INFO(v.name << "\n" << r.describe());
    REQUIRE(r.status == 0);
    CHECK(db.version_rows("alembic_version", "public") == Strings{"c3"});
    CHECK(db.version_rows("alembic_version", "other") == Strings{"zzzz"});
    // The revision after the one that changed the session starts afresh.
    CHECK(db.table_exists("t_b2", "public"));
    CHECK(db.query_value("SELECT tableowner FROM pg_tables WHERE tablename = 't_b2'") == "postgres");
    // A later run reads the same table.
    auto cur = cli({"current"}, in_project(p, {{"DATABASE_URL", db.url()}}));
    CHECK_THAT(cur.out, Contains("c3"));
    auto down = cli({"downgrade", "base"}, in_project(p, {{"DATABASE_URL", db.url()}}));
    INFO(down.describe());
    CHECK(down.status == 0);
    CHECK(db.version_rows("alembic_version", "public").empty());
    CHECK(db.version_rows("alembic_version", "other") == Strings{"zzzz"});
  }
}

TEST_CASE("connect: the lock session survives idle_session_timeout during a long revision", "[connect]") {
  TempDb db;
  db.exec("ALTER DATABASE " + db.name() + " SET idle_session_timeout = '1s'");
  db.exec("ALTER DATABASE " + db.name() + " SET idle_in_transaction_session_timeout = '1s'");
  TempProject p;
  p.write_migration("a1", std::nullopt,
                    "  op.execute('SELECT pg_sleep(2.5)')\n  op.execute('CREATE TABLE t_a1 (id int)')", "",
                    "m");
  p.write_migration("b2", "a1",
                    "  op.execute('SELECT pg_sleep(2.5)')\n  op.execute('CREATE TABLE t_b2 (id int)')", "",
                    "m");
  p.write_config();
  auto r = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", db.url()}}));
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK(db.version_rows() == Strings{"b2"});
}

TEST_CASE("connect: a lost migration lock stops the run before anything more is committed", "[connect]") {
  const std::string kill =
      "  op.execute(\"SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory' AND "
      "pid <> "
      "pg_backend_pid()\")\n";
  struct Variant {
    const char* name;
    std::string body, extra;
    Strings versions_after;
  };
  for (const auto& v : std::vector<Variant>{
           // A revision that started under the lock is recorded; the next one does not start.
           {"transactional", kill + "  op.execute('CREATE TABLE t_a1 (id int)')", "", {"a1"}},
           // Work that would commit on its own does not start.
           {"autocommit block",
            kill + "  op.autocommit_block(function() op.execute('CREATE TABLE t_a1 (id int)') end)",
            "",
            {"a0"}},
           {"op.transaction",
            "  op.execute('CREATE TABLE t_a1 (id int)')\n" + kill +
                "  op.transaction(function() op.execute('CREATE TABLE t_a1b (id int)') end)",
            "transactional = false\n",
            {"a0"}},
           {"transactional = false",
            kill + "  op.execute('CREATE TABLE t_a1 (id int)')",
            "transactional = false\n",
            {"a1"}},
       }) {
    TempDb db;
    TempProject p;
    p.write_migration("a0", std::nullopt, "  op.execute('CREATE TABLE t_a0 (id int)')", "", "m");
    p.append(p.write_migration("a1", "a0", v.body, "", "m"), v.extra);  // extra: at the end of the file
    p.write_migration("b2", "a1", "  op.execute('CREATE TABLE t_b2 (id int)')", "", "m");
    p.write_config();
    auto r = cli({"upgrade", "head"}, in_project(p, {{"DATABASE_URL", db.url()}}));
    INFO(v.name << "\n" << r.describe());
    CHECK(r.status != 0);
    CHECK_THAT(r.err, Contains("the migration lock on \"public\".\"alembic_version\" was lost"));
    CHECK(db.version_rows() == v.versions_after);
    CHECK_FALSE(db.table_exists("t_a1b"));
    CHECK_FALSE(db.table_exists("t_b2"));
  }
}
