// The sandbox's promises through the real binary, on PostgreSQL and SQLite: no value shows an address; the
// engine's private helpers are out of reach; C++ copies of Lua values count against lua_memory_limit; modules
// in lib/ are bounded regular files; sealed tables refuse every write; luamig.lua runs under the limits;
// revision headers are type-checked; overlapping version rows are refused.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>

#include "support/cli.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

bool shows_address(const std::string& text) {
  static const std::regex address("0x[0-9a-fA-F]{6,}");
  return std::regex_search(text, address);
}

const char kProbe[] = "  op.execute(\"CREATE TABLE promise_probe (id int)\")\n";

}  // namespace

TEST_CASE("promises: no value shows an address", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, std::string(kProbe) + R"lua(
  local co = coroutine.create(function() end)
  local stream = op.query("SELECT 1 AS x")
  local values = { print, tostring, op.execute, function() end, {}, op, op.types, op.NULL, co, stream, context,
    log, string, op.NULL_DEFAULT }
  local function clean(s, what)
    assert(type(s) == "string", what)
    assert(not s:find("0x"), what .. " shows an address: " .. s)
    assert(not s:find("builtin#"), what .. " shows an internal id: " .. s)
  end
  for i, v in ipairs(values) do
    clean(tostring(v), "tostring #" .. i)
    clean(string.format("%s", v), "format %s #" .. i)
    clean(string.format("%q", v), "format %q #" .. i)
    clean(("%-20s|%5s"):format(v, v), "method format #" .. i)
    clean(select(2, pcall(error, v)) and tostring(select(2, pcall(error, v))), "error object #" .. i)
    print(v)
    log.info("value", v)
    log.warn(v, v)
  end
  assert(tostring(op.NULL) == "op.NULL")
  assert(tostring({}) == "table" and tostring(print) == "function" and tostring(co) == "thread")
  -- a __tostring is still honoured
  assert(tostring(setmetatable({}, { __tostring = function() return "mine" end })) == "mine")
  assert(string.format("%s", setmetatable({}, { __tostring = function() return "mine" end })) == "mine")
  -- numbers and strings are untouched
  assert(string.format("%5.2f|%d|%s|%q|%%p", 1.5, 3, "x", "y") == " 1.50|3|x|\"y\"|%p")
  for _, f in ipairs({ "%p", "%10p", "%-p", "x %p y" }) do
    local ok, err = pcall(string.format, f, {})
    assert(not ok and err:find("%p is not available", 1, true), f .. ": " .. tostring(err))
    ok, err = pcall(function() return (f):format(print) end)
    assert(not ok and err:find("%p is not available", 1, true), f .. " (method): " .. tostring(err))
  end
  -- errors that name values
  for _, f in ipairs({
    function() return {} .. "x" end, function() return print + 1 end, function() return {} < {} end,
    function() return op.NULL.x end, function() return co() end, function() return #print end,
    function() return table.concat({ {} }) end, function() return string.rep({}) end }) do
    local ok, err = pcall(f)
    assert(not ok)
    clean(tostring(err), "error message")
  end
)lua",
                       "");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_FALSE(shows_address(r.all()));
  CHECK_THAT(r.all(), Contains("op.NULL"));
  CHECK(db.table_exists("promise_probe"));
}

TEST_CASE("promises: a failing migration's error text shows no address", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  const std::vector<std::pair<std::string, std::string>> attempts = {
      {"error(table)", "  error({})"},
      {"error(function)", "  error(print)"},
      {"error(coroutine)", "  error(coroutine.create(print))"},
      {"error(op.NULL)", "  error(op.NULL)"},
      {"error(tostring(function))", "  error('f is ' .. tostring(op.execute))"},
      {"concatenation", "  local x = 'a' .. {}"},
      {"call of a table", "  local t = {} t()"},
      {"assert with a table", "  assert(false, {})"},
  };
  for (const auto& [name, code] : attempts) {
    DYNAMIC_SECTION(name) {
      TempProject proj;
      proj.write_config();
      proj.write_migration("a1", std::nullopt, std::string(kProbe) + code + "\n", "");
      auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
      INFO(r.describe());
      CHECK(r.status == 1);
      CHECK_FALSE(shows_address(r.all()));
      CHECK_FALSE(db.table_exists("promise_probe"));
      CHECK(db.version_rows().empty());
    }
  }
}

