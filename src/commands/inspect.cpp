// Read-only verbs: current, history, heads, show. They never create the version table.
#include <fmt/format.h>

#include <set>

#include "commands/commands.hpp"
#include "commands/describe.hpp"
#include "commands/history_cmd.hpp"
#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "graph/history.hpp"
#include "graph/target.hpp"
#include "runner/project.hpp"
#include "runner/session.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace {
std::set<std::string> database_heads(const runner::Project& project) {
  auto conn = runner::connect(project);
  db::VersionTable vt(*conn, project.cfg.version_table, project.cfg.version_table_schema);
  auto heads = vt.heads();
  return {heads.begin(), heads.end()};
}
}  // namespace

void current(const config::GlobalOptions& opts, bool verbose) {
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  auto url = project.database_url();
  if (verbose) project.announce(url);
  auto conn = runner::connect(project);
  db::VersionTable vt(*conn, project.cfg.version_table, project.cfg.version_table_schema);
  if (verbose) {
    out::line(fmt::format("Version table: {}{}", vt.qualified_name(), vt.exists() ? "" : " (does not exist yet)"));
  }
  for (const auto& id : vt.heads()) {
    const auto* r = map.find(id);
    if (!r) {
      out::data(fmt::format("{} (unknown: no file in {} has this revision)", id, project.cfg.versions_dir().string()));
      continue;
    }
    out::data(verbose ? verbose_entry(map, *r, {id}) : short_line(map, *r));
  }
}

void history(const config::GlobalOptions& opts, const std::string& range, bool verbose, bool indicate_current) {
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  std::set<std::string> current;
  bool needs_db = indicate_current || range.find("current") != std::string::npos;
  if (needs_db) current = database_heads(project);
  auto revs = range.empty() ? graph::history_range(map, ":", current) : graph::history_range(map, range, current);
  for (const auto* r : revs) out::data(verbose ? verbose_entry(map, *r, current) : history_line(map, *r, current));
}

void heads(const config::GlobalOptions& opts, bool verbose) {
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  for (const auto& id : map.heads()) {
    const auto& r = map.get(id);
    out::data(verbose ? verbose_entry(map, r, {}) : short_line(map, r));
  }
}

void show(const config::GlobalOptions& opts, const std::string& revision) {
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  std::vector<std::string> ids;
  if (revision == "head") {
    auto t = graph::resolve_target(map, "head", {});
    ids.assign(t.begin(), t.end());
  } else if (revision == "heads")
    ids = map.heads();
  else if (revision == "base")
    ids = map.bases();
  else
    ids = {map.resolve_id(revision)};
  for (const auto& id : ids) {
    out::data(verbose_entry(map, map.get(id), {}));
    show_applied(project, id);
  }
}
}  // namespace luamig::commands
