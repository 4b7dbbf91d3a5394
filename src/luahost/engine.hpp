#pragma once
// The Lua side of luamig: one lua_State per command, migration files each in a fresh sandboxed environment.
// Only luahost/ includes Lua headers.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "luahost/plan.hpp"
#include "luahost/services.hpp"
#include "luahost/value.hpp"

struct lua_State;

namespace luamig::luahost {

// What sandboxed code may use. Every load() and call() runs under them:
// - time: Lua execution time per load()/call(); time spent waiting on the database (op.execute, queries,
// commits)
//   does not count. On expiry the call fails with ScriptFailure::timeout, even if the script catches errors
//   with pcall. Work stuck inside one C function (a backtracking pattern) cannot be interrupted: a watchdog
//   ends the process with exit status 1 after the deadline plus watchdog_grace(time) (see watchdog.hpp).
// - memory: bytes the Lua state may hold (live data, after a collection). Exceeding it fails the call with
//   ScriptFailure::memory; a single allocation past memory + 1/8 is refused outright.
// - deep recursion (Lua calls, or C recursion such as gsub callbacks, sort comparators, __tostring, nested
//   coroutines) fails the call with "stack overflow: ...". REQUIRES: the engine runs on a thread with a large
//   stack (luamig's main uses 256 MiB): C recursion is stopped when a quarter of the stack (at most 32 MiB)
//   is left.
struct Limits {
  std::chrono::milliseconds time{60000};  // Lua execution time per call; 0 = none
  size_t memory = size_t{512} << 20;      // bytes the Lua state may hold; 0 = none
};

// Read-only values a migration sees as `context`.
struct Context {
  std::string environment;
  std::string dialect = "postgresql";
  // The renderer module, lua/dialect/<renderer>.lua ("" = the dialect's name): db/registry.hpp gives it.
  std::string renderer;
  std::map<std::string, std::string> x;
  bool offline = false;
};

// A failure inside Lua code, with where it happened.
// (message without position, file "" if only engine code, line, traceback, SQL details when a statement
// failed, timeout/memory: one Failure value, util/failure.hpp)
using ScriptFailure = luamig::Failure;

class ScriptError : public Error {
 public:
  explicit ScriptError(ScriptFailure f) : Error(as_script(std::move(f))) {}

 private:
  static ScriptFailure as_script(ScriptFailure f) {
    f.kind = FailureKind::Script;
    return f;
  }
};

namespace detail {
struct EngineState;
}

// A loaded migration or hooks file: a move-only handle on its environment, which lives in the engine's
// registry until Engine::unload() or the handle's destruction (whichever comes first; after the engine is
// gone, nothing).
class Script {
 public:
  Script(Script&& other) noexcept;
  Script& operator=(Script&& other) noexcept;
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;
  ~Script();

  const std::string& path() const { return path_; }
  bool has_function(const std::string& name) const;
  // The line where global function `name` was defined (0 when it is not a Lua function).
  int function_line(const std::string& name) const;
  // A global the file set (after load), copied out; Value nil when absent.
  Value global(const std::string& name) const;

 private:
  friend class Engine;
  Script(std::weak_ptr<detail::EngineState> engine, std::string path, int env_ref);
  void release();
  lua_State* state() const;  // throws RunError once unloaded
  std::weak_ptr<detail::EngineState> engine_;
  std::string path_;
  int env_ref_;
};

class Engine {
 public:
  // `services` must outlive the engine. `project_lib_dir` is <script_location>/lib ("" for none).
  Engine(Services* services, Context context, Limits limits, std::string project_lib_dir = "");
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Compiles `source` (text only, never bytecode) and runs its top level in a fresh sandbox environment
  // (lua/sandbox.lua: what a migration may use). Throws ScriptError (syntax errors name file:line).
  // `time_limit` overrides Limits::time for this call (a file's own `time_limit` applies to call(), read by
  // the caller after load() with Script::global).
  Script load(const std::string& path, const std::string& source,
              const std::optional<std::chrono::milliseconds>& time_limit = {});
  // Calls a global function of the script with string arguments... and per-call context values
  // (revision ids, direction). Throws ScriptError.
  void call(const Script& script, const std::string& function,
            const std::map<std::string, std::string>& call_context,
            const std::optional<std::chrono::milliseconds>& time_limit = {});
  // Calls a hook function with Lua values built by `push_args` (a list of Values). Throws ScriptError.
  void call_with(const Script& script, const std::string& function, const std::vector<Value>& args,
                 const std::optional<std::chrono::milliseconds>& time_limit = {});
  // The recorded plan of the last load(), call() or call_with(): every op it made, with the SQL each rendered
  // to and file:line (luahost/plan.hpp). Kept after a failed call (up to the failing op); valid until the
  // next load or call. Throws RunError if the engine's own Lua fails.
  Plan plan();
  // Names what runs next, e.g. "upgrade of revision ab12 (add users)", for the message the watchdog prints if
  // it has to end the process (the file is the script being run). unload() clears it.
  void set_activity(std::string what);
  // Releases a script's environment.
  void unload(Script& script);
  const Limits& limits() const { return limits_; }

 private:
  friend class Script;
  std::shared_ptr<detail::EngineState> impl_;
  Limits limits_;
};

// Checks that `source` compiles as Lua text; throws ScriptError naming path:line on a syntax error.
void check_syntax(const std::string& path, const std::string& source);

// Runs the top level of a migration file whose header is not plain literals, in the migrations' sandbox (10
// s, the default memory limit) and without a database (op calls fail), and returns its header values:
// revision, down_revision, branch_labels, depends_on (as the file set them) and upgrade, downgrade (true when
// defined as functions). Throws ScriptError.
Value eval_revision_header(const std::string& path, const std::string& source);

// Evaluates a config file (luamig.lua) in a restricted environment that offers env(name, default), string,
// table, math, tostring, tonumber, type, pairs, ipairs; returns its globals. Runs under `limits` as a
// migration does (time limit with the watchdog behind it, memory limit): an endless loop or a memory bomb
// fails with ScriptFailure::timeout/memory naming the file and line. Throws ScriptError.
Value eval_config(const std::string& path, const std::string& source, const Limits& limits = Limits{});
// While on, env(NAME) without a default returns kUnsetEnvMark followed by NAME instead of nil when NAME is
// unset or empty: a second evaluation of the config then shows which settings an unset variable left out.
inline constexpr char kUnsetEnvMark[] = "\x01luamig-unset-env:";
void mark_unset_env(bool on);
// Makes every engine's running Lua code fail with "interrupted" at its next count-hook check (within ~1000 VM
// instructions; not inside a long C function). Callable from any thread. Sticky until clear_interrupt().
void request_interrupt();
void clear_interrupt();
}  // namespace luamig::luahost
