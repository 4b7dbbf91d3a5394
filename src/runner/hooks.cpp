#include "runner/hooks.hpp"

#include <fmt/format.h>

#include "scripts/loader.hpp"
#include "util/error.hpp"

namespace luamig::runner {

namespace {
Failure hook_failure(Failure f, const std::string& file, const std::string& function) {
  f.kind = FailureKind::Hook;
  if (f.file.empty()) f.file = file;
  f.hook = function;
  f.hook_file = file;
  return f;
}
}  // namespace

HookError::HookError(std::string file_, std::string function_, luahost::ScriptFailure failure_)
    : Error(hook_failure(std::move(failure_), file_, function_)),
      file(std::move(file_)),
      function(std::move(function_)) {}

Hooks Hooks::open(const std::vector<std::filesystem::path>& files) {
  Hooks h;
  for (const auto& p : files) {
    std::string path = p.string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec))
      throw ConfigError(fmt::format("hooks file {} not found (hooks are relative to script_location)", path));
    std::string source = scripts::read_text(path);
    try {
      luahost::check_syntax(path, source);
    } catch (const luahost::ScriptError& e) {
      const auto& f = e.failure;
      throw ConfigError(f.line ? fmt::format("hooks file {}:{}: {}", f.file, f.line, f.message)
                               : fmt::format("hooks file {}: {}", f.file, f.message));
    }
    h.files_.push_back(path);
    h.sources_.push_back(std::move(source));
  }
  return h;
}

void Hooks::load(luahost::Engine& engine) {
  engine_ = &engine;
  scripts_.clear();
  for (size_t i = 0; i < files_.size(); ++i) {
    try {
      engine.set_activity(fmt::format("the top level of hooks file {}", files_[i]));
      scripts_.push_back(engine.load(files_[i], sources_[i]));
    } catch (const luahost::ScriptError& e) {
      throw HookError(files_[i], "top level", e.failure);
    }
  }
}

bool Hooks::file_defines(size_t index, const std::string& function) const {
  return index < scripts_.size() && scripts_[index].has_function(function);
}

bool Hooks::defines(const std::string& function) const {
  for (size_t i = 0; i < scripts_.size(); ++i)
    if (file_defines(i, function)) return true;
  return false;
}

void Hooks::call_file(size_t index, const std::string& function, const std::vector<luahost::Value>& args) {
  if (!file_defines(index, function)) return;
  try {
    engine_->set_activity(fmt::format("hook {} of {}", function, files_[index]));
    engine_->call_with(scripts_[index], function, args);
  } catch (const luahost::ScriptError& e) {
    throw HookError(files_[index], function, e.failure);
  } catch (const HookError&) {
    throw;
  } catch (const std::exception& e) {
    luahost::ScriptFailure f;
    f.message = e.what();
    throw HookError(files_[index], function, std::move(f));
  }
}

void Hooks::call(const std::string& function, const std::vector<luahost::Value>& args) {
  for (size_t i = 0; i < scripts_.size(); ++i) call_file(i, function, args);
}

void Hooks::unload() {
  if (engine_)
    for (auto& s : scripts_) engine_->unload(s);
  scripts_.clear();
}
}  // namespace luamig::runner
