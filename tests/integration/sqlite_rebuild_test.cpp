// SQLite table rebuilds read the stored DDL with a tokenizer: renames touch identifiers only (never a literal
// or a comment), literals and defaults survive byte for byte, hostile table and column names (quotes,
// parentheses, brackets, keywords, unicode) neither break the parse nor inject statements, and a failing
// rebuild rolls back the whole revision. The last case is a deterministic fuzz over random hostile names and
// literals.

// GCC 12 reports false -Wrestrict overlaps in std::string concatenation at -O2 (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "support/cli.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

namespace lt = luamig::test;
using luamig::test::RunResult;
using luamig::test::TempProject;

namespace {

const char* kLiteralTable = R"SQL(CREATE TABLE "t" (
  id INTEGER PRIMARY KEY,
  status TEXT DEFAULT 'done' CHECK (status <> 'status x' /* status ( */ AND "status" <> 'it''s status'),
  f REAL DEFAULT 0.00001,
  n INTEGER DEFAULT -1,
  big DEFAULT 1e10,
  s TEXT DEFAULT 'it''s',
  b BLOB DEFAULT X'00ff',
  ts TEXT DEFAULT CURRENT_TIMESTAMP,
  e INTEGER DEFAULT (1 + 2), -- status in a comment
  CONSTRAINT ck_status CHECK (status IN ('status', 'done', 'new')) /* status ( */
))SQL";

}  // namespace

TEST_CASE("sqlite rebuild renames identifiers only: literals, comments and defaults survive exactly",
          "[sqlite]") {
  TempProject proj;
  const lt::SqliteFile app(proj.path("app.db"));
  proj.write_config("url = \"sqlite:///app.db\"");
  proj.write_migration(
      "a1a1a1a1", std::nullopt,
      "  op.execute(" + lt::lua_string(kLiteralTable) + ")\n" +
          "  op.execute(\"CREATE INDEX ix_t_status ON t (status) WHERE status <> 'status'\")\n"
          "  op.execute(\"CREATE TRIGGER tr_t AFTER UPDATE OF status ON t BEGIN UPDATE t SET n = n "
          "+ 1 WHERE id = NEW.id AND NEW.status <> 'status'; END\")\n"
          "  op.execute(\"INSERT INTO t (id, status) VALUES (1, 'done'), (2, 'status')\")",
      "");
  proj.write_migration("b2b2b2b2", std::string("a1a1a1a1"), R"LUA(  op.batch_alter_table("t", function(b)
    b.alter_column("status", { new_name = "state" })
    b.alter_column("n", { type = "BIGINT" })
  end)
  op.alter_column("t", "e", { nullable = false }))LUA",
                       "");
  auto r = lt::cli({"upgrade", "a1a1a1a1"}, lt::in_project(proj));
  INFO(r);
  REQUIRE(r.status == 0);
  const std::string info =
      "SELECT name, type, dflt_value, \"notnull\" FROM pragma_table_info('t') ORDER BY cid";
  auto before = app.rows(info);
  auto data_before = app.rows("SELECT * FROM t ORDER BY id");
  r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
  INFO(r);
  REQUIRE(r.status == 0);
  auto after = app.rows(info);
  REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    std::string expected = before[i];
    if (expected.rfind("status|", 0) == 0) expected = "state|" + expected.substr(7);
    if (expected.rfind("n|INTEGER", 0) == 0) expected = "n|BIGINT" + expected.substr(9);
    if (expected.rfind("e|", 0) == 0) expected = expected.substr(0, expected.size() - 1) + "1";
    CHECK(after[i] == expected);
  }
  CHECK(app.rows("SELECT * FROM t ORDER BY id") == data_before);
  std::string table = app.rows("SELECT sql FROM sqlite_master WHERE name = 't'").at(0);
  INFO(table);
  // Literals and comments untouched; the column and its references renamed.
  for (const char* kept : {"'status x'", "'it''s status'", "IN ('status', 'done', 'new')", "DEFAULT 0.00001",
                           "DEFAULT -1", "DEFAULT 1e10", "DEFAULT 'it''s'", "DEFAULT X'00ff'",
                           "DEFAULT CURRENT_TIMESTAMP", "DEFAULT (1 + 2)", "/* status ( */"})
    CHECK(table.find(kept) != std::string::npos);
  CHECK(table.find("CHECK (\"state\" <> 'status x' /* status ( */ AND \"state\" <> 'it''s status')") !=
        std::string::npos);
  CHECK(table.find("CHECK (\"state\" IN (") != std::string::npos);
  std::string index = app.rows("SELECT sql FROM sqlite_master WHERE name = 'ix_t_status'").at(0);
  CHECK(index == "CREATE INDEX ix_t_status ON t (\"state\") WHERE \"state\" <> 'status'");
  std::string trigger = app.rows("SELECT sql FROM sqlite_master WHERE name = 'tr_t'").at(0);
  CHECK(trigger.find("UPDATE OF \"state\" ON t") != std::string::npos);
  CHECK(trigger.find("NEW.\"state\" <> 'status'") != std::string::npos);
  // The constraints still hold under the new name.
  CHECK(app.rows("SELECT count(*) FROM sqlite_master WHERE name LIKE '_luamig%'") ==
        std::vector<std::string>{"0"});
}

