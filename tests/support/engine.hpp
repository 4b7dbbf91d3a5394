// The Lua engine and the runner in process, without a server: the one set-up of the unit tests that need a
// Lua engine (and of the in-process plan tests).
//
//   FakeServices services;                                  // records statements, parameters and log lines
//   on_big_stack([&] {                                      // the engine needs a large C stack
//     Engine engine(&services, Context{}, limits(300ms));   // time limit, memory limit (64 MiB)
//     ScriptFailure f = upgrade_failure(engine, "  op.execute('SELECT 1')");   // m.lua, body from line 2
//     call_upgrade(engine, "b.lua", "op.execute('SELECT 2')", "r");   // throws what the call throws
//   });
//   auto project = runner::Project::open(project_options(proj, "postgresql://u@localhost/db"));
//
// The run loop's recording connection (a db::Connection with no server) is recording_connection.hpp.
#pragma once

#include <pthread.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "db/registry.hpp"
#include "dialect/dialect.hpp"
#include "luahost/engine.hpp"
#include "support/project.hpp"
#include "util/error.hpp"

namespace luamig::test {

// luahost::Services with no database behind it: records what the engine asks for.
struct FakeServices : luahost::Services {
  std::vector<std::string> statements;         // SQL of each execute(), in order
  std::vector<std::vector<Param>> params;      // the parameters of each execute()
  std::vector<std::string> logs;               // each log() message
  std::vector<std::vector<Param>> arrays;      // the values of each array_literal()
  long long rows_affected = 0;                 // what execute() returns (-1: unknown, as offline)
  std::chrono::milliseconds execute_delay{0};  // execute() sleeps this long first
  // array_literal() renders with this dialect; nullptr: refused (luahost::Services' default).
  const dialect::Dialect* dialect = nullptr;

  long long execute(const std::string& sql, const std::vector<Param>& p) override {
    if (execute_delay.count() > 0) std::this_thread::sleep_for(execute_delay);
    statements.push_back(sql);
    params.push_back(p);
    return rows_affected;
  }
  std::unique_ptr<RowStream> query(const std::string&, const std::vector<Param>&) override {
    throw RunError("no database in unit tests");
  }
  void autocommit_block(const std::function<void()>& block) override { block(); }
  void log(const std::string&, const std::string& message) override { logs.push_back(message); }
  std::string array_literal(const std::vector<Param>& values) override {
    arrays.push_back(values);
    if (!dialect) return Services::array_literal(values);
    return dialect->array_literal(values);
  }
};

// Runs fn on a thread with a `stack_bytes` C stack (the engine needs a large one for deep C recursion, as in
// luamig's main); rethrows what fn throws (Catch2's assertions included).
inline void on_big_stack(const std::function<void()>& fn, size_t stack_bytes = size_t{256} << 20) {
  struct Call {
    const std::function<void()>* fn;
    std::exception_ptr error;
  } call{&fn, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
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

inline luahost::Limits limits(std::chrono::milliseconds time = std::chrono::milliseconds(2000),
                              size_t memory = size_t{64} << 20) {
  luahost::Limits l;
  l.time = time;
  l.memory = memory;
  return l;
}

// The engine context of database `name` (its dialect and renderer, from the registry).
inline luahost::Context context_for(const std::string& name) {
  luahost::Context c;
  c.dialect = name;
  c.renderer = std::string(db::database(name).renderer);
  return c;
}

// The source of a file whose upgrade() is `body`: the body starts on line 2.
inline std::string upgrade_source(const std::string& body) {
  return "function upgrade()\n" + body + "\nend\n";
}

// Loads upgrade_source(body) as `path`, calls upgrade() with revision `revision` (and the per-call time
// limit `time`, if given) and unloads it; exceptions propagate.
inline void call_upgrade(luahost::Engine& engine, const std::string& path, const std::string& body,
                         const std::string& revision = "r1",
                         std::optional<std::chrono::milliseconds> time = {}) {
  auto script = engine.load(path, upgrade_source(body));
  engine.call(script, "upgrade", {{"revision", revision}}, time);
  engine.unload(script);
}

// call_upgrade of m.lua as revision r1; the ScriptError's failure (message "" when it succeeded).
inline luahost::ScriptFailure upgrade_failure(luahost::Engine& engine, const std::string& body,
                                              std::optional<std::chrono::milliseconds> time = {}) {
  try {
    call_upgrade(engine, "m.lua", body, "r1", time);
  } catch (const luahost::ScriptError& e) {
    return e.failure;
  }
  return {};
}

// upgrade_failure on a fresh engine (FakeServices, default Context) with limits `l`.
inline luahost::ScriptFailure upgrade_failure(const std::string& body, luahost::Limits l = limits()) {
  FakeServices services;
  luahost::Engine engine(&services, luahost::Context{}, l);
  return upgrade_failure(engine, body);
}

// Global options that open `proj` (its luamig.lua) against `url`, quietly, as the runner's tests use them.
inline config::GlobalOptions project_options(const TempProject& proj, const std::string& url) {
  config::GlobalOptions opts;
  opts.config_path = proj.path("luamig.lua").string();
  opts.url = url;
  opts.quiet = true;
  return opts;
}

}  // namespace luamig::test
