// The sandbox promise, through the real binary against a real PostgreSQL: every escape attempt is a
// migration whose upgrade() first creates a table and then tries one forbidden thing. Each must fail with
// exit status 1 and a message naming the file (and line, where Lua can know it) and what was refused, and the
// table must not exist afterwards (the revision was rolled back).
//
// Over 600 lines, on purpose: one case per escape attempt, so that the promise reads as a list.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "luahost/embedded.hpp"
#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/text.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Clock = std::chrono::steady_clock;

namespace {

const char kCreate[] = "  op.execute(\"CREATE TABLE escape_probe (id int)\")\n";
// Marks the line the error must name: "... --!".
const char kMarker[] = "--!";

struct Attempt {
  std::string name;
  std::string code;                 // Lua, run in upgrade() after the CREATE TABLE (or at top level)
  std::vector<std::string> expect;  // substrings of stderr
  std::string config = "";          // extra luamig.lua lines
  std::vector<std::pair<std::string, std::string>> files = {};  // extra project files (path, content)
  bool top_level = false;  // `code` runs when the file is loaded, not in upgrade()
};

// Waits until no other session is connected to the test database: the (killed) luamig's backend has finished
// rolling back.
void wait_for_sessions_to_end(const TempDb& db) {
  auto until = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < until) {
    if (db.query_value("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
                       "pg_backend_pid()") == "0")
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

struct Outcome {
  RunResult result;
  std::chrono::milliseconds elapsed;
};

Outcome run_attempt(const Attempt& a, const std::string& default_config) {
  TempDb db;
  TempProject proj;
  proj.write_config(default_config + "\n" + a.config);
  for (const auto& [path, content] : a.files) proj.write(path, content);
  std::string rel;
  if (a.top_level) {
    rel = "migrations/versions/r1_escape.lua";
    proj.write(rel, migration("r1", std::nullopt, kCreate, "", "escape") + "\n" + a.code + "\n");
  } else {
    rel = proj.write_migration("r1", std::nullopt, kCreate + a.code, "", "escape");
  }
  std::string text = proj.read(rel);
  auto started = Clock::now();
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);

  INFO("attempt: " << a.name << "\n" << text << "\n" << r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("r1"));
  CHECK_THAT(r.err, Contains("r1_escape.lua"));
  if (int line = line_of(text, kMarker)) CHECK_THAT(r.err, Contains("r1_escape.lua:" + std::to_string(line)));
  for (const auto& e : a.expect) CHECK_THAT(r.err, Contains(e));
  wait_for_sessions_to_end(db);
  CHECK_FALSE(db.table_exists("escape_probe"));
  CHECK(db.version_rows().empty());
  return {r, elapsed};
}

void run_all(const std::vector<Attempt>& attempts, const std::string& default_config = "") {
  for (const auto& a : attempts) {
    SECTION(a.name) { run_attempt(a, default_config); }
  }
}

std::string refused(const std::string& what) { return what + " is not available in migrations"; }

}  // namespace

