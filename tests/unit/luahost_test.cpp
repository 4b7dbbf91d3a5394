// The Lua engine driven directly, with a fake Services (no database): sandbox behaviour, limits, error
// reporting. The escape suite against the real binary and PostgreSQL is tests/integration/sandbox_test.cpp.
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "luahost/engine.hpp"
#include "luahost/watchdog.hpp"
#include "support/engine.hpp"

using namespace luamig::luahost;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;
using luamig::test::FakeServices;
using luamig::test::limits;
using luamig::test::on_big_stack;
using luamig::test::upgrade_failure;

TEST_CASE("luahost: refusals name what was refused and where", "[unit][luahost]") {
  struct Case {
    const char* code;
    const char* message;
  };
  for (auto c :
       {Case{"io.open('/etc/passwd')", "io.open is not available in migrations"},
        Case{"os.execute('true')", "os.execute is not available in migrations"},
        Case{"os.getenv('HOME')", "os.getenv is not available in migrations"},
        Case{"debug.getregistry()", "debug.getregistry is not available in migrations"},
        Case{"jit.off()", "jit.off is not available in migrations"},
        Case{"ffi.cdef''", "ffi.cdef is not available in migrations"},
        Case{"package.loadlib('x', 'y')", "package.loadlib is not available in migrations"},
        Case{"load('return 1')", "load is not available in migrations"},
        Case{"loadstring('return 1')", "loadstring is not available in migrations"},
        Case{"dofile('x')", "dofile is not available in migrations"},
        Case{"loadfile('x')", "loadfile is not available in migrations"},
        Case{"getfenv(1)", "getfenv is not available in migrations"},
        Case{"setfenv(op.execute, {})", "setfenv is not available in migrations"},
        Case{"newproxy(true)", "newproxy is not available in migrations"},
        Case{"module('m')", "module is not available in migrations"},
        Case{"string.dump(print)", "string.dump is not available in migrations"},
        Case{"local d = ('').dump; d(print)", "string.dump is not available in migrations"},
        Case{"collectgarbage('collect')", "collectgarbage(\"collect\") is not available in migrations"},
        Case{"require('ffi')", "module 'ffi' is not available in migrations"}}) {
    INFO(c.code);
    auto f = upgrade_failure(c.code);
    CHECK(f.message.rfind(c.message, 0) == 0);
    CHECK(f.file == "m.lua");
    CHECK(f.line == 2);
  }
}

TEST_CASE("luahost: allowed library parts work", "[unit][luahost]") {
  auto f = upgrade_failure(R"(
    assert(type(os.time()) == "number" and type(os.clock()) == "number" and os.date("%Y") ~= nil)
    assert(collectgarbage("count") > 0)
    assert(bit.bor(1, 2) == 3 and math.sqrt(16) == 4 and string.rep("ab", 2) == "abab")
    assert(table.concat({ 1, 2 }, ",") == "1,2")
    local co = coroutine.wrap(function() coroutine.yield(1) return 2 end)
    assert(co() == 1 and co() == 2)
    assert(context.revision == "r1")
    print("hello", 1, nil)
  )");
  CHECK(f.message == "");
}

TEST_CASE("luahost: metatables of engine values stay hidden", "[unit][luahost]") {
  CHECK(upgrade_failure("assert(getmetatable('') == false)").message == "");
  CHECK(
      upgrade_failure("assert(getmetatable(op) == false and getmetatable(op.text('x')) == false)").message ==
      "");
  CHECK(upgrade_failure("local C = {} ; local o = setmetatable({}, C) ; assert(getmetatable(o) == C)")
            .message == "");
  CHECK(upgrade_failure("assert(getmetatable(setmetatable({}, { __metatable = 1 })) == 1)").message == "");
  CHECK_THAT(upgrade_failure("rawset(op, 'execute', print)").message,
             Contains("rawset: cannot change a luamig value"));
  CHECK_THAT(upgrade_failure("setmetatable(op.text('x'), nil)").message,
             Contains("cannot change the metatable of a luamig value"));
  CHECK_THAT(upgrade_failure("op.NULL_DEFAULT.x = 1").message, Contains("read-only"));
  CHECK_THAT(upgrade_failure("setmetatable({}, op)").message, Contains("cannot be used as a metatable"));
}

