#pragma once
// The checks an upgrade/downgrade command makes of its own arguments and environment before it connects:
// the --sql range FROM:TO, and allow_downgrade.
#include <set>
#include <string>

#include "config/config.hpp"
#include "graph/revision_map.hpp"
#include "runner/migrate.hpp"

namespace luamig::runner {

// "FROM:TO" (offline mode only): keeps TO in options.target and returns FROM ("" when no range). Throws
// UsageError for a range online, a downgrade --sql without one, or a side left empty.
std::string split_range(MigrateOptions& options);

// The heads an offline run starts from: FROM of the range, or base.
std::set<std::string> offline_start(const graph::RevisionMap& map, const std::string& start);

// A downgrade where the environment sets allow_downgrade = false: refused (UsageError-like RunError, exit 2)
// unless `force`, which only warns.
void check_downgrade_allowed(const MigrateOptions& options, const config::Config& cfg);
}  // namespace luamig::runner
