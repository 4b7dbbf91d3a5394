// The Lua engine driven directly, with a fake Services (no database): sandbox behaviour, limits, error
// reporting. The escape suite against the real binary and PostgreSQL is tests/integration/sandbox_test.cpp.
#include <pthread.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "luahost/engine.hpp"
#include "luahost/watchdog.hpp"

using namespace luamig::luahost;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {

struct FakeServices : Services {
  std::vector<std::string> statements;
  std::vector<std::string> logs;
  std::chrono::milliseconds execute_delay{0};
  long long execute(const std::string& sql, const std::vector<Param>&) override {
    if (execute_delay.count() > 0) std::this_thread::sleep_for(execute_delay);
    statements.push_back(sql);
    return 0;
  }
  std::unique_ptr<RowStream> query(const std::string&, const std::vector<Param>&) override {
    throw std::runtime_error("no database in unit tests");
  }
  void autocommit_block(const std::function<void()>& block) override { block(); }
  void log(const std::string&, const std::string& message) override { logs.push_back(message); }
};

// The engine needs a large stack for deep C recursion, as in luamig's main.
void on_big_stack(const std::function<void()>& fn) {
  struct Call {
    const std::function<void()>* fn;
    std::exception_ptr error;
  } call{&fn, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t{256} << 20);
  pthread_t thread;
  auto body = [](void* p) -> void* {
    auto* c = static_cast<Call*>(p);
    try {
      (*c->fn)();
    } catch (...) {
      c->error = std::current_exception();
    }
    return nullptr;
  };
  REQUIRE(pthread_create(&thread, &attr, body, &call) == 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  if (call.error) std::rethrow_exception(call.error);
}

Limits limits(std::chrono::milliseconds time = 2000ms, size_t memory = size_t{64} << 20) {
  Limits l;
  l.time = time;
  l.memory = memory;
  return l;
}

// Loads `body` as the upgrade() of a file named m.lua (body starts on line 2) and calls it; returns the
// failure (message "" when it succeeded).
ScriptFailure run(Engine& engine, const std::string& body,
                  std::optional<std::chrono::milliseconds> time = {}) {
  try {
    auto script = engine.load("m.lua", "function upgrade()\n" + body + "\nend\n");
    engine.call(script, "upgrade", {{"revision", "r1"}}, time);
    engine.unload(script);
  } catch (const ScriptError& e) {
    return e.failure;
  }
  return {};
}

ScriptFailure run(const std::string& body, Limits l = limits()) {
  FakeServices services;
  Engine engine(&services, Context{}, l);
  return run(engine, body);
}

}  // namespace

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
    auto f = run(c.code);
    CHECK(f.message.rfind(c.message, 0) == 0);
    CHECK(f.file == "m.lua");
    CHECK(f.line == 2);
  }
}

