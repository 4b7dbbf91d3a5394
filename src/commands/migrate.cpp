#include "commands/commands.hpp"
#include "runner/migrate.hpp"
#include "util/error.hpp"

namespace luamig::commands {
namespace {
void run(const config::GlobalOptions& opts, graph::Direction direction, const std::string& target,
         const MigrateFlags& flags) {
  if (flags.sql && flags.dry_run) throw UsageError("--sql and --dry-run exclude each other");
  auto project = runner::Project::open(opts);
  runner::MigrateOptions options;
  options.direction = direction;
  options.target = target;
  options.sql = flags.sql;
  options.dry_run = flags.dry_run;
  options.force = flags.force;
  options.no_validate = flags.no_validate;
  runner::migrate(project, options);
}
}  // namespace

void upgrade(const config::GlobalOptions& opts, const std::string& target, const MigrateFlags& flags) {
  run(opts, graph::Direction::Up, target, flags);
}

void downgrade(const config::GlobalOptions& opts, const std::string& target, const MigrateFlags& flags) {
  run(opts, graph::Direction::Down, target, flags);
}
}  // namespace luamig::commands
