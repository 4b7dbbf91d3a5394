// SQLite-specific behaviour: table rebuilds with data, indexes and foreign keys surviving them, the
// zero-setup default, and several processes upgrading one file at once.

#include <catch2/catch.hpp>
#include <thread>

#include "support/cli.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"

namespace lt = luamig::test;
using luamig::test::RunResult;
using luamig::test::Spawned;
using luamig::test::TempProject;

namespace {

std::string schema_of(const TempProject& proj, const std::string& table, const std::string& db = "app.db") {
  auto rows =
      lt::SqliteFile(proj.path(db)).rows("SELECT sql FROM sqlite_master WHERE name = '" + table + "'");
  return rows.empty() ? "" : rows[0];
}

const char* kUsers = R"LUA(  op.create_table("users",
    { "id", op.types.serial, primary_key = true },
    { "email", op.types.string(255), nullable = false, unique = true },
    { "role", op.types.string(50), nullable = false, default = "student" },
    { "age", op.types.integer })
  op.create_index("ix_users_role", "users", { "role" })
  op.create_table("posts",
    { "id", op.types.serial, primary_key = true },
    { "user_id", op.types.integer, references = "users(id)", ondelete = "CASCADE" },
    { "title", op.types.text })
  for i = 1, 50 do
    op.execute("INSERT INTO users (email, role, age) VALUES ($1, $2, $3)", "u" .. i .. "@x.org", i % 2 == 0 and "admin" or "student", i)
    op.execute("INSERT INTO posts (user_id, title) VALUES ($1, $2)", i, "post " .. i)
  end)LUA";
}  // namespace

TEST_CASE("sqlite is the zero-setup default and says so", "[sqlite]") {
  TempProject proj;
  const lt::SqliteFile luamig_db(proj.path("luamig.db"));
  proj.write_config();
  proj.write_migration("a1a1a1a1", std::nullopt, kUsers,
                       "  op.drop_table(\"posts\")\n  op.drop_table(\"users\")");
  auto r = lt::luamig_in(proj, "", {"upgrade", "head"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(r.err.rfind("No database URL configured: using sqlite:///luamig.db", 0) == 0);
  CHECK(luamig_db.rows("SELECT version_num FROM alembic_version") == std::vector<std::string>{"a1a1a1a1"});
  CHECK(luamig_db.rows("SELECT count(*) FROM users") == std::vector<std::string>{"50"});
  // The version table is Alembic's.
  CHECK(schema_of(proj, "alembic_version", "luamig.db")
            .find("CONSTRAINT \"alembic_version_pkc\" PRIMARY KEY (version_num)") != std::string::npos);
}

TEST_CASE("sqlite rebuilds keep every row, index and foreign key", "[sqlite]") {
  TempProject proj;
  const lt::SqliteFile app(proj.path("app.db"));
  proj.write_config("url = \"sqlite:///app.db\"");
  proj.write_migration("a1a1a1a1", std::nullopt, kUsers,
                       "  op.drop_table(\"posts\")\n  op.drop_table(\"users\")");
  proj.write_migration(
      "b2b2b2b2", std::string("a1a1a1a1"),
      R"LUA(  op.alter_column("users", "age", { type = op.types.bigint, nullable = false, default = 0 })
  op.create_unique_constraint("uq_users_email_role", "users", { "email", "role" })
  op.create_check_constraint("ck_users_age", "users", "age >= 0")
  op.batch_alter_table("users", function(b)
    b.add_column({ "nick", op.types.text })
    b.alter_column("role", { new_name = "kind" })
  end))LUA",
      R"LUA(  op.batch_alter_table("users", function(b)
    b.drop_column("nick")
    b.alter_column("kind", { new_name = "role" })
    b.drop_constraint("ck_users_age")
    b.drop_constraint("uq_users_email_role")
    b.alter_column("age", { type = op.types.integer, nullable = true, default = op.NULL_DEFAULT })
  end))LUA");
  auto r = lt::luamig_in(proj, "", {"upgrade", "head"});
  INFO(r);
  REQUIRE(r.status == 0);
  std::string users = schema_of(proj, "users");
  INFO(users);
  CHECK(users.find("\"age\" BIGINT NOT NULL DEFAULT 0") != std::string::npos);
  CHECK(users.find("CONSTRAINT \"uq_users_email_role\" UNIQUE (\"email\", \"kind\")") != std::string::npos);
  CHECK(users.find("CONSTRAINT \"ck_users_age\" CHECK (age >= 0)") != std::string::npos);
  CHECK(users.find("\"nick\"") != std::string::npos);
  // Rows kept, renamed column holds the old values, index follows the rename.
  CHECK(app.rows("SELECT count(*), sum(age), count(DISTINCT kind) FROM users") ==
        std::vector<std::string>{"50|1275|2"});
  CHECK(schema_of(proj, "ix_users_role").find("(\"kind\")") != std::string::npos);
  // The foreign key from posts still points at users and still cascades.
  CHECK(app.rows("SELECT \"table\", on_delete FROM pragma_foreign_key_list('posts')") ==
        std::vector<std::string>{"users|CASCADE"});
  CHECK(app.rows("SELECT count(*) FROM posts p JOIN users u ON u.id = p.user_id") ==
        std::vector<std::string>{"50"});
  // The new constraint is enforced.
  auto bad = app.rows("SELECT count(*) FROM users WHERE age < 0");
  CHECK(bad == std::vector<std::string>{"0"});

  auto down = lt::luamig_in(proj, "", {"downgrade", "a1a1a1a1"});
  INFO(down);
  REQUIRE(down.status == 0);
  users = schema_of(proj, "users");
  CHECK(users.find("uq_users_email_role") == std::string::npos);
  CHECK(users.find("ck_users_age") == std::string::npos);
  CHECK(users.find("\"nick\"") == std::string::npos);
  CHECK(users.find("\"role\"") != std::string::npos);
  CHECK(app.rows("SELECT count(*), sum(age) FROM users") == std::vector<std::string>{"50|1275"});
}