TEST_CASE("luahost: allowed library parts work", "[unit][luahost]") {
  auto f = run(R"(
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
  CHECK(run("assert(getmetatable('') == false)").message == "");
  CHECK(run("assert(getmetatable(op) == false and getmetatable(op.text('x')) == false)").message == "");
  CHECK(run("local C = {} ; local o = setmetatable({}, C) ; assert(getmetatable(o) == C)").message == "");
  CHECK(run("assert(getmetatable(setmetatable({}, { __metatable = 1 })) == 1)").message == "");
  CHECK_THAT(run("rawset(op, 'execute', print)").message, Contains("rawset: cannot change a luamig value"));
  CHECK_THAT(run("setmetatable(op.text('x'), nil)").message,
             Contains("cannot change the metatable of a luamig value"));
  CHECK_THAT(run("op.NULL_DEFAULT.x = 1").message, Contains("read-only"));
  CHECK_THAT(run("setmetatable({}, op)").message, Contains("cannot be used as a metatable"));
}

TEST_CASE("luahost: one file cannot change what the next one sees", "[unit][luahost]") {
  FakeServices services;
  Engine engine(&services, Context{}, limits());
  CHECK(run(engine, R"(
    string.upper = nil
    leaked = true
    pcall(rawset, log, "info", error)
    math.randomseed(1)
  )")
            .message == "");
  CHECK(run(engine, R"(
    assert(string.upper("a") == "A" and ("a"):upper() == "A")
    assert(leaked == nil)
    log.info("fine")
  )")
            .message == "");
  CHECK(services.logs.back() == "fine");
}

TEST_CASE("luahost: time limit stops loops even when pcall catches it", "[unit][luahost]") {
  auto started = std::chrono::steady_clock::now();
  auto f = run("while true do pcall(function() while true do end end) end", limits(300ms));
  CHECK(f.timeout);
  CHECK_THAT(f.message, Contains("time limit exceeded"));
  CHECK(f.file == "m.lua");
  CHECK(f.line == 2);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("luahost: the engine stays usable after a timeout or memory error", "[unit][luahost]") {
  FakeServices services;
  Engine engine(&services, Context{}, limits(300ms, size_t{8} << 20));
  CHECK(run(engine, "while true do end").timeout);
  CHECK(run(engine, "op.execute('SELECT 1')").message == "");
  auto m = run(engine, "local t = {} for i = 1, 1e9 do t[i] = i end");
  CHECK(m.memory);
  CHECK_THAT(m.message, Contains("memory limit exceeded"));
  CHECK_THAT(m.message, Contains("8 MiB"));
  CHECK(run(engine, "op.execute('SELECT 2')").message == "");
  CHECK(services.statements == std::vector<std::string>{"SELECT 1", "SELECT 2"});
}

TEST_CASE("luahost: memory errors cannot be swallowed", "[unit][luahost]") {
  auto f = run("for i = 1, 100 do pcall(string.rep, 'x', 2^30) end", limits(5000ms, size_t{32} << 20));
  CHECK(f.memory);
  auto g = run("local t = {} while true do pcall(function() t[#t + 1] = ('x'):rep(2^20) .. #t end) end",
               limits(5000ms, size_t{32} << 20));
  CHECK(g.memory);
  CHECK(g.line == 2);
}

TEST_CASE("luahost: garbage does not count against the memory limit", "[unit][luahost]") {
  auto f = run(R"(
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
  CHECK(run(engine, "for i = 1, 4 do op.execute('SELECT pg_sleep(0.2)') end").message == "");
  CHECK(services.statements.size() == 4);
}

TEST_CASE("luahost: a per-call time limit overrides the default", "[unit][luahost]") {
  FakeServices services;
  Engine engine(&services, Context{}, limits(200ms));
  // os.clock() is CPU time and the limit is wall time: the per-call limit leaves room for a loaded machine.
  CHECK(run(engine, "local t = os.clock() while os.clock() - t < 0.4 do end", 20000ms).message == "");
  CHECK(run(engine, "local t = os.clock() while os.clock() - t < 0.4 do end").timeout);
}

TEST_CASE("luahost: hostile error objects", "[unit][luahost]") {
  CHECK(run("error({ code = 1 })").message == "(error object is a table value)");
  CHECK_THAT(run("error(setmetatable({}, { __tostring = function() error('no') end }))").message,
             Contains("whose __tostring failed"));
  auto loops =
      run("error(setmetatable({}, { __tostring = function() while true do end end }))", limits(5000ms));
  CHECK_THAT(loops.message, Contains("whose __tostring did not finish"));
  CHECK_FALSE(loops.timeout);
  CHECK(run("error(setmetatable({}, { __tostring = function() return 'custom' end }))").message == "custom");
  CHECK_THAT(run("error(string.rep('x', 100000))").message, Contains("more bytes)"));
  CHECK_THAT(run("error()").message, Contains("without a message"));
}

TEST_CASE("luahost: error positions", "[unit][luahost]") {
  // error(msg, 2) blames the caller; an error raised inside a coroutine keeps its own line.
  auto caller = run("local function check(x) if not x then error('x is required', 2) end end\n\ncheck(nil)");
  CHECK(caller.message == "x is required");
  CHECK(caller.line == 4);
  auto in_coroutine = run("local co = coroutine.wrap(function()\n  error('inside')\nend)\nco()");
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
      auto f = run(code, limits(20000ms, size_t{256} << 20));
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
  CHECK(run(engine, R"(
    assert(op.types.integer.generic == "integer")
    op.create_table("t", { "id", op.types.integer }, { "name", op.types.string(20) })
  )")
            .message == "");
  REQUIRE(services.statements.size() == 1);
  CHECK_THAT(services.statements[0], Contains("varchar(20)"));
  CHECK_THAT(run(engine, "op.types.integer.generic = 'text'").message, Contains("read-only"));
  CHECK_THAT(run(engine, "op.types.integer = 'text'").message, Contains("read-only"));
  CHECK_THAT(run(engine, "rawset(op.types, 'integer', 'text')").message,
             Contains("cannot change a luamig value"));
  CHECK(run(engine, "assert(op.types.integer.generic == 'integer')").message == "");
}
