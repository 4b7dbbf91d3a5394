#include "runner/migrate.hpp"

#include <chrono>

#include "commands/commands.hpp"
#include "commands/lint.hpp"
#include "runner/report.hpp"
#include "util/error.hpp"
#include "util/failure.hpp"
#include "util/json.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace {
// --json: the last line of the JSON Lines stream, after the step events.
void summary(graph::Direction direction, const std::string& target, const char* status, int exit_code,
             std::chrono::steady_clock::time_point started, const char* error) {
  if (!out::json()) return;
  json::Object o;
  o.add("event", "summary")
      .add("direction", direction == graph::Direction::Up ? "upgrade" : "downgrade")
      .add("target", target)
      .add("status", status)
      .add("steps", runner::steps_reported())
      .add("duration_ms", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     std::chrono::steady_clock::now() - started)
                                                     .count()))
      .add("exit_code", exit_code);
  if (error && *error) o.add("error", error);
  out::json_line(o.str());
}

void run(const config::GlobalOptions& opts, graph::Direction direction, const std::string& target,
         const MigrateFlags& flags) {
  if (flags.sql && flags.dry_run) throw UsageError("--sql and --dry-run exclude each other");
  if (flags.sql && out::json())
    throw UsageError("--json and --sql exclude each other (--sql prints the SQL script)");
  auto started = std::chrono::steady_clock::now();
  try {
    auto project = runner::Project::open(opts);
    if (direction == graph::Direction::Up && !flags.sql) lint_before_upgrade(project, target);
    runner::MigrateOptions options;
    options.direction = direction;
    options.target = target;
    options.sql = flags.sql;
    options.dry_run = flags.dry_run;
    options.force = flags.force;
    options.no_validate = flags.no_validate;
    runner::migrate(project, options);
  } catch (const std::exception& e) {
    // A failure with a report was told as a step_failed event already.
    auto failure = failure_of(e);
    summary(direction, target, "failed", exit_status(failure), started,
            failure.report.empty() ? failure.message.c_str() : nullptr);
    throw;
  }
  summary(direction, target, flags.dry_run ? "rolled_back" : "ok", 0, started, nullptr);
}
}  // namespace

void upgrade(const config::GlobalOptions& opts, const std::string& target, const MigrateFlags& flags) {
  run(opts, graph::Direction::Up, target, flags);
}

void downgrade(const config::GlobalOptions& opts, const std::string& target, const MigrateFlags& flags) {
  run(opts, graph::Direction::Down, target, flags);
}
}  // namespace luamig::commands