TEST_CASE("promises: the engine's private helpers are out of reach of migrations", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  proj.write_config();
  proj.write("migrations/lib/probe.lua", R"lua(
local found = {}
for _, k in ipairs({ "_pg_array", "_send", "_wait_sent", "_query_all", "_clock", "_progress", "_call_context",
  "_stderr_is_tty", "_run" }) do
  if op[k] ~= nil then found[#found + 1] = k end
end
return found
)lua");
  proj.write_migration("a1", std::nullopt, std::string(kProbe) + R"lua(
  for _, k in ipairs({ "_pg_array", "_send", "_wait_sent", "_query_all", "_clock", "_progress", "_call_context",
    "_stderr_is_tty", "_run", "pg_array", "send", "internal", "host" }) do
    assert(op[k] == nil, "op." .. k .. " is reachable")
    assert(rawget(op, k) == nil, "rawget(op, " .. k .. ") is reachable")
  end
  assert(next(op) == nil, "op's fields are enumerable")
  assert(#require("probe") == 0, "a module reaches op's helpers")
  local backfill = require("luamig.backfill")
  for k, v in pairs(backfill) do
    assert(type(v) ~= "table", "luamig.backfill exposes a table: " .. k)
  end
  assert(getmetatable(op) == false and getmetatable(backfill) == nil)
  for _, f in ipairs({ function() return package.loaded end, function() return debug.getupvalue end,
    function() return getfenv(backfill.update) end, function() return require("sandbox") end,
    function() return require("op") end, function() return require("luamig.internal") end }) do
    assert(not pcall(f))
  end
  -- a module's chunk arguments: only the module name reaches a lib/ module
  assert(select("#", require("args")) == 1 and require("args") == 1)
)lua",
                       "");
  proj.write("migrations/lib/args.lua", "return select('#', ...)\n");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK(db.table_exists("promise_probe"));
}

TEST_CASE("promises: C++ copies of Lua values count against lua_memory_limit", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  const std::vector<std::pair<std::string, std::string>> attempts = {
      {"one 4 MiB string bound 200 times",
       "  local s = string.rep('x', 4 * 1024 * 1024)\n"
       "  local conds, args = {}, {}\n"
       "  for i = 1, 200 do conds[i] = 'length(CAST($' .. i .. ' AS text)) > 0' args[i] = s end\n"
       "  op.execute('SELECT 1 WHERE ' .. table.concat(conds, ' AND '), unpack(args)) --!\n"},
      {"query with one string bound many times",
       "  local s = string.rep('y', 2 * 1024 * 1024)\n"
       "  local conds, args = {}, {}\n"
       "  for i = 1, 300 do conds[i] = 'length(CAST($' .. i .. ' AS text)) > 0' args[i] = s end\n"
       "  op.query_value('SELECT 1 WHERE ' .. table.concat(conds, ' AND '), unpack(args)) --!\n"},
      {"copy_rows with many references to one row",
       "  op.execute('CREATE TABLE big (v text)')\n"
       "  local row = { string.rep('z', 4096) }\n"
       "  local rows = {}\n"
       "  for i = 1, 60000 do rows[i] = row end\n"
       "  op.copy_rows('big', { 'v' }, rows) --!\n"},
      {"bulk_insert with many references to one value",
       "  op.execute('CREATE TABLE big (v text)')\n"
       "  local row = { v = string.rep('w', 64 * 1024) }\n"
       "  local rows = {}\n"
       "  for i = 1, 8000 do rows[i] = row end\n"
       "  op.bulk_insert('big', rows) --!\n"},
  };
  for (const auto& [name, code] : attempts) {
    DYNAMIC_SECTION(name) {
      TempProject proj;
      proj.write_config("lua_memory_limit = \"64MiB\"");
      auto rel = proj.write_migration("a1", std::nullopt, std::string(kProbe) + code, "");
      auto text = proj.read(rel);
      auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
      INFO(r.describe());
      CHECK(r.status == 1);
      CHECK_THAT(r.err, Contains("memory limit exceeded"));
      CHECK_THAT(r.err, Contains("lua_memory_limit"));
      CHECK_THAT(r.err, Contains("64 MiB"));
      CHECK_THAT(r.err,
                 Contains(fs::path(rel).filename().string() + ":" + std::to_string(line_of(text, "--!"))));
      CHECK_FALSE(db.table_exists("promise_probe"));
      CHECK(db.version_rows().empty());
    }
  }
  SECTION("copies within the limit still work, and are released after each call") {
    TempProject proj;
    proj.write_config("lua_memory_limit = \"64MiB\"");
    proj.write_migration("a1", std::nullopt, std::string(kProbe) + R"lua(
  local s = string.rep('x', 4 * 1024 * 1024)
  for _ = 1, 50 do
    assert(op.query_value('SELECT length(CAST($1 AS text)) + length(CAST($2 AS text))', s, s) == 8 * 1024 * 1024)
  end
  op.execute('CREATE TABLE small (v text)')
  local row = { string.rep('z', 1024) }
  local rows = {}
  for i = 1, 1000 do rows[i] = row end
  for _ = 1, 20 do op.copy_rows('small', { 'v' }, rows) end
)lua",
                         "");
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    INFO(r.describe());
    CHECK(r.status == 0);
    CHECK(db.query_value("SELECT count(*) FROM small") == "20000");
  }
}