TEST_CASE("sqlite rebuild of tables whose names hold parentheses, quotes and SQL runs no foreign statement",
          "[sqlite]") {
  for (const std::string name :
       {"a(b", "x\"); DROP TABLE victim; --", "t) WITHOUT ROWID; DROP TABLE victim; (", "[w]", "`q`",
        "名前 (1)", "it's"}) {
    DYNAMIC_SECTION(name) {
      TempProject proj;
      const lt::SqliteFile app(proj.path("app.db"));
      proj.write_config("url = \"sqlite:///app.db\"");
      proj.write_migration(
          "a1a1a1a1", std::nullopt,
          "  op.create_table(\"victim\", { \"id\", \"integer\" })\n"
          "  op.create_table(" +
              lt::lua_string(name) +
              ", { \"id\", \"integer\", primary_key = true }, "
              "{ \"v(\", \"integer\", default = 0.00001 }, { \"w\", \"text\", check = \"w <> 'v('\" })\n"
              "  op.create_index(\"ix_w\", " +
              lt::lua_string(name) +
              ", { \"w\" })\n"
              "  op.execute(\"INSERT INTO \" .. op.quote_ident(" +
              lt::lua_string(name) + ") .. \" (id, \\\"v(\\\", w) VALUES (1, 5, 'x')\")",
          "");
      proj.write_migration(
          "b2b2b2b2", std::string("a1a1a1a1"),
          "  op.alter_column(" + lt::lua_string(name) +
              ", \"v(\", { type = \"BIGINT\", nullable = false })\n"
              "  op.batch_alter_table(" +
              lt::lua_string(name) +
              ", function(b)\n"
              "    b.alter_column(\"w\", { new_name = \"x\\\" TEXT); DROP TABLE victim; --\" })\n"
              "    b.alter_column(\"id\", { type = \"INTEGER\" })\n"
              "  end)",
          "");
      auto r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
      INFO(r);
      REQUIRE(r.status == 0);
      CHECK(app.rows("SELECT count(*) FROM sqlite_master WHERE name = 'victim'") ==
            std::vector<std::string>{"1"});
      CHECK(app.rows("SELECT name, type, dflt_value FROM pragma_table_info(?1) ORDER BY cid", {name}) ==
            std::vector<std::string>{"id|INTEGER|<null>", "v(|BIGINT|0.00001",
                                     "x\" TEXT); DROP TABLE victim; --|TEXT|<null>"});
      CHECK(app.rows("SELECT * FROM " + lt::sql_ident(name)) == std::vector<std::string>{"1|5|x"});
      CHECK(app.rows("SELECT count(*) FROM pragma_index_list(?1) WHERE name = 'ix_w'", {name}) ==
            std::vector<std::string>{"1"});
      CHECK(app.rows("SELECT count(*) FROM sqlite_master WHERE name LIKE '_luamig%'") ==
            std::vector<std::string>{"0"});
    }
  }
}

