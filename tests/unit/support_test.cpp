// Self-tests of the shared test helpers that need no server (tests/support/): text quoting, the project
// builder, the SQLite file fixture, the options that run the binary, the fake engine services and the bare
// Lua state. The PostgreSQL side is tested in tests/integration/harness_test.cpp and
// harness_support_test.cpp.
#include <catch2/catch.hpp>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/engine.hpp"
#include "support/lua_state.hpp"
#include "support/project.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

namespace lt = luamig::test;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;

TEST_CASE("support: text helpers quote exactly and count what they are asked", "[unit][harness]") {
  // lua_string: Lua reads back the very bytes, whatever they are.
  const std::string bytes = std::string("q\"b\\n\nt\tz\x01\xff", 13) + std::string(1, '\0') + "end";
  lt::BareLua lua;
  auto r = lua.call("return " + lt::lua_string(bytes));
  REQUIRE(r.ok);
  CHECK(r.value == bytes);
  CHECK(lt::lua_long_string("it's") == "[[it's]]");
  CHECK(lt::sql_string("it's") == "'it''s'");
  CHECK(lt::sql_ident("a\"b") == "\"a\"\"b\"");
  CHECK(lt::first_line("one\ntwo") == "one");
  CHECK(lt::first_line("only") == "only");
  CHECK(lt::count_of("a\nb\nc\n", "\n") == 3);
  CHECK(lt::count_of("aaa", "aa") == 2);
  CHECK(lt::count_of("abc", "x") == 0);
  CHECK(lt::line_of("x\ny --!\nz --!", "--!") == 2);
  CHECK(lt::line_of("x\ny", "--!") == 0);
}

TEST_CASE("support: TempProject writes revisions, globals before upgrade(), and finds them by id",
          "[unit][harness]") {
  std::filesystem::path root;
  {
    lt::TempProject proj;
    root = proj.path();
    auto rel = proj.write_migration("a1", std::nullopt, "  op.execute('SELECT 1')", "", "First one",
                                    "transactional = false");
    CHECK(rel == "migrations/versions/a1_first_one.lua");
    CHECK(proj.migration_file("a1") == rel);
    CHECK_THROWS_AS(proj.migration_file("zz"), std::runtime_error);
    const std::string text = proj.read(rel);
    CHECK_THAT(text, Contains("transactional = false\nfunction upgrade()\n  op.execute('SELECT 1')\nend"));
    // Without globals the layout is migration()'s, unchanged.
    auto plain = proj.write_migration("b2", "a1", "  op.execute('SELECT 2')", "");
    CHECK(proj.read(plain) == lt::migration("b2", "a1", "  op.execute('SELECT 2')", ""));
    CHECK(lt::line_of(proj.read(plain), "op.execute('SELECT 2')") == 13);

    proj.append(plain, "x = 1\n");
    CHECK(proj.read(plain) == lt::migration("b2", "a1", "  op.execute('SELECT 2')", "") + "x = 1\n");

    lt::TempProject three;
    lt::write_three_tables(three);
    CHECK(three.list("migrations/versions") == Strings{"a1_first.lua", "b2_second.lua", "c3_third.lua"});
    CHECK_THAT(three.read("migrations/versions/c3_third.lua"),
               Contains("down_revision = \"b2\"") && Contains("op.create_table('t_c3', {'id', 'int'})"));
  }
  if (!std::getenv("LUAMIG_KEEP_TMP")) CHECK_FALSE(std::filesystem::exists(root));
}

TEST_CASE("support: SqliteFile gives a URL and rows with columns joined, NULLs and bound text",
          "[unit][harness]") {
  std::filesystem::path dir;
  {
    lt::SqliteFile db;
    dir = db.path().parent_path();
    CHECK(db.url() == "sqlite:///" + db.path().string());
    CHECK(db.path().is_absolute());
    db.exec(
        "CREATE TABLE t (id integer, v text); INSERT INTO t VALUES (1, 'one'), (2, NULL);"
        "INSERT INTO t VALUES (3, CAST(X'610062' AS TEXT))");
    CHECK(db.rows("SELECT id, v FROM t WHERE id < 3 ORDER BY id") == Strings{"1|one", "2|<null>"});
    CHECK(db.rows("SELECT v FROM t WHERE id = 3") == Strings{std::string("a\0b", 3)});
    CHECK(db.rows("SELECT id FROM t WHERE v = ?1", {"one"}) == Strings{"1"});
    CHECK(db.query_column("SELECT id, v FROM t ORDER BY id") == Strings{"1", "2", "3"});
    CHECK(db.query_value("SELECT count(*) FROM t") == "3");
    CHECK_THROWS_AS(db.query_value("SELECT id FROM t WHERE id = 99"), std::runtime_error);
    CHECK_THROWS_WITH(db.rows("SELECT nope FROM t"), Contains("no such column"));

    // A file that is not ours is left in place.
    { lt::SqliteFile same(db.path()); }
    CHECK(std::filesystem::exists(db.path()));
    CHECK(lt::SqliteFile(db.path()).rows("SELECT count(*) FROM t") == Strings{"3"});
  }
  if (!std::getenv("LUAMIG_KEEP_TMP")) CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("support: with_db and in_project set the working directory and environment as documented",
          "[unit][harness]") {
  lt::TempProject proj;
  auto o = lt::with_db(proj, "sqlite:///x.db");
  CHECK(o.cwd == proj.path().string());
  CHECK(o.env == std::vector<std::pair<std::string, std::string>>{{"DATABASE_URL", "sqlite:///x.db"}});
  CHECK(lt::with_db(proj, "").env.empty());
  lt::RunOptions sub;
  sub.cwd = proj.path("sub").string();
  sub.stdin_data = "y\n";
  auto s = lt::with_db(proj, "sqlite:///x.db", sub);
  CHECK(s.cwd == proj.path("sub").string());
  CHECK(s.stdin_data == "y\n");
  auto p = lt::in_project(proj, {{"LUAMIG_ENV", "ci"}});
  CHECK(p.cwd == proj.path().string());
  CHECK(p.env == std::vector<std::pair<std::string, std::string>>{{"LUAMIG_ENV", "ci"}});
}

TEST_CASE("support: FakeServices records what the engine asks, upgrade_failure reports where it failed",
          "[unit][harness]") {
  lt::on_big_stack([] {
    lt::FakeServices services;
    services.rows_affected = 7;
    luamig::luahost::Engine engine(&services, luamig::luahost::Context{}, lt::limits());
    auto ok = lt::upgrade_failure(engine, "  assert(op.execute('SELECT $1', 'x') == 7)\n  log.info('done')");
    CHECK(ok.message.empty());
    CHECK(services.statements == Strings{"SELECT $1"});
    REQUIRE(services.params.size() == 1);
    CHECK(services.params[0] == std::vector<luamig::Param>{std::string("x")});
    CHECK(services.logs == Strings{"done"});

    auto failed = lt::upgrade_failure(engine, "  local x = 1\n  error('boom')");
    CHECK_THAT(failed.message, Contains("boom"));
    CHECK(failed.file == "m.lua");
    CHECK(failed.line == 3);
    CHECK_THROWS(lt::call_upgrade(engine, "t.lua", "  error('thrown')"));
  });
  CHECK(lt::upgrade_failure("while true do end", lt::limits(std::chrono::milliseconds(300))).timeout);
}
