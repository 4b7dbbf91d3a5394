// luamig.progress (stdlib/luamig/progress.lua), driven in a plain LuaJIT state with a fake clock and a
// recording output: what is drawn, when, and with which fields.
#include <catch2/catch.hpp>
#include <lua.hpp>
#include <string>

#include "luahost/embedded.hpp"
#include "support/lua_state.hpp"

namespace {
// Runs `script` with the module as `progress`, a settable clock `t` and the emitted lines in `out` (transient
// ones prefixed "~ ", the end of a live line as "<end>"); returns out joined by newlines.
std::string drive(const std::string& script) {
  const std::string mod = luamig::test::embedded_source("stdlib/luamig/progress.lua");
  luamig::test::BareLua lua;
  std::string prelude = R"(
local src = ...
local progress = assert(loadstring(src, "=progress"))()
t = 0
local out = {}
local function clock() return t end
local function emit(text, transient)
  if text == nil then out[#out + 1] = "<end>" else out[#out + 1] = (transient and "~ " or "") .. text end
end
)";
  std::string epilogue = "\nreturn table.concat(out, '\\n')\n";
  std::string code = prelude + script + epilogue;
  auto r = lua.call(code, "=test", [&](lua_State* L) {
    lua_pushlstring(L, mod.data(), mod.size());
    return 1;
  });
  INFO(r.value);
  REQUIRE(r.ok);
  return r.value;
}
}  // namespace

TEST_CASE("progress off a terminal: a line every interval seconds with rows, total, rate and ETA", "[unit]") {
  auto out = drive(R"(
local m = progress.new{ label = "backfill users", total = 40000, terminal = false, clock = clock, emit = emit }
t = 1; m:update(1000, 1)    -- too soon: nothing
t = 5; m:update(10000, 10)  -- 5 s: a line
t = 6; m:update(12000, 12)  -- nothing
t = 10; m:update(20000, 20) -- a line
m:finish()                  -- nothing off a terminal
)");
  CHECK(out ==
        "backfill users: 10,000 rows in 10 batches, 25% of 40,000, 2,000 rows/s, ETA 15s\n"
        "backfill users: 20,000 rows in 20 batches, 50% of 40,000, 2,000 rows/s, ETA 10s");
}

TEST_CASE("progress off a terminal also reports every N batches when asked", "[unit]") {
  auto out = drive(R"(
local m = progress.new{ label = "copy", terminal = false, every = 10, clock = clock, emit = emit }
t = 0.5; m:update(500, 5)
t = 1; m:update(1000, 10)
t = 1.5; m:update(1500, 15)
t = 2; m:update(2200, 22)
)");
  CHECK(out ==
        "copy: 1,000 rows in 10 batches, 1,000 rows/s\n"
        "copy: 2,200 rows in 22 batches, 1,100 rows/s");
}

TEST_CASE("progress on a terminal: a live bar, redrawn at most every refresh, ended by finish", "[unit]") {
  auto out = drive(R"(
local m = progress.new{ label = "backfill t", total = 1000, estimated = true, terminal = true, clock = clock,
  emit = emit, width = 10 }
t = 0.05; m:update(100, 1)   -- first draw at once
t = 0.08; m:update(150, 2)   -- within refresh: skipped
t = 1; m:update(500, 5)
m:finish()
)");
  CHECK(out ==
        "~ backfill t [#.........] 100 / ~1,000 rows (10%), 2,000 rows/s, ETA 0s\n"
        "~ backfill t [#####.....] 500 / ~1,000 rows (50%), 500 rows/s, ETA 1s\n"
        "<end>");
}

TEST_CASE("progress without a total, and an estimate the work outgrew, shows no percentage or ETA",
          "[unit]") {
  auto out = drive(R"(
local m = progress.new{ label = "b", terminal = true, clock = clock, emit = emit }
t = 2; m:update(4000, 4)
local e = progress.new{ label = "c", total = 100, estimated = true, terminal = false, interval = 1, clock = clock,
  emit = emit }
t = 4; e:update(500, 5)
print(progress.format_seconds(59), progress.format_seconds(61), progress.format_seconds(3700))
assert(progress.format_seconds(61) == "1m01s" and progress.format_seconds(3700) == "1h01m")
assert(progress.format_count(1234567) == "1,234,567" and progress.format_count(999) == "999")
)");
  CHECK(out ==
        "~ b 4,000 rows, 2,000 rows/s\n"
        "c: 500 rows in 5 batches, 250 rows/s");
}