TEST_CASE("promises: modules in lib/ must be bounded regular files inside lib/", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  struct Case {
    std::string name;
    std::function<void(const TempProject&)> prepare;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {"symlink to /dev/zero",
       [](const TempProject& p) { fs::create_symlink("/dev/zero", p.path("migrations/lib/mod.lua")); },
       {"is a symlink to /dev/zero (a character device)"}},
      {"FIFO",
       [](const TempProject& p) { REQUIRE(::mkfifo(p.path("migrations/lib/mod.lua").c_str(), 0600) == 0); },
       {"is a FIFO"}},
      {"symlink to a FIFO",
       [](const TempProject& p) {
         REQUIRE(::mkfifo(p.path("migrations/lib/fifo").c_str(), 0600) == 0);
         fs::create_symlink(p.path("migrations/lib/fifo"), p.path("migrations/lib/mod.lua"));
       },
       {"(a FIFO)"}},
      {"directory",
       [](const TempProject& p) { fs::create_directories(p.path("migrations/lib/mod.lua")); },
       {"is a directory"}},
      {"symlink outside lib/",
       [](const TempProject& p) {
         p.write("outside.lua", "return 1\n");
         fs::create_symlink(p.path("outside.lua"), p.path("migrations/lib/mod.lua"));
       },
       {"outside"}},
      {"relative symlink escaping lib/",
       [](const TempProject& p) {
         p.write("migrations/secret.lua", "return 1\n");
         fs::create_symlink("../secret.lua", p.path("migrations/lib/mod.lua"));
       },
       {"outside"}},
      {"dangling symlink",
       [](const TempProject& p) {
         fs::create_symlink("/nonexistent/x.lua", p.path("migrations/lib/mod.lua"));
       },
       {"does not exist"}},
      {"file over the size bound",
       [](const TempProject& p) {
         p.write("migrations/lib/mod.lua", "return 1 --" + std::string(5 << 20, 'x'));
       },
       {"is larger than"}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      TempProject proj;
      proj.write_config();
      proj.write("migrations/lib/ok.lua", "return 1\n");
      c.prepare(proj);
      auto rel = proj.write_migration("a1", std::nullopt,
                                      std::string(kProbe) + "  local m = require('mod') --!\n", "");
      auto started = Clock::now();
      auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
      INFO(r.describe());
      CHECK(Clock::now() - started < std::chrono::seconds(20));
      CHECK(r.status == 1);
      CHECK_THAT(r.err, Contains("require 'mod'"));
      CHECK_THAT(r.err, Contains("migrations/lib/mod.lua"));
      CHECK_THAT(r.err, Contains(fs::path(rel).filename().string() + ":" +
                                 std::to_string(line_of(proj.read(rel), "--!"))));
      for (const auto& e : c.expect) CHECK_THAT(r.err, Contains(e));
      CHECK_FALSE(db.table_exists("promise_probe"));
    }
  }
  SECTION("a symlink to a regular file inside lib/ is read") {
    TempProject proj;
    proj.write_config();
    proj.write("migrations/lib/impl/real.lua", "return 42\n");
    fs::create_symlink("impl/real.lua", proj.path("migrations/lib/mod.lua"));
    proj.write_migration("a1", std::nullopt, std::string(kProbe) + "  assert(require('mod') == 42)\n", "");
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    INFO(r.describe());
    CHECK(r.status == 0);
  }
}