TEST_CASE("sandbox: forbidden libraries and functions are refused", "[sandbox]") {
  std::vector<Attempt> attempts = {
      {"io.open", "  local f = io.open('/etc/passwd') --!", {refused("io.open")}},
      {"io.write", "  io.write('x') --!", {refused("io.write")}},
      {"io.popen", "  io.popen('id') --!", {refused("io.popen")}},
      {"io.lines", "  for l in io.lines('/etc/passwd') do end --!", {refused("io.lines")}},
      {"os.execute", "  os.execute('touch /tmp/luamig_escape') --!", {refused("os.execute")}},
      {"os.exit", "  os.exit(0) --!", {refused("os.exit")}},
      {"os.getenv", "  local home = os.getenv('HOME') --!", {refused("os.getenv")}},
      {"os.remove", "  os.remove('/tmp/x') --!", {refused("os.remove")}},
      {"os.rename", "  os.rename('/tmp/x', '/tmp/y') --!", {refused("os.rename")}},
      {"os.tmpname", "  os.tmpname() --!", {refused("os.tmpname")}},
      {"os.setlocale", "  os.setlocale('C') --!", {refused("os.setlocale")}},
      {"debug.getinfo", "  debug.getinfo(1) --!", {refused("debug.getinfo")}},
      {"debug.sethook", "  debug.sethook() --!", {refused("debug.sethook")}},
      {"debug.getupvalue", "  debug.getupvalue(op.execute, 1) --!", {refused("debug.getupvalue")}},
      {"ffi", "  ffi.cdef('int getpid(void);') --!", {refused("ffi.cdef")}},
      {"require ffi", "  local ffi = require('ffi') --!", {"module 'ffi' is not available in migrations"}},
      {"jit.off", "  jit.off() --!", {refused("jit.off")}},
      {"require jit", "  require('jit') --!", {"module 'jit' is not available in migrations"}},
      {"require io", "  require('io') --!", {"module 'io' is not available in migrations"}},
      {"require debug", "  require('debug') --!", {"module 'debug' is not available in migrations"}},
      {"package.loadlib", "  package.loadlib('libc.so.6', 'system') --!", {refused("package.loadlib")}},
      {"package.loaded", "  local l = package.loaded --!", {refused("package.loaded")}},
      {"load", "  load('return 1') --!", {refused("load")}},
      {"loadstring", "  loadstring('return 1') --!", {refused("loadstring")}},
      {"dofile", "  dofile('/etc/passwd') --!", {refused("dofile")}},
      {"loadfile", "  loadfile('/etc/passwd') --!", {refused("loadfile")}},
      {"string.dump", "  string.dump(function() end) --!", {refused("string.dump")}},
      {"dump through a string", "  local d = ('').dump; d(function() end) --!", {refused("string.dump")}},
      {"getfenv", "  getfenv(1) --!", {refused("getfenv")}},
      {"setfenv", "  setfenv(1, {}) --!", {refused("setfenv")}},
      {"collectgarbage collect",
       "  collectgarbage('collect') --!",
       {"collectgarbage(\"collect\") is not available in migrations"}},
      {"collectgarbage without option", "  collectgarbage() --!", {"collectgarbage() is not available"}},
      {"collectgarbage stop", "  collectgarbage('stop') --!", {"collectgarbage(\"stop\") is not available"}},
      {"newproxy", "  newproxy(true) --!", {refused("newproxy")}},
      {"module", "  module('evil') --!", {refused("module")}},
      {"gcinfo", "  gcinfo() --!", {refused("gcinfo")}},
      {"through _G", "  _G.io.open('/etc/passwd') --!", {refused("io.open")}},
      {"through rawget", "  rawget(_G, 'io').open('/etc/passwd') --!", {refused("io.open")}},
  };
  run_all(attempts);
}

TEST_CASE("sandbox: the failure report names revision file line and refusal", "[sandbox]") {
  Attempt a{"io.open", "  local f = io.open('/etc/passwd') --!", {refused("io.open")}};
  auto o = run_attempt(a, "");
  const auto& err = o.result.err;
  CHECK_THAT(err, Contains("upgrade of revision r1 (escape) failed; the revision was rolled back"));
  CHECK_THAT(err, Contains("error: io.open is not available in migrations"));
  // The position is given once, in "at file:line", not repeated inside the message.
  CHECK_THAT(err, !Contains("error: migrations/"));
}

TEST_CASE("sandbox: bytecode is refused on every loading path", "[sandbox]") {
  // A real LuaJIT bytecode chunk when the luajit tool is there; its signature otherwise.
  std::string bytecode = std::string("\x1bLJ\x02\x0a", 5) + std::string(16, '\0');
  {
    TempProject scratch;
    auto src = scratch.write("m.lua", "return { x = 1 }\n");
    try {
      auto r = run({"luajit", "-b", src.string(), scratch.path("m.bc").string()});
      if (r.ok()) bytecode = scratch.read("m.bc");
    } catch (const std::exception&) {
    }
  }
  REQUIRE(bytecode.substr(0, 3) == "\x1bLJ");
  std::string as_lua_string;  // the bytecode as a Lua string literal
  for (unsigned char c : bytecode) {
    as_lua_string += '\\';
    as_lua_string += std::to_string(c);
  }

  std::vector<Attempt> attempts = {
      {"require of a lib file holding bytecode",
       "  local m = require('evil') --!",
       {"require 'evil'", "is precompiled bytecode; migrations load only Lua source"},
       "",
       {{"migrations/lib/evil.lua", bytecode}}},
      {"require of a nested lib module holding bytecode",
       "  local m = require('pkg.evil') --!",
       {"precompiled bytecode"},
       "",
       {{"migrations/lib/pkg/evil.lua", bytecode}}},
      {"lib module requiring a bytecode module",
       "  local m = require('good')",
       {"precompiled bytecode", "good.lua:1"},
       "",
       {{"migrations/lib/good.lua", "local e = require('evil')\nreturn {}\n"},
        {"migrations/lib/evil.lua", bytecode}}},
      {"load of a bytecode string", "  local f = load('" + as_lua_string + "') --!", {refused("load")}},
      {"loadstring of a bytecode string",
       "  local f = loadstring('" + as_lua_string + "') --!",
       {refused("loadstring")}},
      {"string.dump to make bytecode",
       "  local b = string.dump(function() return 1 end) --!",
       {refused("string.dump")}},
  };
  run_all(attempts);

  SECTION("a migration file that is bytecode") {
    TempDb db;
    TempProject proj;
    proj.write_config();
    proj.write("migrations/versions/r1_escape.lua", bytecode);
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    INFO(r.describe());
    CHECK(r.status != 0);
    CHECK_THAT(r.err, Contains("r1_escape.lua"));
    CHECK_THAT(r.err, Contains("precompiled bytecode; luamig loads only Lua source"));
    CHECK(db.tables().size() <= 1);  // at most alembic_version
    CHECK(db.version_rows().empty());
  }
}