TEST_CASE("sqlite a failing rebuild of a hostile table rolls back the whole revision and names the statement",
          "[sqlite]") {
  TempProject proj;
  const lt::SqliteFile app(proj.path("app.db"));
  proj.write_config("url = \"sqlite:///app.db\"");
  const std::string name = "p(q\"); COMMIT; --";
  proj.write_migration("a1a1a1a1", std::nullopt,
                       "  op.create_table(" + lt::lua_string(name) +
                           ", { \"id\", \"integer\" }, { \"v\", \"text\" })\n"
                           "  op.execute(\"INSERT INTO \" .. op.quote_ident(" +
                           lt::lua_string(name) + ") .. \" VALUES (1, NULL)\")",
                       "");
  proj.write_migration("b2b2b2b2", std::string("a1a1a1a1"),
                       "  op.create_table(\"later\", { \"id\", \"integer\" })\n"
                       "  op.alter_column(" +
                           lt::lua_string(name) +
                           ", \"v\", { new_name = \"w\", type = \"TEXT\", nullable = false })",
                       "");
  auto r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
  INFO(r);
  CHECK(r.status == 1);
  CHECK(r.err.find("revision b2b2b2b2") != std::string::npos);
  CHECK(r.err.find("NOT NULL constraint failed") != std::string::npos);
  CHECK(r.err.find("SQL: INSERT INTO \"_luamig_rebuild_p(q\"\"); COMMIT; --\"") != std::string::npos);
  CHECK(app.rows("SELECT version_num FROM alembic_version") == std::vector<std::string>{"a1a1a1a1"});
  CHECK(app.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'luamig_history' ORDER BY "
                 "name") == std::vector<std::string>{"alembic_version", name});
  CHECK(app.rows("SELECT name FROM pragma_table_info(?1) ORDER BY cid", {name}) ==
        std::vector<std::string>{"id", "v"});
}

namespace {

// Hostile names and literal contents, built from pieces that break naive parsers.
const std::vector<std::string> kPieces = {"status",  "a",        "A b", "(",    ")",   "\"", "'",  "`",
                                          "[",       "]",        ",",   " ",    "--",  "/*", "*/", ";",
                                          "SELECT",  "CHECK",    "é",   "名前", "x.y", "$1", "0",  "id",
                                          "DEFAULT", "NOT NULL", "\n",  "?",    "ab"};

struct Fuzz {
  std::mt19937 rng;
  explicit Fuzz(unsigned seed) : rng(seed) {}
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }
  std::string text(size_t max_pieces) {
    std::string s;
    size_t n = 1 + pick(max_pieces);
    for (size_t i = 0; i < n; ++i) s += kPieces[pick(kPieces.size())];
    return s;
  }
};

std::string ascii_lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// One of SQLite's quoting forms for `name`.
std::string quoted_any(Fuzz& f, const std::string& name) {
  switch (f.pick(3)) {
    case 0: {
      std::string out = "`";
      for (char c : name) {
        if (c == '`') out += '`';
        out += c;
      }
      return out + "`";
    }
    case 1:
      if (name.find(']') == std::string::npos) return "[" + name + "]";
      [[fallthrough]];
    default:
      return lt::sql_ident(name);
  }
}

}  // namespace