TEST_CASE("promises: sealed tables refuse every write and pass nothing to a later file",
          "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  proj.write_config("hooks = \"hooks.lua\"");
  proj.write("migrations/hooks.lua", R"lua(
local ok = pcall(table.insert, op, "from hooks")
assert(not ok, "hooks: table.insert(op) was accepted")
)lua");
  proj.write_migration("a1", std::nullopt, std::string(kProbe) + R"lua(
  local attempts = {
    { "table.insert(op)", function() table.insert(op, "x") end },
    { "table.insert(op, 1, v)", function() table.insert(op, 1, "x") end },
    { "table.insert(op.types)", function() table.insert(op.types, "x") end },
    { "table.insert(context)", function() table.insert(context, "x") end },
    { "table.insert(log)", function() table.insert(log, "x") end },
    { "table.insert(op.NULL_DEFAULT)", function() table.insert(op.NULL_DEFAULT, "x") end },
    { "table.remove(op.types)", function() table.remove(op.types) end },
    { "table.remove(op, 1)", function() table.remove(op, 1) end },
    { "table.sort(op.types)", function() table.sort(op.types) end },
    { "table.move into op", function() table.move({ 1, 2 }, 1, 2, 1, op) end },
    { "table.move inside op.types", function() table.move(op.types, 1, 1, 2) end },
    { "rawset(op)", function() rawset(op, 1, "x") end },
    { "rawset(op.types)", function() rawset(op.types, "k", "x") end },
    { "rawset(context)", function() rawset(context, "k", "x") end },
    { "setmetatable(op)", function() setmetatable(op, {}) end },
    { "setmetatable(op.types)", function() setmetatable(op.types, nil) end },
    { "op.x = v", function() op.x = 1 end },
    { "op[1] = v", function() op[1] = 1 end },
    { "context.revision = v", function() context.revision = "x" end },
    { "op.types.X = v", function() op.types.X = 1 end },
  }
  for _, a in ipairs(attempts) do
    local ok = pcall(a[2])
    assert(not ok, a[1] .. " was accepted")
  end
  local ok, err = pcall(table.insert, op, "x")
  assert(err:find("read-only", 1, true), err)
  -- the file's own tables still work with the same functions
  local t = {}
  table.insert(t, 1) table.insert(t, 1, 0) table.sort(t) table.remove(t) table.move({ 5 }, 1, 1, 2, t)
  assert(t[1] == 0 and t[2] == 5)
)lua",
                       "");
  proj.write_migration("b2", "a1", R"lua(
  assert(#op == 0 and next(op) == nil and rawget(op, 1) == nil, "op carries data from an earlier file")
  assert(#op.types == 0 and rawget(op.types, 1) == nil, "op.types carries data from an earlier file")
  assert(#context == 0 and #log == 0, "context or log carries data")
  op.execute("CREATE TABLE second_ok (id int)")
)lua",
                       "");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK(db.table_exists("second_ok"));
}

TEST_CASE("promises: luamig.lua runs under the time and memory limits", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  struct Case {
    std::string name, config;
    std::vector<std::string> args, expect;
  };
  const std::vector<Case> cases = {
      {"endless loop", "while true do end --!", {"--set", "lua_time_limit=1s"}, {"time limit exceeded"}},
      {"endless loop in a function",
       "local function f()\n  while true do end --!\nend\nf()",
       {"--set", "lua_time_limit=1s"},
       {"time limit exceeded"}},
      {"endless recursion", "local function f() return 1 + f() end --!\nf()", {}, {"stack overflow"}},
      {"memory bomb",
       "local t = {}\nfor i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end --!",
       {"--set", "lua_memory_limit=32MiB"},
       {"memory limit exceeded"}},
      {"single huge string",
       "local s = ('x'):rep(2 ^ 30) --!",
       {"--set", "lua_memory_limit=32MiB"},
       {"memory limit exceeded"}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      TempProject proj;
      proj.write_config(c.config);
      proj.write_migration("a1", std::nullopt, kProbe, "");
      std::vector<std::string> args = c.args;
      args.insert(args.end(), {"upgrade", "head"});
      auto started = Clock::now();
      auto r = luamig_in(proj, db.url(), args);
      INFO(r.describe());
      CHECK(Clock::now() - started < std::chrono::seconds(30));
      CHECK(r.status != 0);
      // A single allocation refused outright unwinds without a Lua frame to name: the file is named.
      if (c.name == "single huge string")
        CHECK_THAT(r.err, Contains("luamig.lua"));
      else
        CHECK_THAT(r.err, Contains("luamig.lua:" + std::to_string(line_of(proj.read("luamig.lua"), "--!"))));
      for (const auto& e : c.expect) CHECK_THAT(r.err, Contains(e));
      CHECK_FALSE(db.table_exists("promise_probe"));
    }
  }
}

namespace {
// A migration file whose header lines are given verbatim.
std::string with_header(const std::string& header) {
  return "-- probe\n" + header + "\nfunction upgrade()\nend\n\nfunction downgrade()\nend\n";
}
}  // namespace

TEST_CASE("promises: revision headers of the wrong type are refused with file:line", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"down_revision = 2222", "down_revision"},
      {"down_revision = { \"a1\", 5 }", "down_revision"},
      {"down_revision = true", "down_revision"},
      {"down_revision = \"\"", "down_revision"},
      {"down_revision = 2000 + 222", "down_revision"},
      {"down_revision = { a = \"a1\" }", "down_revision"},
      {"branch_labels = 42", "branch_labels"},
      {"branch_labels = { {} }", "branch_labels"},
      {"depends_on = { 1, 2 }", "depends_on"},
      {"depends_on = { \"a1\", false }", "depends_on"},
      {"revision = 5", "revision"},
      {"revision = (\"\")", "revision"},
  };
  for (const auto& [bad, key] : cases) {
    DYNAMIC_SECTION(bad) {
      TempProject proj;
      proj.write_config();
      proj.write_migration("a1", std::nullopt, "", "");
      std::string header =
          "revision = \"b2\"\ndown_revision = \"a1\"\nbranch_labels = nil\ndepends_on = nil\n";
      header = std::regex_replace(header, std::regex("^" + key + " = [^\n]*\n", std::regex::multiline), "");
      header += bad + "\n";
      std::string text = with_header(header);
      proj.write("migrations/versions/b2_bad.lua", text);
      // Twice: the second run goes through the header cache and must refuse the file the same way.
      for (int pass = 0; pass < 2; ++pass) {
        for (const auto& verb : std::vector<std::vector<std::string>>{{"upgrade", "head"}, {"history"}}) {
          auto r = luamig_in(proj, db.url(), verb);
          INFO("pass " << pass << ": " << r.describe());
          CHECK(r.status == 2);
          CHECK_THAT(r.err, Contains("b2_bad.lua:" + std::to_string(line_of(text, bad))));
          CHECK_THAT(r.err, Contains("`" + key + "`"));
        }
      }
      CHECK(db.version_rows().empty());
    }
  }
  SECTION("a file that was valid and cached is checked again once edited") {
    TempProject proj;
    proj.write_config();
    proj.write_migration("a1", std::nullopt, "", "");
    proj.write_migration("b2", "a1", "", "");
    REQUIRE(luamig_in(proj, db.url(), {"history"}).status == 0);
    auto rel = std::string("migrations/versions/") + proj.list("migrations/versions").back();
    for (const auto& n : proj.list("migrations/versions"))
      if (n.rfind("b2", 0) == 0) rel = "migrations/versions/" + n;
    auto text = proj.read(rel);
    text = std::regex_replace(text, std::regex("down_revision = \"a1\""), "down_revision = 1234");
    proj.write(rel, text);
    auto r = luamig_in(proj, db.url(), {"heads"});
    INFO(r.describe());
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Contains("`down_revision` must be a string, a list of strings or nil (got a number)"));
  }
}