TEST_CASE("sandbox: engine values and metatables are out of reach", "[sandbox]") {
  std::vector<Attempt> attempts = {
      {"string metatable", "  local mt = getmetatable('')\n  mt.__index.upper = nil --!", {"boolean value"}},
      {"string metatable index", "  getmetatable('').__index.rep = print --!", {"boolean value"}},
      {"setmetatable on a string's metatable",
       "  setmetatable(getmetatable(''), {}) --!",
       {"bad argument #1 to 'setmetatable'"}},
      {"rawset on op", "  rawset(op, 'execute', print) --!", {"rawset: cannot change a luamig value"}},
      {"rawset on log", "  rawset(log, 'info', print) --!", {"rawset: cannot change a luamig value"}},
      {"rawset on context",
       "  rawset(context, 'revision', 'x') --!",
       {"rawset: cannot change a luamig value"}},
      {"assignment to op", "  op.execute = print --!", {"op is read-only"}},
      {"assignment to context", "  context.revision = 'x' --!", {"context is read-only"}},
      {"assignment to log", "  log.info = print --!", {"log is read-only"}},
      {"setmetatable on op", "  setmetatable(op, {}) --!", {"cannot change the metatable of a luamig value"}},
      {"getmetatable of op", "  getmetatable(op).__index = {} --!", {"boolean value"}},
      {"metatable of op.text values",
       "  getmetatable(op.text('now()')).__tostring = print --!",
       {"boolean value"}},
      {"setmetatable on op.text values",
       "  setmetatable(op.text('now()'), {}) --!",
       {"cannot change the metatable of a luamig value"}},
      {"op.NULL_DEFAULT", "  op.NULL_DEFAULT.x = 1 --!", {"read-only"}},
      {"rawset on op.NULL_DEFAULT",
       "  rawset(op.NULL_DEFAULT, 'x', 1) --!",
       {"rawset: cannot change a luamig value"}},
      {"a library stub", "  rawset(io, 'open', print) --!", {"rawset: cannot change a luamig value"}},
      {"the globals' metatable",
       "  setmetatable(_G, nil) --!",
       {"cannot change the metatable of a luamig value"}},
  };
  run_all(attempts);
}

TEST_CASE("sandbox: nothing one migration does is seen by the next", "[sandbox]") {
  TempDb db;
  TempProject proj;
  proj.write_config();
  // r1 tries to poison everything shared it can touch, at top level and in upgrade().
  std::string poison = R"LUA(
  string.upper = function() return "pwned" end
  string.format = nil
  rawset(string, "rep", nil)
  table.concat = nil
  math.floor = nil
  math.randomseed(42)
  shared_global = "leaked"
  rawset(_G, "raw_global", "leaked")
  _G.via_G = "leaked"
  pcall(function() getmetatable("").__index.upper = function() return "pwned" end end)
  pcall(rawset, op, "execute", function() error("hijacked") end)
  pcall(rawset, log, "info", function() error("hijacked") end)
  pcall(function() op.NULL_DEFAULT.poisoned = true end)
  local ok = pcall(setmetatable, op.NULL_DEFAULT, { __index = function() return "pwned" end })
  assert(not ok, "the metatable of op.NULL_DEFAULT could be changed")
  coroutine.resume = function() error("hijacked") end
  op.execute("CREATE TABLE first_ran (id int)")
)LUA";
  std::string text =
      migration("r1", std::nullopt, poison, "", "poison") + "\nstring.lower = nil\ntop_level_global = 1\n";
  proj.write("migrations/versions/r1_poison.lua", text);
  std::string check = R"LUA(
  assert(("x"):upper() == "X", "string methods were poisoned")
  assert(string.upper("x") == "X", "string.upper was poisoned")
  assert(string.lower("X") == "x", "string.lower was poisoned")
  assert(string.format("%d", 1) == "1", "string.format was removed")
  assert(("ab"):rep(2) == "abab" and string.rep("a", 2) == "aa", "string.rep was removed")
  assert(table.concat({ "a", "b" }) == "ab", "table.concat was removed")
  assert(math.floor(1.5) == 1, "math.floor was removed")
  assert(shared_global == nil and raw_global == nil and via_G == nil and top_level_global == nil, "a global leaked")
  assert(rawget(op.NULL_DEFAULT, "poisoned") == nil and op.NULL_DEFAULT.poisoned == nil, "op.NULL_DEFAULT leaked")
  assert(coroutine.wrap(function() return 7 end)() == 7 and coroutine.resume(coroutine.create(function() end)))
  log.info("second file sees a clean sandbox")
  op.execute("CREATE TABLE second_ran (id int)")
)LUA";
  proj.write_migration("r2", "r1", check, "", "check");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("second file sees a clean sandbox"));
  CHECK(db.table_exists("first_ran"));
  CHECK(db.table_exists("second_ran"));
  CHECK(db.version_rows() == std::vector<std::string>{"r2"});
}