TEST_CASE("sqlite a failing rebuild leaves the table as it was", "[sqlite]") {
  TempProject proj;
  const lt::SqliteFile app(proj.path("app.db"));
  proj.write_config("url = \"sqlite:///app.db\"");
  proj.write_migration("a1a1a1a1", std::nullopt, kUsers,
                       "  op.drop_table(\"posts\")\n  op.drop_table(\"users\")");
  // Making age NOT NULL without a default fails on the copy once a NULL is present.
  proj.write_migration("b2b2b2b2", std::string("a1a1a1a1"),
                       "  op.execute(\"UPDATE users SET age = NULL WHERE id = 7\")\n"
                       "  op.alter_column(\"users\", \"age\", { nullable = false })",
                       "");
  auto r = lt::luamig_in(proj, "", {"upgrade", "head"});
  INFO(r);
  REQUIRE(r.status == 1);
  CHECK(r.err.find("revision b2b2b2b2") != std::string::npos);
  CHECK(r.err.find("NOT NULL constraint failed") != std::string::npos);
  CHECK(r.err.find("SQLITE_CONSTRAINT") != std::string::npos);
  CHECK(r.err.find("b2b2b2b2_msg.lua:14") != std::string::npos);  // file:line of the alter_column call
  CHECK(app.rows("SELECT version_num FROM alembic_version") == std::vector<std::string>{"a1a1a1a1"});
  CHECK(app.rows("SELECT count(*), count(age) FROM users") == std::vector<std::string>{"50|50"});
  CHECK(app.rows("SELECT count(*) FROM sqlite_master WHERE name LIKE '_luamig%'") ==
        std::vector<std::string>{"0"});
}

TEST_CASE("sqlite concurrent upgrades of one file apply each revision once", "[sqlite]") {
  TempProject proj;
  const lt::SqliteFile app(proj.path("app.db"));
  proj.write_config("url = \"sqlite:///app.db\"");
  std::optional<std::string> prev;
  proj.write_migration("00000000", std::nullopt, "  op.create_table(\"audit\", { \"rev\", \"text\" })", "");
  prev = "00000000";
  for (int i = 1; i <= 20; ++i) {
    char rev[16];
    std::snprintf(rev, sizeof rev, "%08d", i);
    proj.write_migration(rev, prev,
                         std::string("  op.execute(\"INSERT INTO audit (rev) VALUES ($1)\", \"") + rev +
                             "\")\n"
                             "  local t = os.clock() while os.clock() - t < 0.01 do end",
                         "");
    prev = rev;
  }
  std::vector<std::unique_ptr<Spawned>> procs;
  for (int i = 0; i < 6; ++i)
    procs.push_back(std::make_unique<Spawned>(
        std::vector<std::string>{luamig::test::luamig_bin(), "upgrade", "head"}, lt::in_project(proj)));
  for (auto& p : procs) {
    auto r = p->wait(60000);
    INFO(r);
    CHECK(r.status == 0);
  }
  CHECK(app.rows("SELECT count(*), count(DISTINCT rev) FROM audit") == std::vector<std::string>{"20|20"});
  CHECK(app.rows("SELECT version_num FROM alembic_version") == std::vector<std::string>{"00000020"});
}

TEST_CASE("sqlite urls select the file and memory databases", "[sqlite]") {
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1a1a1a1", std::nullopt,
                       "  op.create_table(\"t\", { \"id\", \"integer\" })\n"
                       "  log.info(\"dialect=\" .. context.dialect)",
                       "");
  auto r = lt::luamig_in(proj, "", {"--url", "sqlite:///sub.db", "upgrade", "head"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("dialect=sqlite") != std::string::npos);
  CHECK(lt::SqliteFile(proj.path("sub.db")).rows("SELECT version_num FROM alembic_version") ==
        std::vector<std::string>{"a1a1a1a1"});
  std::string abs = (proj.path() / "abs.db").string();
  r = lt::luamig(
      {"-c", (proj.path() / "luamig.lua").string(), "--url", "sqlite:///" + abs, "upgrade", "head"},
      {.cwd = "/"});
  INFO(r);
  REQUIRE(r.status == 0);
  CHECK(lt::SqliteFile(proj.path("abs.db")).rows("SELECT version_num FROM alembic_version") ==
        std::vector<std::string>{"a1a1a1a1"});
  r = lt::luamig_in(proj, "", {"--url", "sqlite://:memory:", "upgrade", "head"});
  INFO(r);
  CHECK(r.status == 0);
}