TEST_CASE("promises: misspelled header names draw a warning naming the header meant", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"down_revison = \"a1\"", "down_revision"},  {"down_revisions = \"a1\"", "down_revision"},
      {"Down_Revision = \"a1\"", "down_revision"}, {"branch_label = nil", "branch_labels"},
      {"depend_on = nil", "depends_on"},           {"transactionl = false", "transactional"},
      {"dwon_revision = \"a1\"", "down_revision"},
  };
  for (const auto& [line, meant] : cases) {
    DYNAMIC_SECTION(line) {
      TempProject proj;
      proj.write_config();
      proj.write_migration("a1", std::nullopt, "", "");
      std::string text = with_header("revision = \"b2\"\n" + line + "\n");
      proj.write("migrations/versions/b2_typo.lua", text);
      auto name = line.substr(0, line.find(' '));
      for (int pass = 0; pass < 2; ++pass) {  // the warning survives the header cache
        auto r = luamig_in(proj, db.url(), {"history"});
        INFO("pass " << pass << ": " << r.describe());
        CHECK_THAT(r.err, Contains("b2_typo.lua:" + std::to_string(line_of(text, line))));
        CHECK_THAT(r.err, Contains("`" + name + "`"));
        CHECK_THAT(r.err, Contains("did you mean `" + meant + "`"));
      }
    }
  }
  SECTION("ordinary globals draw no warning") {
    TempProject proj;
    proj.write_config();
    proj.write(
        "migrations/versions/a1_ok.lua",
        with_header("revision = \"a1\"\ndown_revision = nil\ntime_limit = \"5s\"\ntransactional = true\n"
                    "helper = 1\nversion_note = \"x\"\n"));
    auto r = luamig_in(proj, db.url(), {"history"});
    INFO(r.describe());
    CHECK(r.status == 0);
    CHECK_THAT(r.err, !Contains("did you mean"));
  }
}