TEST_CASE("sandbox: getfenv setfenv and the registry are unreachable", "[sandbox]") {
  std::vector<Attempt> attempts = {
      {"setfenv on an op function", "  setfenv(op.execute, {}) --!", {refused("setfenv")}},
      {"getfenv on an op function", "  local env = getfenv(op.execute) --!", {refused("getfenv")}},
      {"getfenv(0): the thread's globals", "  local g = getfenv(0) --!", {refused("getfenv")}},
      {"setfenv on a function of the file", "  setfenv(upgrade, {}) --!", {refused("setfenv")}},
      {"debug.getregistry", "  local reg = debug.getregistry() --!", {refused("debug.getregistry")}},
      {"debug.getfenv", "  debug.getfenv(op.execute) --!", {refused("debug.getfenv")}},
      {"registry through package.loaded", "  local g = package.loaded._G --!", {refused("package.loaded")}},
      {"require of _G", "  local g = require('_G') --!", {"module '_G' is not available in migrations"}},
      {"require of a path outside lib",
       "  require('../../etc/passwd') --!",
       {"module '../../etc/passwd' is not available in migrations"}},
      {"every path in turn",
       R"LUA(  local paths = {
    function() return debug.getregistry() end,
    function() return getfenv(0) end,
    function() return getfenv(op.execute) end,
    function() return package.loaded end,
    function() return getmetatable("").__index end,
    function() return getmetatable(op).__index end,
    function() return require("_G") end,
  }
  for i, p in ipairs(paths) do
    local ok, v = pcall(p)
    if ok and type(v) == "table" then error("path " .. i .. " reached an engine table") end
  end
  error("every path to the registry was refused") --!)LUA",
       {"every path to the registry was refused"}},
  };
  run_all(attempts);
}

TEST_CASE("sandbox: hostile error objects still give a readable message", "[sandbox]") {
  std::vector<Attempt> attempts = {
      {"__tostring that errors",
       "  error(setmetatable({}, { __tostring = function() error('nope') end })) --!",
       {"error object is a table value whose __tostring failed", "nope"}},
      {"__tostring that loops",
       "  error(setmetatable({}, { __tostring = function() while true do end end })) --!",
       {"error object is a table value whose __tostring did not finish"}},
      {"__tostring that recurses",
       R"LUA(  local mt = {}
  mt.__tostring = function(s) return (tostring(s)) end
  error(setmetatable({}, mt)) --!)LUA",
       {"__tostring failed", "stack overflow"}},
      {"__tostring returning a table",
       "  error(setmetatable({}, { __tostring = function() return {} end })) --!",
       {"__tostring returned a table"}},
      {"__tostring returning a huge string",
       "  error(setmetatable({}, { __tostring = function() return string.rep('x', 2^24) end })) --!",
       {"more bytes)"}},
      {"a table as error value", "  error({ code = 42 }) --!", {"(error object is a table value)"}},
      {"nil as error value", "  error(nil) --!", {"error() was called without a message"}},
      {"a function as error value", "  error(print) --!", {"(error object is a function value)"}},
      {"a coroutine as error value",
       "  error(coroutine.create(print)) --!",
       {"(error object is a thread value)"}},
      {"a huge message", "  error(string.rep('y', 2^20)) --!", {"more bytes)"}},
  };
  run_all(attempts);
}

