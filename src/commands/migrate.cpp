#include "commands/commands.hpp"
#include "runner/migrate.hpp"

namespace luamig::commands {
void upgrade(const config::GlobalOptions& opts, const std::string& target) {
  auto project = runner::Project::open(opts);
  runner::migrate(project, {graph::Direction::Up, target});
}

void downgrade(const config::GlobalOptions& opts, const std::string& target, bool force) {
  auto project = runner::Project::open(opts);
  runner::migrate(project, {graph::Direction::Down, target, force});
}
}  // namespace luamig::commands