TEST_CASE("sqlite rebuild fuzz: random hostile names and literals, renamed, retyped and re-defaulted",
          "[sqlite]") {
  const std::vector<std::string> literals = {
      "0.00001", "-1",   "1e10", "'it''s'", "X'00ff'", "CURRENT_TIMESTAMP",
      "(1 + 2)", "NULL", "+7",   ".5",      "0x1F"};
  for (unsigned seed = 1; seed <= 12; ++seed) {
    DYNAMIC_SECTION("seed " << seed) {
      Fuzz f(seed);
      std::set<std::string> used;
      auto fresh = [&](std::string base) {
        while (base.empty() || used.count(ascii_lower(base))) base += f.text(1);
        used.insert(ascii_lower(base));
        return base;
      };
      std::string table = fresh(f.text(3));
      size_t ncols = 3 + f.pick(3);
      std::vector<std::string> cols, lits;
      std::string create = "CREATE TABLE " + quoted_any(f, table) + " ( -- " + f.text(2) + "\n";
      for (size_t i = 0; i < ncols; ++i) {
        cols.push_back(fresh(f.text(3)));
        std::string lit =
            f.pick(2) ? lt::sql_string(f.text(4) + cols.back()) : literals[f.pick(literals.size())];
        lits.push_back(lit);
        create +=
            "  " + quoted_any(f, cols[i]) + " TEXT DEFAULT " + lit + " /* " + cols[i].substr(0, 1) + " */";
        // A CHECK that names the column and holds a literal with every column's name in it.
        std::string all;
        for (auto& c : cols) all += c;
        create += " CHECK (" + quoted_any(f, cols[i]) + " IS NOT " + lt::sql_string(all + f.text(2)) + ")";
        create += ",\n";
      }
      create += "  CONSTRAINT " + quoted_any(f, "ck " + table) + " CHECK (" + quoted_any(f, cols[0]) +
                " <> " + lt::sql_string(cols[0]) + ")\n)";
      std::string index = "CREATE INDEX " + lt::sql_ident("ix " + table) + " ON " + quoted_any(f, table) +
                          " (" + quoted_any(f, cols[1]) + ") WHERE " + quoted_any(f, cols[1]) + " <> " +
                          lt::sql_string(cols[1]);
      std::string up = "  op.create_table(\"victim\", { \"id\", \"integer\" })\n  op.execute(" +
                       lt::lua_string(create) + ")\n  op.execute(" + lt::lua_string(index) + ")\n";
      for (int row = 0; row < 3; ++row) {
        std::string insert = "INSERT INTO " + lt::sql_ident(table) + " (";
        std::string values;
        for (size_t i = 0; i < ncols; ++i) {
          insert += (i ? ", " : "") + lt::sql_ident(cols[i]);
          values += (i ? ", " : "") + lt::sql_string("v" + std::to_string(row) + cols[i]);
        }
        up += "  op.execute(" + lt::lua_string(insert + ") VALUES (" + values + ")") + ")\n";
      }
      size_t renamed = f.pick(ncols), retyped = f.pick(ncols), redefaulted = f.pick(ncols);
      std::string new_name = fresh(f.text(3) + cols[renamed]);
      TempProject proj;
      const lt::SqliteFile app(proj.path("app.db"));
      proj.write_config("url = \"sqlite:///app.db\"");
      proj.write_migration("a1a1a1a1", std::nullopt, up, "");
      std::string batch =
          "  op.batch_alter_table(" + lt::lua_string(table) + ", function(b)\n" + "    b.alter_column(" +
          lt::lua_string(cols[retyped]) + ", { type = \"VARCHAR(99)\" })\n" + "    b.alter_column(" +
          lt::lua_string(cols[redefaulted]) + ", { default = \"d'\\\"(\" })\n" + "    b.alter_column(" +
          lt::lua_string(cols[renamed]) + ", { new_name = " + lt::lua_string(new_name) + " })\n  end)";
      proj.write_migration("b2b2b2b2", std::string("a1a1a1a1"), batch, "");
      INFO(create);
      INFO(batch);
      auto r = lt::cli({"upgrade", "a1a1a1a1"}, lt::in_project(proj));
      INFO(r);
      REQUIRE(r.status == 0);
      const std::string info = "SELECT name, type, dflt_value FROM pragma_table_info(?1) ORDER BY cid";
      auto before = app.rows(info, {table});
      auto data_before = app.rows("SELECT * FROM " + lt::sql_ident(table) + " ORDER BY rowid");
      auto objects_before = app.rows("SELECT type, name FROM sqlite_master ORDER BY 1, 2");
      r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
      INFO(r);
      REQUIRE(r.status == 0);
      auto after = app.rows(info, {table});
      REQUIRE(after.size() == ncols);
      for (size_t i = 0; i < ncols; ++i) {
        std::string name = i == renamed ? new_name : cols[i];
        std::string type = i == retyped ? "VARCHAR(99)" : "TEXT";
        std::string dflt = i == redefaulted ? "'d''\"('" : before[i].substr(before[i].rfind("TEXT|") + 5);
        CHECK(after[i] == name + "|" + type + "|" + dflt);
      }
      CHECK(app.rows("SELECT * FROM " + lt::sql_ident(table) + " ORDER BY rowid") == data_before);
      CHECK(app.rows("SELECT type, name FROM sqlite_master ORDER BY 1, 2") == objects_before);
      // Every literal of the stored CREATE TABLE is unchanged; only identifiers moved.
      std::string sql = app.rows("SELECT sql FROM sqlite_master WHERE name = ?1", {table}).at(0);
      for (size_t i = 0; i < ncols; ++i)
        if (i != redefaulted) CHECK(sql.find("DEFAULT " + lits[i]) != std::string::npos);
      CHECK(sql.find(" <> " + lt::sql_string(cols[0]) + ")") != std::string::npos);
      std::string ix =
          app.rows("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1", {"ix " + table}).at(0);
      CHECK(ix.find(" <> " + lt::sql_string(cols[1])) != std::string::npos);
      // The CHECK constraints still refuse what they refused, under the new names.
      CHECK(app.rows("SELECT count(*) FROM pragma_table_info(?1)", {"victim"}) ==
            std::vector<std::string>{"1"});
    }
  }
}