TEST_CASE("sandbox: every kind of infinite loop is stopped", "[sandbox]") {
  std::vector<Attempt> attempts = {
      {"while", "  while true do end --!", {}},
      {"repeat", "  repeat local x = 1 until false --!", {}},
      {"numeric for", "  for i = 1, math.huge do end --!", {}},
      {"goto", "  ::top:: goto top --!", {}},
      {"tail calls", "  local function f() return f() end f() --!", {}},
      {"pcall swallowing the timeout", "  while true do pcall(function() while true do end end) end --!", {}},
      {"pcall around error in a loop", "  while true do pcall(error, 'x') end --!", {}},
      {"xpcall whose handler loops",
       "  xpcall(function() error('x') end, function() while true do end end) --!",
       {}},
      {"xpcall retrying forever",
       "  while true do xpcall(function() while true do end end, function(e) return e end) end --!",
       {}},
      {"coroutine loop", "  coroutine.wrap(function() while true do end end)() --!", {}},
      {"coroutine catching the timeout",
       "  coroutine.wrap(function() while true do pcall(function() while true do end end) end end)() --!",
       {}},
      {"resuming coroutines forever",
       R"LUA(  local co = coroutine.wrap(function() while true do coroutine.yield() end end)
  while true do co() end --!)LUA",
       {}},
      {"new coroutines swallowing the timeout",
       "  while true do coroutine.resume(coroutine.create(function() while true do end end)) end --!",
       {}},
      {"gsub callback", "  local _ = ('x'):gsub('.', function() while true do end end) --!", {}},
      {"sort comparator", "  table.sort({ 3, 2, 1 }, function(a, b) while true do end end) --!", {}},
      {"__index metamethod",
       "  local t = setmetatable({}, { __index = function() while true do end end })\n"
       "  local _ = t.x --!",
       {}},
      {"__tostring in string.format",
       "  string.format('%s', setmetatable({}, { __tostring = function() while true do end end })) --!",
       {}},
  };
  for (auto& a : attempts) a.expect.push_back("time limit exceeded");
  auto config = "lua_time_limit = \"1s\"";
  for (const auto& a : attempts) {
    SECTION(a.name) {
      auto o = run_attempt(a, config);
      CHECK(o.elapsed < std::chrono::seconds(8));
    }
  }
}

TEST_CASE("sandbox: work stuck in a C function ends the process after the grace period", "[sandbox]") {
  std::vector<Attempt> attempts = {
      {"catastrophic backtracking", "  local s = ('a'):rep(40)\n  s:find(('a*'):rep(20) .. 'b')", {}},
      {"catastrophic match with captures",
       "  local s = ('a'):rep(40)\n  s:match(('(a*)'):rep(20) .. 'b')",
       {}},
      {"huge plain find",
       "  local h = string.rep('a', 2^25)\n  local n = string.rep('a', 2^20) .. 'b'\n  h:find(n, 1, true)",
       {}},
  };
  for (auto& a : attempts) {
    a.expect = {"ERROR: upgrade of revision r1 (escape) failed: time limit exceeded in a C function",
                "r1_escape.lua", "luamig ended the process", "rolls the open transaction back"};
  }
  for (const auto& a : attempts) {
    SECTION(a.name) {
      auto o = run_attempt(a, "lua_time_limit = \"1s\"");
      // 1 s limit + 2 s grace + start-up and polling.
      CHECK(o.elapsed < std::chrono::milliseconds(6000));
      CHECK(o.elapsed >= std::chrono::milliseconds(2900));
    }
  }
}

TEST_CASE("sandbox: memory bombs end with memory limit exceeded", "[sandbox]") {
  std::vector<Attempt> attempts = {
      {"string.rep", "  local s = string.rep('x', 2^30)", {}},
      {"string.rep through a string", "  local s = ('x'):rep(2^29)", {}},
      {"string doubling", "  local s = 'x'\n  while true do s = s .. s end", {}},
      {"table growth", "  local t = {}\n  for i = 1, 1e9 do t[i] = i end", {}},
      {"table of strings",
       "  local t = {}\n  for i = 1, 1e9 do t[i] = tostring(i) .. 'padding padding' end",
       {}},
      {"table.concat",
       "  local t = {}\n  for i = 1, 1e7 do t[i] = 'xxxxxxxxxxxxxxxx' end\n  local s = table.concat(t)",
       {}},
      {"closures", "  local t = {}\n  for i = 1, 1e9 do t[i] = function() return i end end", {}},
      {"coroutines", "  local t = {}\n  for i = 1, 1e9 do t[i] = coroutine.create(print) end", {}},
      {"string.format padding",
       "  local t = {}\n  for i = 1, 1e9 do t[i] = string.format('%099d', i) end",
       {}},
      {"gsub expansion", "  local s = ('x'):rep(2^20)\n  while true do s = s:gsub('x', 'xx') end", {}},
      {"caught and retried",
       "  local t = {}\n  for i = 1, 1e9 do pcall(function() t[#t + 1] = ('x'):rep(2^20) .. i end) end",
       {}},
  };
  for (auto& a : attempts) a.expect = {"memory limit exceeded", "64 MiB"};
  run_all(attempts, "lua_memory_limit = \"64MiB\"\nlua_time_limit = \"20s\"");
}

