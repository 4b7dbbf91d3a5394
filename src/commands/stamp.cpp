// stamp: set the version table to the given revisions without running migrations.
#include "graph/stamp.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "commands/commands.hpp"
#include "db/connection.hpp"
#include "db/transaction.hpp"
#include "db/version_table.hpp"
#include "graph/overlap.hpp"
#include "runner/project.hpp"
#include "runner/session.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::commands {

void stamp(const config::GlobalOptions& opts, const std::vector<std::string>& revisions, bool purge) {
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  auto conn = runner::connect(project);
  project.announce(conn->target());
  auto lock = runner::take_migration_lock(project, *conn);
  db::VersionTable vt(*conn, project.cfg.version_table, project.cfg.version_table_schema);
  db::Transaction tx(*conn);
  vt.ensure();
  auto current_rows = vt.heads();
  std::set<std::string> current(current_rows.begin(), current_rows.end());
  if (!purge) {
    // `stamp --purge` is the repair: it replaces every row.
    graph::check_rows_do_not_overlap(map, current_rows, project.cfg.version_table);
    for (const auto& h : current)
      if (!map.find(h))
        throw RunError(
            fmt::format("the version table holds revision '{}', which no file in {} defines; use "
                        "`stamp --purge` to replace it",
                        h, project.cfg.versions_dir().string()));
  }
  auto change = graph::stamp_change(map, current, revisions, purge);
  if (purge) {
    vt.clear();
    for (const auto& id : change.inserts) vt.insert(id);
  } else {
    for (const auto& h : change.deletes) vt.remove(h);
    for (const auto& id : change.inserts) vt.insert(id);
  }
  tx.commit();
  std::string from = current.empty() ? "base" : fmt::format("{}", fmt::join(current, ", "));
  std::string to = change.heads.empty() ? "base" : fmt::format("{}", fmt::join(change.heads, ", "));
  out::line(fmt::format("Stamped {} -> {}", out::escape(from), out::escape(to)));
}
}  // namespace luamig::commands