TEST_CASE("sqlite a rebuild outside a transaction is all or nothing", "[sqlite]") {
  for (const std::string call :
       {"op.alter_column(\"t\", \"v\", { type = \"TEXT\", nullable = false })",
        "op.batch_alter_table(\"t\", function(b) b.alter_column(\"v\", { nullable = false }) "
        "end)",
        "op.autocommit_block(function() op.alter_column(\"t\", \"v\", { nullable = false }) "
        "end)"}) {
    DYNAMIC_SECTION(call) {
      TempProject proj;
      const lt::SqliteFile app(proj.path("app.db"));
      proj.write_config("url = \"sqlite:///app.db\"");
      proj.write_migration("a1a1a1a1", std::nullopt,
                           "  op.create_table(\"t\", { \"id\", \"integer\" }, { \"v\", \"text\" })\n"
                           "  op.execute(\"CREATE UNIQUE INDEX ix_t_v ON t (v)\")\n"
                           "  op.execute(\"INSERT INTO t VALUES (1, 'a'), (2, NULL)\")",
                           "");
      proj.write_migration("b2b2b2b2", std::string("a1a1a1a1"), "  " + call, "");
      std::string path = "migrations/versions/b2b2b2b2_msg.lua";
      proj.write(path, "transactional = false\n" + proj.read(path));
      auto r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
      INFO(r);
      CHECK(r.status == 1);
      CHECK(r.err.find("NOT NULL constraint failed") != std::string::npos);
      CHECK(r.err.find("b2b2b2b2") != std::string::npos);
      CHECK(app.rows("SELECT version_num FROM alembic_version") == std::vector<std::string>{"a1a1a1a1"});
      CHECK(app.rows("SELECT name FROM sqlite_master WHERE name NOT LIKE '%luamig_history%' ORDER BY name") ==
            std::vector<std::string>{"alembic_version", "ix_t_v", "sqlite_autoindex_alembic_version_1", "t"});
      CHECK(app.rows("SELECT name, \"notnull\" FROM pragma_table_info('t')") ==
            std::vector<std::string>{"id|0", "v|0"});
      CHECK(app.rows("SELECT count(*) FROM t") == std::vector<std::string>{"2"});
    }
  }
}

TEST_CASE("sqlite a rebuild is refused while foreign keys are enforced, and nothing is lost", "[sqlite]") {
  TempProject proj;
  const lt::SqliteFile app(proj.path("app.db"));
  proj.write_config("url = \"sqlite:///app.db\"");
  proj.write_migration(
      "a1a1a1a1", std::nullopt,
      "  op.create_table(\"p\", { \"id\", \"integer\", primary_key = true }, { \"v\", \"text\" })\n"
      "  op.create_table(\"c\", { \"id\", \"integer\" }, { \"p_id\", \"integer\", references = "
      "\"p(id)\", ondelete = \"CASCADE\" })\n"
      "  op.execute(\"INSERT INTO p VALUES (1, 'a')\")\n"
      "  op.execute(\"INSERT INTO c VALUES (1, 1)\")",
      "");
  proj.write_migration("b2b2b2b2", std::string("a1a1a1a1"),
                       "  op.execute(\"PRAGMA foreign_keys = ON\")\n"
                       "  op.alter_column(\"p\", \"v\", { type = \"VARCHAR(9)\" })",
                       "");
  std::string path = "migrations/versions/b2b2b2b2_msg.lua";
  proj.write(path, "transactional = false\n" + proj.read(path));
  auto r = lt::cli({"upgrade", "head"}, lt::in_project(proj));
  INFO(r);
  CHECK(r.status == 1);
  CHECK(r.err.find("PRAGMA foreign_keys is ON") != std::string::npos);
  CHECK(app.rows("SELECT count(*) FROM c") == std::vector<std::string>{"1"});
  CHECK(app.rows("SELECT version_num FROM alembic_version") == std::vector<std::string>{"a1a1a1a1"});
}