TEST_CASE("sandbox: deep recursion of every kind ends with a clear error", "[sandbox]") {
  // The marker is on the line that recurses: the error is raised there.
  std::vector<Attempt> attempts = {
      {"Lua recursion", "  local function f() return 1 + f() end --!\n  f()", {"stack overflow"}},
      {"recursion through pcall",
       "  local function f() local ok, e = pcall(f) error(e, 0) end --!\n  f()",
       {"stack overflow"}},
      {"gsub callbacks",
       "  local function f(s) return (s:gsub('.', f)) end --!\n  f('ab')",
       {"stack overflow"}},
      {"gsub with a table whose __index recurses",
       "  local t = setmetatable({}, { __index = function(t, k) return (('ab'):gsub('.', t)) end }) --!\n"
       "  local _ = ('ab'):gsub('.', t)",
       {"stack overflow"}},
      {"table.sort comparators",
       "  local function c(a, b) table.sort({ 3, 2, 1 }, c) return a < b end --!\n  table.sort({ 3, 2, 1 }, "
       "c)",
       {"stack overflow"}},
      {"__lt through table.sort",
       "  local mt = {}\n  mt.__lt = function(a, b) table.sort({ a, b, a }) return true end --!\n"
       "  local x = setmetatable({}, mt)\n  local _ = x < x",
       {"stack overflow"}},
      {"nested coroutines",
       "  local function f() local r = coroutine.wrap(f)() return r end --!\n  f()",
       {"coroutines are nested too deeply"}},
      {"nested coroutines through tail calls",
       "  local function f() return coroutine.wrap(f)() end\n  f()",
       {"coroutines are nested too deeply"}},
      {"nested coroutine.resume",
       "  local function f() local ok, e = coroutine.resume(coroutine.create(f)) error(e, 0) end --!\n  f()",
       {"coroutines are nested too deeply"}},
      {"recursive __tostring in string.format",
       "  local t = setmetatable({}, { __tostring = function(s) return string.format('%s', s) end }) --!\n"
       "  local _ = string.format('%s', t)",
       {"stack overflow"}},
      {"recursive __tostring in tostring",
       "  local t = setmetatable({}, { __tostring = function(s) return (tostring(s)) end }) --!\n"
       "  local _ = tostring(t)",
       {"stack overflow"}},
      {"recursive __index",
       "  local t = setmetatable({}, { __index = function(t, k) return (t[k]) end }) --!\n"
       "  local _ = t.x",
       {"stack overflow"}},
      {"recursive __concat",
       "  local mt = {}\n  mt.__concat = function(a, b) return (a .. b) end --!\n"
       "  local _ = setmetatable({}, mt) .. 'x'",
       {"stack overflow"}},
      {"gsub callbacks across coroutines",
       "  local f\n  f = function(s, d)\n"
       "    if d % 1000 == 0 then coroutine.wrap(function() f(s, d + 1) end)()\n"
       "    else s:gsub('.', function() f(s, d + 1) end) end\n  end\n  f('a', 1)",
       {"stack overflow"}},
      {"recursion in a lib module",
       "  require('loop')",
       {"stack overflow", "loop.lua:1"},
       "",
       {{"migrations/lib/loop.lua", "local function f() return 1 + f() end\nreturn f()\n"}}},
  };
  run_all(attempts, "lua_time_limit = \"20s\"");
}

TEST_CASE("sandbox: code at the top level of a migration file is sandboxed", "[sandbox]") {
  std::vector<Attempt> attempts = {
      {"io.open", "local f = io.open('/etc/passwd') --!", {refused("io.open")}},
      {"os.execute", "os.execute('true') --!", {refused("os.execute")}},
      {"load", "local f = load('return 1') --!", {refused("load")}},
      {"infinite loop", "while true do end --!", {"time limit exceeded"}, "lua_time_limit = \"1s\""},
      {"memory bomb",
       "local t = {} for i = 1, 1e9 do t[i] = i end",
       {"memory limit exceeded"},
       "lua_memory_limit = \"64MiB\""},
      {"recursion", "local function f() return 1 + f() end\nf() --!", {"stack overflow"}},
      {"catastrophic pattern",
       "local s = ('a'):rep(40)\nlocal _ = s:find(('a*'):rep(20) .. 'b')",
       {"time limit exceeded in a C function"},
       "lua_time_limit = \"1s\""},
      {"a lib module's top level",
       "local m = require('bad')",
       {refused("os.getenv"), "bad.lua:2"},
       "",
       {{"migrations/lib/bad.lua", "local M = {}\nM.home = os.getenv('HOME')\nreturn M\n"}}},
  };
  for (auto& a : attempts) a.top_level = true;
  run_all(attempts);
}

