#include "runner/step_executor.hpp"

#include <fmt/format.h>

#include "runner/hook_calls.hpp"
#include "runner/step_options.hpp"
#include "scripts/loader.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace luamig::runner {
namespace {
using Clock = std::chrono::steady_clock;

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::chrono::nanoseconds since(Clock::time_point t) { return Clock::now() - t; }
long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}
}  // namespace

std::optional<std::chrono::milliseconds> declared_time_limit(const luahost::Script& script) {
  auto v = script.global("time_limit");
  if (v.is_nil()) return std::nullopt;
  if (v.is_string()) return parse_duration(v.str(), script.path() + ": time_limit");
  if (v.is_number() && v.num() >= 0) return std::chrono::milliseconds(static_cast<long long>(v.num() * 1000));
  throw RunError(
      fmt::format("{}: time_limit must be a duration such as \"10min\" or a number of seconds, got {}",
                  script.path(), v.type_name()));
}

StepOutcome StepExecutor::attempt(size_t index, int attempt_number, size_t done) {
  const auto& step = p_.steps[index];
  StepOutcome outcome;
  const auto started = Clock::now();
  outcome.wall_started = std::chrono::system_clock::now();
  p_.services.start_attempt();
  std::optional<luahost::Script> script;
  try {
    script.emplace(load_script(step));
    outcome.transactional = declared_transactional(*script, step.revision->path);
  } catch (const std::exception& e) {
    outcome.status = StepOutcome::Status::Failed;
    outcome.failure = failure_of(e);
    outcome.duration = since(started);
    return outcome;
  }
  outcome.loaded = true;
  if (auto why = p_.policy.refuses(outcome.transactional)) {
    outcome.status = StepOutcome::Status::Refused;
    outcome.reason = *why;
    return outcome;
  }
  if (attempt_number == 0) p_.observer.on_step_start(step);
  const bool transactional = outcome.transactional;
  // Opening the step's transaction is not part of the attempt: a failure there (the connection is gone) ends
  // the run as it comes.
  p_.policy.begin_step(transactional, done);
  if (transactional && p_.policy.opens_step_transaction() && p_.moved_under_us && p_.moved_under_us()) {
    p_.policy.abandon_attempt();
    p_.engine.unload(*script);
    outcome.status = StepOutcome::Status::Moved;
    return outcome;
  }
  try {
    echo(true);
    // The hooks run inside the attempt: a retried or failed revision takes their SQL with it. Without a
    // transaction (`transactional = false`), before_migration runs as the revision does, outside one.
    auto work = [&] {
      if (p_.hooks.defines("before_migration"))
        p_.hooks.call("before_migration", {step_value(p_.steps, index, std::nullopt), *p_.context});
      run_script(step, *script);
    };
    if (transactional) {
      work();
    } else {
      p_.services.outside_transaction(work);
      p_.policy.begin_version_row();
    }
    if (p_.before_version_row) p_.before_version_row();
    const auto heads_before = p_.heads;
    record_version_change(step);
    if (p_.after_version_row) p_.after_version_row(step, heads_before, outcome.wall_started);
    // What the version row deferred is sent before Lua code runs again: a failure of it must not surface
    // inside the hook's own pcall.
    if (p_.hooks.defines("after_migration")) {
      p_.services.flush();
      p_.hooks.call("after_migration", {step_value(p_.steps, index, ms_since(started)), *p_.context});
    }
    p_.policy.end_step(transactional, done);
    // Without a COMMIT here (one transaction for the whole command) the deferred rows are sent now, before
    // the next revision's Lua code runs.
    p_.services.flush();
    echo(false);
    outcome.duration = since(started);
    p_.observer.on_step_end(step, outcome.duration);
  } catch (const std::exception& e) {
    echo(false);
    outcome.autocommitted = p_.services.autocommitted();
    outcome.duration = since(started);
    // A DryRunStop raised inside Lua arrives as a script error: the services know it was one.
    if (p_.services.stop_reason()) {
      outcome.status = StepOutcome::Status::Stopped;
      outcome.reason = *p_.services.stop_reason();
      return outcome;
    }
    outcome.status = StepOutcome::Status::Failed;
    outcome.failure = failure_of(e);
  }
  return outcome;
}

luahost::Script StepExecutor::load_script(const graph::Step& step) {
  const auto& rev = *step.revision;
  const char* function = step.direction == graph::Direction::Up ? "upgrade" : "downgrade";
  std::string source = scripts::read_text(rev.path);
  p_.engine.set_activity(fmt::format("{} of revision {} ({})", function, rev.id, rev.message));
  auto script = p_.engine.load(rev.path, source);
  auto declared = script.global("revision");
  if (!declared.is_string() || declared.str() != rev.id)
    throw RunError(fmt::format("{}: the file's `revision` changed while luamig was running", rev.path));
  if (!script.has_function(function))
    throw RunError(fmt::format("{}: revision {} defines no {}() function", rev.path, rev.id, function));
  return script;
}

void StepExecutor::run_script(const graph::Step& step, luahost::Script& script) {
  const auto& rev = *step.revision;
  const char* function = step.direction == graph::Direction::Up ? "upgrade" : "downgrade";
  p_.engine.call(
      script, function,
      {{"revision", rev.id}, {"down_revision", join(rev.down_revisions, ",")}, {"direction", function}},
      declared_time_limit(script));
  if (p_.on_plan) p_.on_plan(step, p_.engine.plan());
  p_.engine.unload(script);
}

void StepExecutor::record_version_change(const graph::Step& step) {
  auto change = graph::version_change(p_.map, p_.heads, step);
  for (const auto& d : change.deletes) p_.version_table.remove(d);
  if (change.update) p_.version_table.update(change.update->first, change.update->second);
  for (const auto& i : change.inserts) p_.version_table.insert(i);
  graph::apply(p_.heads, change);
}
}  // namespace luamig::runner
