#include "runner/command_checks.hpp"

#include <fmt/format.h>

#include "graph/target.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::runner {

std::string split_range(MigrateOptions& options) {
  auto colon = options.target.find(':');
  if (colon == std::string::npos) {
    if (options.sql && options.direction == graph::Direction::Down)
      throw UsageError(
          fmt::format("downgrade --sql needs a range FROM:TO (e.g. `downgrade head:{}`): offline mode "
                      "cannot read the database's current revision",
                      options.target));
    return "";
  }
  if (!options.sql)
    throw UsageError(
        fmt::format("'{}': a range FROM:TO is only accepted with --sql; online, luamig starts from "
                    "the database's current revision",
                    options.target));
  std::string start = options.target.substr(0, colon);
  options.target = options.target.substr(colon + 1);
  if (start.empty() || options.target.empty())
    throw UsageError("--sql range: expected FROM:TO with both sides given (e.g. base:head, a1b2:head)");
  return start;
}

std::set<std::string> offline_start(const graph::RevisionMap& map, const std::string& start) {
  if (start.empty() || start == "base") return {};
  return graph::resolve_target(map, start, {});
}

void check_downgrade_allowed(const MigrateOptions& options, const config::Config& cfg) {
  if (options.direction != graph::Direction::Down || cfg.allow_downgrade) return;
  const auto& origin = cfg.settings.get("allow_downgrade").origin;
  if (!options.force)
    throw RunError(
        fmt::format(
            "downgrade refused: environment '{}' has allow_downgrade = false (set by {}); nothing was "
            "changed. Pass --force to downgrade anyway.",
            cfg.environment, origin),
        2);
  out::warn(fmt::format("Environment '{}' sets allow_downgrade = false ({}): downgrading anyway (--force)",
                        cfg.environment, origin));
}
}  // namespace luamig::runner