TEST_CASE("sandbox: computed revision headers are read inside the sandbox", "[sandbox]") {
  // A header that is not plain literals makes luamig run the file's top level to read it, for every command.
  struct Case {
    const char* name;
    const char* code;
    const char* expect;
  };
  for (auto c :
       {Case{"io", "local f = io.open('/etc/passwd')", "io.open is not available in migrations"},
        Case{"environment variables", "local home = os.getenv('HOME')", "os.getenv is not available"},
        Case{"the config's env()", "local home = env('HOME')", "attempt to call global 'env'"},
        Case{"the database", "op.execute('DROP TABLE victim')", "the database is not available"},
        Case{"an infinite loop", "while true do end", "time limit exceeded"}}) {
    SECTION(c.name) {
      TempDb db;
      db.exec("CREATE TABLE victim (id int)");
      TempProject proj;
      proj.write_config();
      proj.write("migrations/versions/r1_computed.lua",
                 std::string("-- computed\nrevision = 'r' .. '1'\ndown_revision = nil\n") + c.code +
                     "\nfunction upgrade() end\n");
      std::vector<const char*> verbs = {"history", "upgrade"};
      if (c.name == std::string("an infinite loop")) verbs = {"history"};  // 10 s each
      for (const char* verb : verbs) {
        auto started = Clock::now();
        auto r = luamig_in(proj, db.url(), {verb, verb == std::string("upgrade") ? "head" : "-v"});
        INFO(verb << "\n" << r.describe());
        CHECK(r.status != 0);
        CHECK_THAT(r.err, Contains("r1_computed.lua:4"));
        CHECK_THAT(r.err, Contains(c.expect));
        CHECK(Clock::now() - started < std::chrono::seconds(20));
      }
      CHECK(db.table_exists("victim"));
      CHECK(db.version_rows().empty());
    }
  }
}

TEST_CASE("sandbox: time_limit in a migration file and database time", "[sandbox]") {
  SECTION("a file's time_limit grants more time than lua_time_limit") {
    TempDb db;
    TempProject proj;
    proj.write_config("lua_time_limit = \"1s\"");
    std::string text = migration("r1", std::nullopt,
                                 "  local t0 = os.clock()\n  while os.clock() - t0 < 1.5 do end\n"
                                 "  op.execute('CREATE TABLE slow_but_allowed (id int)')",
                                 "", "slow") +
                       "\ntime_limit = \"30s\"\n";
    proj.write("migrations/versions/r1_slow.lua", text);
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    INFO(r.describe());
    CHECK(r.status == 0);
    CHECK(db.table_exists("slow_but_allowed"));
  }
  SECTION("a file's time_limit can be shorter") {
    Attempt a{"short", "  while true do end --!", {"time limit exceeded", "1.00 s"}};
    a.files = {};
    TempDb db;
    TempProject proj;
    proj.write_config("lua_time_limit = \"60s\"");
    std::string text =
        migration("r1", std::nullopt, kCreate + a.code, "", "escape") + "\ntime_limit = \"1s\"\n";
    proj.write("migrations/versions/r1_escape.lua", text);
    auto started = Clock::now();
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    INFO(r.describe());
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("time limit exceeded"));
    CHECK_THAT(r.err, Contains("r1_escape.lua:" + std::to_string(line_of(text, kMarker))));
    CHECK(Clock::now() - started < std::chrono::seconds(10));
    CHECK_FALSE(db.table_exists("escape_probe"));
  }
  SECTION("an invalid time_limit fails the revision") {
    TempDb db;
    TempProject proj;
    proj.write_config();
    proj.write("migrations/versions/r1_escape.lua",
               migration("r1", std::nullopt, kCreate, "", "escape") + "\ntime_limit = \"soon\"\n");
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    INFO(r.describe());
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("time_limit"));
    CHECK_THAT(r.err, Contains("soon"));
    CHECK_FALSE(db.table_exists("escape_probe"));
  }
  SECTION("time spent waiting on the database does not count") {
    TempDb db;
    TempProject proj;
    proj.write_config("lua_time_limit = \"1s\"");
    proj.write_migration("r1", std::nullopt,
                         "  op.execute('SELECT pg_sleep(1.5)')\n"
                         "  for row in op.query('SELECT pg_sleep(0.3) FROM generate_series(1, 3)') do end\n"
                         "  op.execute('CREATE TABLE waited (id int)')",
                         "", "wait");
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    INFO(r.describe());
    CHECK(r.status == 0);
    CHECK(db.table_exists("waited"));
  }
}

