// What the sandbox and its limits cost (hidden: run with `luamig_tests "[.bench]"`).
// The same Lua loops run in the engine (sandboxed, JIT engine off, count hook with deadline, memory and stack
// checks) and in the stock `luajit` interpreter with the JIT off and on, best of 5 runs each, in CPU time.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "luahost/engine.hpp"
#include "support/engine.hpp"
#include "support/project.hpp"
#include "support/run.hpp"

using namespace luamig::luahost;

namespace {

// Each workload is a function body returning a checksum.
const char kBackfillLoop[] = R"(
  local emails = {}
  for i = 1, 1000 do emails[i] = "user" .. i .. "@example" .. (i % 17) .. ".com" end
  local n = 0
  for i = 1, 1000000 do
    local domain = emails[i % 1000 + 1]:match("@(.*)$")
    if domain then n = n + #domain end
  end
  return n
)";

const char kArithmeticLoop[] = R"(
  local n = 0
  for i = 1, 20000000 do n = (n + i * 7) % 1000003 end
  return n
)";

// CPU time, as os.clock() measures it in the luajit runs: other processes sharing the cores do not count.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double engine_seconds(const std::string& body) {
  double best = 1e9;
  for (int run = 0; run < 5; ++run) {
    luamig::test::FakeServices services;
    Limits limits;  // the defaults: 60 s, 512 MiB
    Engine engine(&services, Context{}, limits);
    auto script = engine.load("bench.lua", luamig::test::upgrade_source(body));
    double t0 = thread_cpu_seconds();
    engine.call(script, "upgrade", {});
    best = std::min(best, thread_cpu_seconds() - t0);
  }
  return best;
}

// Runs the loop in the luajit CLI; the script times itself with os.clock.
double luajit_seconds(const std::string& body, bool jit) {
  luamig::test::TempProject dir;
  auto path =
      dir.write("bench.lua", "local function work()\n" + body +
                                 "\nend\nlocal best = 1e9\nfor r = 1, 5 do local t = os.clock() work() "
                                 "best = math.min(best, os.clock() - t) end\nio.write(best)\n");
  std::vector<std::string> argv = {"luajit"};
  if (!jit) argv.push_back("-joff");
  argv.push_back(path.string());
  auto r = luamig::test::run(argv);
  REQUIRE(r.ok());
  return std::stod(r.out);
}

}  // namespace

TEST_CASE("luahost bench: cost of the sandbox and limits", "[.bench]") {
  for (auto [name, body] : {std::pair{"backfill-style email:match(\"@(.*)$\"), 1M rows", kBackfillLoop},
                            std::pair{"tight arithmetic, 20M iterations", kArithmeticLoop}}) {
    double sandboxed = engine_seconds(body);
    double interpreter = luajit_seconds(body, false);
    double jit = luajit_seconds(body, true);
    std::printf(
        "%s\n  sandboxed engine (JIT off, hook, limits): %.3f s\n  luajit -joff: %.3f s (sandbox cost "
        "%+.1f%%)\n"
        "  luajit (JIT on): %.3f s (sandbox cost vs JIT %+.1f%%)\n",
        name, sandboxed, interpreter, (sandboxed / interpreter - 1) * 100, jit, (sandboxed / jit - 1) * 100);
  }
}
