// stamp: set the version table to the given revisions without running migrations.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "commands/commands.hpp"
#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "graph/overlap.hpp"
#include "graph/target.hpp"
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
  conn->begin();
  try {
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
    std::set<std::string> targets;
    for (const auto& r : revisions) {
      auto t = graph::resolve_target(map, r, current);
      targets.insert(t.begin(), t.end());
    }
    std::set<std::string> next;
    if (!purge) {
      // Keep current heads on other lineages; replace those that share lineage with a target.
      std::vector<std::string> tv(targets.begin(), targets.end());
      auto anc = map.ancestors_inclusive(tv);
      auto desc = map.descendants_inclusive(tv);
      bool to_base = revisions.size() == 1 && revisions[0] == "base";
      for (const auto& h : current)
        if (!to_base && !anc.count(h) && !desc.count(h)) next.insert(h);
    }
    next.insert(targets.begin(), targets.end());
    if (purge) {
      vt.clear();
      for (const auto& id : next) vt.insert(id);
    } else {
      for (const auto& h : current)
        if (!next.count(h)) vt.remove(h);
      for (const auto& id : next)
        if (!current.count(id)) vt.insert(id);
    }
    conn->commit();
    std::string from = current.empty() ? "base" : fmt::format("{}", fmt::join(current, ", "));
    std::string to = next.empty() ? "base" : fmt::format("{}", fmt::join(next, ", "));
    out::line(fmt::format("Stamped {} -> {}", out::escape(from), out::escape(to)));
  } catch (...) {
    conn->rollback();
    throw;
  }
}
}  // namespace luamig::commands