TEST_CASE("sandbox: legitimate idioms work", "[sandbox]") {
  TempDb db;
  TempProject proj;
  proj.write_config("lua_time_limit = \"10s\"\nlua_memory_limit = \"64MiB\"");
  proj.write("migrations/lib/util.lua", R"LUA(local text = require("text.slug")
local M = {}
function M.domain(email) return email:match("@(.*)$") end
M.slug = text.slug
return M
)LUA");
  proj.write("migrations/lib/text/slug.lua", R"LUA(local util = require("util")   -- a require cycle ends
local M = {}
function M.slug(s) return (s:lower():gsub("[^%w]+", "-"):gsub("^-+", ""):gsub("-+$", "")) end
return M
)LUA");
  // A stdlib module compiled into the binary, when there is one.
  std::string stdlib_check;
  for (const auto& f : luamig::embedded::files()) {
    std::string path(f.path);
    if (path.rfind("stdlib/", 0) == 0 && path.size() > 11 && path.substr(path.size() - 4) == ".lua") {
      std::string name = path.substr(7, path.size() - 11);
      for (auto& c : name)
        if (c == '/') c = '.';
      stdlib_check = "  assert(require('" + name + "') ~= nil, 'stdlib module " + name + "')\n";
      break;
    }
  }
  if (stdlib_check.empty()) WARN("no stdlib module is compiled in: the stdlib require is not exercised");
  std::string body = R"LUA(
  local util = require("util")
  assert(require("util") == util, "require caches modules")
  assert(util.domain("ann@example.com") == "example.com")
  assert(util.slug("  Hello, World!  ") == "hello-world")
  -- patterns
  local words = {}
  for w in ("the quick  brown fox"):gmatch("%a+") do words[#words + 1] = w end
  assert(#words == 4 and words[3] == "brown")
  assert(("2026-11-21"):match("^(%d+)%-(%d+)%-(%d+)$") == "2026")
  assert(("a.b.c"):find(".", 1, true) == 2)
  assert(select(2, ("aaa"):gsub("a", "b")) == 3)
  assert(("%d"):format(42) == "42" and string.format("%q", 'a"b') == '"a\\"b"')
  assert(string.format("%5.2f|%-3s|%x", 3.14159, "a", 255) == " 3.14|a  |ff")
  -- tables, sort with a comparator, closures, varargs
  local people = { { name = "b", age = 30 }, { name = "a", age = 30 }, { name = "c", age = 20 } }
  table.sort(people, function(x, y)
    if x.age ~= y.age then return x.age < y.age end
    return x.name < y.name
  end)
  assert(people[1].name == "c" and people[2].name == "a")
  local function counter() local n = 0 return function() n = n + 1 return n end end
  local c = counter(); c(); assert(c() == 2)
  local function count(...) return select("#", ...) end
  assert(count(nil, nil) == 2 and table.concat({ unpack({ "x", "y" }) }, ",") == "x,y")
  table.insert(words, 1, "first"); assert(table.remove(words, 1) == "first")
  -- errors: pcall, error tables, xpcall
  local ok, err = pcall(error, { code = 7 })
  assert(not ok and err.code == 7)
  ok, err = pcall(function() local x = nil; return x.y end)
  assert(not ok and err:find("attempt to index"))
  assert(select(2, xpcall(function() error("boom") end, function(e) return "handled: " .. e end)):find("handled"))
  -- classes with metatables
  local Point = {}
  Point.__index = Point
  Point.__tostring = function(p) return "(" .. p.x .. "," .. p.y .. ")" end
  function Point.new(x, y) return setmetatable({ x = x, y = y }, Point) end
  local p = Point.new(1, 2)
  assert(getmetatable(p) == Point and tostring(p) == "(1,2)" and string.format("%s", p) == "(1,2)")
  local hidden = setmetatable({}, { __metatable = "locked" })
  assert(getmetatable(hidden) == "locked")
  assert(getmetatable("") == false or getmetatable("") == nil)
  -- coroutines
  local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
  assert(gen() == 1 and gen() == 2)
  local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
  assert(select(2, coroutine.resume(co, 1)) == 2 and select(2, coroutine.resume(co, 5)) == 10)
  assert(coroutine.status(co) == "dead")
  -- allowed library parts
  assert(type(os.time()) == "number" and type(os.clock()) == "number" and type(os.date("%Y")) == "string")
  assert(bit.band(6, 3) == 2 and math.max(1, 5) == 5 and math.floor(2.5) == 2)
  local r = math.random(1, 10); assert(r >= 1 and r <= 10)
  assert(collectgarbage("count") > 0)
  assert(type(context) == "table" and context.revision == "r1" and context.dialect == "postgresql")
  -- a modest amount of work and memory is fine
  local t = {}
  for i = 1, 200000 do t[i] = ("user%d@example.com"):format(i):match("@(.*)$") end
  assert(#t == 200000)
  local big = string.rep("x", 8 * 2^20)
  assert(#big == 8 * 2^20)
  log.info("all idioms work")
  op.execute("CREATE TABLE idioms_ok (id int)")
)LUA";
  proj.write_migration("r1", std::nullopt, stdlib_check + body, "", "idioms");
  auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("all idioms work"));
  CHECK(db.table_exists("idioms_ok"));
}
