#pragma once
// When and how the run calls the environment's hooks (runner/hooks.hpp): the Lua values they receive (step,
// err, ctx) and the transactions around before_run, after_run and on_error.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "graph/plan.hpp"
#include "luahost/value.hpp"
#include "runner/hooks.hpp"
#include "runner/services.hpp"
#include "util/failure.hpp"

namespace luamig::runner {

const char* direction_name(graph::Direction d);

// `step` of before_migration/after_migration/on_error.
luahost::Value step_value(const std::vector<graph::Step>& steps, size_t index,
                          std::optional<long long> duration_ms);
// `err` of on_error(step, err, ctx): what failed, where, and the database's view of it.
luahost::Value error_value(const Failure& failure);

// What every hook's `ctx` says about the command.
struct RunFacts {
  graph::Direction direction = graph::Direction::Up;
  std::string environment, database, target;
  std::set<std::string> start_heads;
  std::map<std::string, std::string> x;
};
// ctx of every hook: the command, environment, database, where the run starts and ends, and its steps.
luahost::Value run_context(const RunFacts& facts, const std::vector<graph::Step>& steps,
                           const std::set<std::string>& to, std::optional<long long> duration_ms);

class HookCalls {
 public:
  HookCalls(Hooks& hooks, db::Connection& conn, RunServices& services)
      : hooks_(hooks), conn_(conn), services_(services) {}

  // Runs `body` in a transaction of its own, or inside the one already open (the whole command's, a dry
  // run's). A HookError rolls it back and ends the run: thrown as a RunError whose report is the hook failure
  // with `consequence`. A stop in the middle is rethrown as it came (migrate() tells it as a stop).
  void in_hook_transaction(const std::function<void()>& body, const std::string& consequence);

  // Each file's on_error in a transaction of its own; its failure is printed at once and does not hide the
  // revision's error.
  void call_on_error(const luahost::Value& step, const Failure& failure, const luahost::Value& ctx);

 private:
  Hooks& hooks_;
  db::Connection& conn_;
  RunServices& services_;
};
}  // namespace luamig::runner