TEST_CASE("promises: overlapping rows in alembic_version are refused", "[sandbox][promises]") {
  BOTH_DIALECTS_DB(db);
  TempProject proj;
  proj.write_config();
  proj.write_migration("a1", std::nullopt, "  op.execute('CREATE TABLE t_a1 (id int)')",
                       "  op.execute('DROP TABLE t_a1')");
  proj.write_migration("b2", "a1", "  op.execute('CREATE TABLE t_b2 (id int)')",
                       "  op.execute('DROP TABLE t_b2')");
  proj.write_migration("c3", "b2", "  op.execute('CREATE TABLE t_c3 (id int)')",
                       "  op.execute('DROP TABLE t_c3')");
  REQUIRE(luamig_in(proj, db.url(), {"upgrade", "b2"}).status == 0);
  db.exec("INSERT INTO alembic_version (version_num) VALUES ('a1')");
  const std::vector<std::string> before{"a1", "b2"};
  REQUIRE(db.version_rows() == before);
  for (const auto& verb : std::vector<std::vector<std::string>>{{"upgrade", "head"},
                                                                {"upgrade", "+1"},
                                                                {"downgrade", "base"},
                                                                {"downgrade", "-1"},
                                                                {"current"},
                                                                {"stamp", "head"},
                                                                {"check"}}) {
    DYNAMIC_SECTION(verb[0] + " " + (verb.size() > 1 ? verb[1] : "")) {
      auto r = luamig_in(proj, db.url(), verb);
      INFO(r.describe());
      CHECK(r.status != 0);
      CHECK_THAT(r.err, Contains("Requested revision b2 overlaps with other requested revisions a1"));
      CHECK(db.version_rows() == before);
      CHECK(db.table_exists("t_b2"));
      CHECK_FALSE(db.table_exists("t_c3"));
    }
  }
  SECTION("stamp --purge repairs the table") {
    auto r = luamig_in(proj, db.url(), {"stamp", "--purge", "b2"});
    INFO(r.describe());
    CHECK(r.status == 0);
    CHECK(db.version_rows() == std::vector<std::string>{"b2"});
    CHECK(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
    CHECK(db.table_exists("t_c3"));
  }
}