TEST_CASE("luahost: one file cannot change what the next one sees", "[unit][luahost]") {
  FakeServices services;
  Engine engine(&services, Context{}, limits());
  CHECK(upgrade_failure(engine, R"(
    string.upper = nil
    leaked = true
    pcall(rawset, log, "info", error)
    math.randomseed(1)
  )")
            .message == "");
  CHECK(upgrade_failure(engine, R"(
    assert(string.upper("a") == "A" and ("a"):upper() == "A")
    assert(leaked == nil)
    log.info("fine")
  )")
            .message == "");
  CHECK(services.logs.back() == "fine");
}

TEST_CASE("luahost: time limit stops loops even when pcall catches it", "[unit][luahost]") {
  auto started = std::chrono::steady_clock::now();
  auto f = upgrade_failure("while true do pcall(function() while true do end end) end", limits(300ms));
  CHECK(f.timeout);
  CHECK_THAT(f.message, Contains("time limit exceeded"));
  CHECK(f.file == "m.lua");
  CHECK(f.line == 2);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("luahost: the engine stays usable after a timeout or memory error", "[unit][luahost]") {
  FakeServices services;
  Engine engine(&services, Context{}, limits(300ms, size_t{8} << 20));
  CHECK(upgrade_failure(engine, "while true do end").timeout);
  CHECK(upgrade_failure(engine, "op.execute('SELECT 1')").message == "");
  auto m = upgrade_failure(engine, "local t = {} for i = 1, 1e9 do t[i] = i end");
  CHECK(m.memory);
  CHECK_THAT(m.message, Contains("memory limit exceeded"));
  CHECK_THAT(m.message, Contains("8 MiB"));
  CHECK(upgrade_failure(engine, "op.execute('SELECT 2')").message == "");
  CHECK(services.statements == std::vector<std::string>{"SELECT 1", "SELECT 2"});
}

TEST_CASE("luahost: memory errors cannot be swallowed", "[unit][luahost]") {
  auto f =
      upgrade_failure("for i = 1, 100 do pcall(string.rep, 'x', 2^30) end", limits(5000ms, size_t{32} << 20));
  CHECK(f.memory);
  auto g = upgrade_failure(
      "local t = {} while true do pcall(function() t[#t + 1] = ('x'):rep(2^20) .. #t end) end",
      limits(5000ms, size_t{32} << 20));
  CHECK(g.memory);
  CHECK(g.line == 2);
}

TEST_CASE("luahost: garbage does not count against the memory limit", "[unit][luahost]") {
  auto f = upgrade_failure(R"(
    local live = {}
    for i = 1, 40 do live[i] = string.rep(string.char(64 + i % 26), 2^20) end
    for i = 1, 500 do local garbage = string.rep("y", 2^20) .. i end
  )",
                           limits(10000ms, size_t{64} << 20));
  CHECK(f.message == "");
}

TEST_CASE("luahost: database time does not count against the time limit", "[unit][luahost]") {
  FakeServices services;
  services.execute_delay = 200ms;
  Engine engine(&services, Context{}, limits(300ms));
  CHECK(upgrade_failure(engine, "for i = 1, 4 do op.execute('SELECT pg_sleep(0.2)') end").message == "");
  CHECK(services.statements.size() == 4);
}

TEST_CASE("luahost: a per-call time limit overrides the default", "[unit][luahost]") {
  FakeServices services;
  Engine engine(&services, Context{}, limits(200ms));
  // os.clock() is CPU time and the limit is wall time: the per-call limit leaves room for a loaded machine.
  CHECK(upgrade_failure(engine, "local t = os.clock() while os.clock() - t < 0.4 do end", 20000ms).message ==
        "");
  CHECK(upgrade_failure(engine, "local t = os.clock() while os.clock() - t < 0.4 do end").timeout);
}

TEST_CASE("luahost: hostile error objects", "[unit][luahost]") {
  CHECK(upgrade_failure("error({ code = 1 })").message == "(error object is a table value)");
  CHECK_THAT(upgrade_failure("error(setmetatable({}, { __tostring = function() error('no') end }))").message,
             Contains("whose __tostring failed"));
  auto loops = upgrade_failure("error(setmetatable({}, { __tostring = function() while true do end end }))",
                               limits(5000ms));
  CHECK_THAT(loops.message, Contains("whose __tostring did not finish"));
  CHECK_FALSE(loops.timeout);
  CHECK(upgrade_failure("error(setmetatable({}, { __tostring = function() return 'custom' end }))").message ==
        "custom");
  CHECK_THAT(upgrade_failure("error(string.rep('x', 100000))").message, Contains("more bytes)"));
  CHECK_THAT(upgrade_failure("error()").message, Contains("without a message"));
}

