// lua/sqlite_ddl.lua, the tokenizer behind SQLite table rebuilds, and the SQLite authorizer's decisions,
// without a database. The tokenizer is run in a bare Lua state with the embedded source; the checks are
// written in Lua.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <lua.hpp>
#include <string>

#include "db/sqlite_guard.hpp"
#include "luahost/embedded.hpp"
#include "support/lua_state.hpp"

namespace {

// Runs `script` with `ddl` bound to the module; returns "" or the error message.
std::string run_lua(const std::string& script) {
  luamig::test::BareLua lua;
  auto module =
      lua.call(luamig::test::embedded_source("lua/sqlite_ddl.lua"), "=lua/sqlite_ddl.lua", {}, "ddl");
  if (!module.ok) return module.value;
  auto r = lua.call(script, "=test");
  return r.ok ? "" : r.value;
}

}  // namespace

TEST_CASE("sqlite_ddl: tokens give the text back exactly and classify every SQLite form", "[unit]") {
  CHECK(run_lua(R"LUA(
    local samples = {
      [[CREATE TABLE "a(b" ("x(" INTEGER DEFAULT 0.00001, [y z] TEXT DEFAULT 'it''s', `q``r` BLOB DEFAULT X'00ff')]],
      "SELECT -1e10, .5, 0x1F, 1e+3, $1, ?2, :n, @m, a->>'$.b', a||b, a<>b, a!=b -- tail",
      "/* unterminated comment is the rest",
      "CHECK (status <> 'status') /* ( */ -- )\n",
      "名前 é",
    }
    for _, s in ipairs(samples) do
      local out = {}
      for _, t in ipairs(ddl.tokenize(s)) do out[#out + 1] = t.s end
      assert(table.concat(out) == s, s)
    end
    local t = ddl.tokenize([==["a""b" `c``d` [e] 'f''g' X'00' 12.5e-3 word -- c]==])
    local kinds = {}
    for _, tok in ipairs(t) do if ddl.significant(tok) then kinds[#kinds + 1] = tok.t .. "=" .. tostring(tok.v) end end
    assert(table.concat(kinds, " ") ==
      'ident=a"b ident=c`d ident=e string=f\'g blob=nil number=nil word=word', table.concat(kinds, " "))
    local ok, err = pcall(ddl.tokenize, "'open")
    assert(not ok and err:find("unterminated"), err)
  )LUA") == "");
}

TEST_CASE("sqlite_ddl: parse_table finds the definition list at token level", "[unit]") {
  CHECK(run_lua(R"LUA(
    local info = ddl.parse_table([[CREATE TABLE "t(" ("a," INTEGER NOT NULL DEFAULT (1, 2), [b)] VARCHAR(10) CHECK (b <> ')'),
      CONSTRAINT "c k" UNIQUE ("a,"), CHECK ("a," > 0)) WITHOUT ROWID]])
    assert(#info.columns == 2 and #info.constraints == 2)
    assert(info.columns[1].name == "a,")
    assert(ddl.text(info.columns[1].type) == "INTEGER")
    assert(ddl.text(info.columns[1].constraints) == "NOT NULL DEFAULT (1, 2)")
    assert(info.columns[2].name == "b)" and ddl.text(info.columns[2].type) == "VARCHAR(10)")
    assert(info.constraints[1].name == "c k" and info.constraints[2].name == nil)
    assert(info.suffix == " WITHOUT ROWID", info.suffix)
  )LUA") == "");
}

TEST_CASE("sqlite_ddl: DEFAULT and NOT NULL are removed whatever the value's form", "[unit]") {
  CHECK(run_lua(R"LUA(
    local function strip(cons)
      return ddl.text(ddl.trim(ddl.remove_not_null(ddl.remove_default(ddl.tokenize(cons)))))
    end
    for _, v in ipairs({ "0.00001", "-1", "+1e10", "'it''s'", "X'00ff'", "CURRENT_TIMESTAMP", "(1 + (2))", "NULL",
                         "'NOT NULL'", "TRUE" }) do
      assert(strip("DEFAULT " .. v .. " NOT NULL CHECK (x <> 'DEFAULT 1')") == "CHECK (x <> 'DEFAULT 1')", v)
    end
    assert(strip("CONSTRAINT nn NOT NULL ON CONFLICT REPLACE UNIQUE") == "UNIQUE")
    assert(strip("CONSTRAINT d DEFAULT 5 COLLATE nocase") == "COLLATE nocase")
  )LUA") == "");
}

TEST_CASE("sqlite_ddl: rename touches identifiers only", "[unit]") {
  CHECK(run_lua(R"LUA(
    local function q(n) return '"' .. n:gsub('"', '""') .. '"' end
    local function rn(sql, map, tbl) return ddl.text(ddl.rename(ddl.tokenize(sql), map, tbl or "t", q)) end
    assert(rn("CHECK (status <> 'status')", { status = "state" }) == [[CHECK ("state" <> 'status')]])
    assert(rn([[CHECK ("status" + [status] + `STATUS` + Status)]], { status = "s" }) == [[CHECK ("s" + "s" + "s" + "s")]])
    -- functions, collations, other tables' columns, qualifiers and keywords are not columns of t
    assert(rn("CHECK (lower(x) = x COLLATE x)", { x = "y", lower = "z" }) == [[CHECK (lower("y") = "y" COLLATE x)]])
    assert(rn("FOREIGN KEY (a) REFERENCES other (a)", { a = "b" }) == [[FOREIGN KEY ("b") REFERENCES other (a)]])
    assert(rn("FOREIGN KEY (a) REFERENCES t (a)", { a = "b" }) == [[FOREIGN KEY ("b") REFERENCES t ("b")]])
    assert(rn("WHEN NEW.a > OLD.a AND other.a > 0 AND t.a > 0", { a = "b" }) ==
      [[WHEN NEW."b" > OLD."b" AND other.a > 0 AND t."b" > 0]])
    assert(rn("PRIMARY KEY (key)", { key = "k" }) == "PRIMARY KEY (key)")
    -- a new name holding quotes and SQL stays one quoted identifier
    assert(rn("UNIQUE (a)", { a = [[x"); DROP TABLE v; --]] }) == [[UNIQUE ("x""); DROP TABLE v; --")]])
    -- names containing other names, comments
    assert(rn("CHECK (ab > a) -- a", { a = "c" }) == [[CHECK (ab > "c") -- a]])
    assert(ddl.mentions("CREATE INDEX i ON t (x) WHERE y <> 'a'", "a") == false)
    assert(ddl.mentions("CREATE INDEX i ON t (x) WHERE [A] <> 1", "a") == true)
  )LUA") == "");
}

TEST_CASE("sqlite authorizer decisions", "[unit]") {
  using luamig::db::sqlite_refusal;
  CHECK(sqlite_refusal(SQLITE_ATTACH, "x.db", nullptr, false).find("ATTACH") != std::string::npos);
  CHECK(sqlite_refusal(SQLITE_ATTACH, nullptr, nullptr, true).find("an expression") != std::string::npos);
  CHECK(sqlite_refusal(SQLITE_ATTACH, "", nullptr, false).find("VACUUM") != std::string::npos);
  CHECK(sqlite_refusal(SQLITE_DETACH, "x", nullptr, false) != "");
  CHECK(sqlite_refusal(SQLITE_FUNCTION, nullptr, "FTS3_Tokenizer", false).find("fts3_tokenizer()") !=
        std::string::npos);
  CHECK(sqlite_refusal(SQLITE_FUNCTION, nullptr, "load_extension", false) != "");
  CHECK(sqlite_refusal(SQLITE_FUNCTION, nullptr, "writefile", false) != "");
  CHECK(sqlite_refusal(SQLITE_FUNCTION, nullptr, "lower", false) == "");
  CHECK(sqlite_refusal(SQLITE_PRAGMA, "Writable_Schema", nullptr, false) != "");
  CHECK(sqlite_refusal(SQLITE_PRAGMA, "mmap_size", nullptr, false) == "");
  CHECK(sqlite_refusal(SQLITE_PRAGMA, "mmap_size", "1", false) != "");
  CHECK(sqlite_refusal(SQLITE_PRAGMA, "table_info", "t", false) == "");
  CHECK(sqlite_refusal(SQLITE_PRAGMA, "FOREIGN_KEYS", "ON", false) == "");
  CHECK(sqlite_refusal(SQLITE_PRAGMA, "legacy_alter_table", "ON", false) == "");
  CHECK(sqlite_refusal(SQLITE_PRAGMA, "made_up", nullptr, false) != "");
  CHECK(sqlite_refusal(SQLITE_TRANSACTION, "COMMIT", nullptr, false) != "");
  CHECK(sqlite_refusal(SQLITE_TRANSACTION, "COMMIT", nullptr, true) == "");
  CHECK(sqlite_refusal(SQLITE_SAVEPOINT, "BEGIN", "sp", false) == "");
  CHECK(sqlite_refusal(SQLITE_READ, "sqlite_dbpage", "data", false) != "");
  CHECK(sqlite_refusal(SQLITE_CREATE_VTABLE, "x", "fsdir", false) != "");
  CHECK(sqlite_refusal(SQLITE_CREATE_VTABLE, "x", "fts5", false) == "");
}
