#pragma once
// Hooks: project Lua files, run in the same sandbox as migrations (op, context, log, require), that may
// define
//   before_run(ctx)               once per command, after the plan, in a transaction of its own
//   before_migration(step, ctx)   inside each revision's transaction, before upgrade()/downgrade()
//   after_migration(step, ctx)    inside each revision's transaction, after the version-table update
//   after_run(ctx)                once per command, after the last revision committed, in its own transaction
//   on_error(step, err, ctx)      after a failed revision was rolled back, in a transaction of its own per
//   file
// Files are called in the order configured; a function a file does not define is skipped. The runner decides
// when each function runs (runner/migrate.cpp); this class loads the files and calls into them.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "luahost/engine.hpp"
#include "luahost/value.hpp"

namespace luamig::runner {

// A hooks file's top level or one of its functions failed. Its failure (kind Hook) has hook = the function
// ("before_migration", ..., or "top level" while the file was loading), hook_file = the file, and the
// script's message, position, SQL details and traceback.
class HookError : public Error {
 public:
  HookError(std::string file, std::string function, luahost::ScriptFailure failure);
  std::string file;      // the hooks file
  std::string function;  // "before_migration", ..., or "top level"
};

class Hooks {
 public:
  Hooks() = default;
  // Reads every file and checks that it compiles. Throws ConfigError (exit 2): a missing file names the file,
  // a syntax error names file:line. Nothing runs yet.
  static Hooks open(const std::vector<std::filesystem::path>& files);

  bool empty() const { return files_.empty(); }
  size_t size() const { return files_.size(); }
  const std::vector<std::string>& files() const { return files_; }

  // Runs each file's top level in a fresh sandbox environment of `engine`. Throws HookError.
  // REQUIRES: `engine` outlives this object's use; called once.
  void load(luahost::Engine& engine);
  // True when some loaded file defines `function`.
  bool defines(const std::string& function) const;
  bool file_defines(size_t index, const std::string& function) const;
  // Calls `function` in every loaded file that defines it, in order. Throws HookError at the first failure.
  void call(const std::string& function, const std::vector<luahost::Value>& args);
  // Calls `function` in file `index` if it defines it. Throws HookError.
  void call_file(size_t index, const std::string& function, const std::vector<luahost::Value>& args);
  // Releases the files' environments.
  void unload();

 private:
  std::vector<std::string> files_;
  std::vector<std::string> sources_;
  luahost::Engine* engine_ = nullptr;
  std::vector<luahost::Script> scripts_;
};
}  // namespace luamig::runner