TEST_CASE("luahost: error positions", "[unit][luahost]") {
  // error(msg, 2) blames the caller; an error raised inside a coroutine keeps its own line.
  auto caller = upgrade_failure(
      "local function check(x) if not x then error('x is required', 2) end end\n\ncheck(nil)");
  CHECK(caller.message == "x is required");
  CHECK(caller.line == 4);
  auto in_coroutine = upgrade_failure("local co = coroutine.wrap(function()\n  error('inside')\nend)\nco()");
  CHECK(in_coroutine.message == "inside");
  CHECK(in_coroutine.line == 3);
}

TEST_CASE("luahost: deep recursion of every kind gives an error", "[unit][luahost]") {
  on_big_stack([] {
    for (const char* code : {
             "local function f() return 1 + f() end f()",
             "local function f(s) return (s:gsub('.', f)) end f('ab')",
             "local function c(a, b) table.sort({ 3, 2, 1 }, c) return a < b end table.sort({ 3, 2, 1 }, c)",
             "local t = setmetatable({}, { __tostring = function(s) return string.format('%s', s) end }) "
             "local _ = string.format('%s', t)",
             "local function f() local r = coroutine.wrap(f)() return r end f()",
             "local f f = function(s, d) if d % 1000 == 0 then coroutine.wrap(function() f(s, d + 1) end)() "
             "else s:gsub('.', function() f(s, d + 1) end) end end f('a', 1)",
         }) {
      INFO(code);
      auto f = upgrade_failure(code, limits(20000ms, size_t{256} << 20));
      CHECK_FALSE(f.message.empty());
      CHECK((f.message.find("stack overflow") != std::string::npos ||
             f.message.find("nested too deeply") != std::string::npos));
      CHECK(f.file == "m.lua");
    }
  });
}

TEST_CASE("luahost: values copied out of Lua are bounded", "[unit][luahost]") {
  FakeServices services;
  Engine engine(&services, Context{}, limits());
  // Each level refers to the previous one four times: a naive copy would make 4^30 values.
  auto script = engine.load("m.lua", "local t = {} for i = 1, 30 do t = { t, t, t, t } end revision = t");
  auto started = std::chrono::steady_clock::now();
  auto v = script.global("revision");
  CHECK(v.is_table());
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("luahost: watchdog grace and message", "[unit][luahost]") {
  CHECK(watchdog_grace(1000ms) == 2000ms);
  CHECK(watchdog_grace(60000ms) == 6000ms);
  CHECK(watchdog_grace(3600000ms) == 30000ms);
  Watchdog w;
  w.set_activity("upgrade of revision ab12 (add users)");
  w.set_file("migrations/versions/ab12_add_users.lua");
  w.arm(std::chrono::steady_clock::now() + 3600s, 1000ms);
  CHECK(w.armed());
  auto text = w.message(2000ms);
  CHECK_THAT(
      text,
      Contains("ERROR: upgrade of revision ab12 (add users) failed: time limit exceeded in a C function"));
  CHECK_THAT(text, Contains("at migrations/versions/ab12_add_users.lua"));
  CHECK_THAT(text, Contains("2.00 s after its limit of 1.00 s"));
  w.disarm();
  CHECK_FALSE(w.armed());
}

TEST_CASE("luahost: tables hung on op are sealed and still work", "[unit][luahost]") {
  FakeServices services;
  Engine engine(&services, Context{}, limits());
  CHECK(upgrade_failure(engine, R"(
    assert(op.types.integer.generic == "integer")
    op.create_table("t", { "id", op.types.integer }, { "name", op.types.string(20) })
  )")
            .message == "");
  REQUIRE(services.statements.size() == 1);
  CHECK_THAT(services.statements[0], Contains("varchar(20)"));
  CHECK_THAT(upgrade_failure(engine, "op.types.integer.generic = 'text'").message, Contains("read-only"));
  CHECK_THAT(upgrade_failure(engine, "op.types.integer = 'text'").message, Contains("read-only"));
  CHECK_THAT(upgrade_failure(engine, "rawset(op.types, 'integer', 'text')").message,
             Contains("cannot change a luamig value"));
  CHECK(upgrade_failure(engine, "assert(op.types.integer.generic == 'integer')").message == "");
}
