// Read-only verbs: current, history, heads, show. They never create the version table.
#include <fmt/format.h>

#include <set>

#include "commands/commands.hpp"
#include "commands/describe.hpp"
#include "commands/history_cmd.hpp"
#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "graph/history.hpp"
#include "graph/overlap.hpp"
#include "graph/target.hpp"
#include "runner/project.hpp"
#include "runner/session.hpp"
#include "util/json.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace {
std::set<std::string> database_heads(runner::Project& project) {
  auto conn = runner::connect(project, true);
  db::VersionTable vt(*conn, project.cfg.version_table, project.cfg.version_table_schema);
  auto heads = vt.heads();
  graph::check_rows_do_not_overlap(project.load_graph(), heads, project.cfg.version_table);
  return {heads.begin(), heads.end()};
}
}  // namespace

void current(const config::GlobalOptions& opts, bool verbose) {
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  auto conn = runner::connect(project, true);
  if (verbose) project.announce(conn->target());
  db::VersionTable vt(*conn, project.cfg.version_table, project.cfg.version_table_schema);
  if (verbose) {
    out::line(
        fmt::format("Version table: {}{}", vt.qualified_name(), vt.exists() ? "" : " (does not exist yet)"));
  }
  const auto rows = vt.heads();
  graph::check_rows_do_not_overlap(map, rows, project.cfg.version_table);
  if (out::json()) {
    json::Array list;
    for (const auto& id : rows) {
      const auto* r = map.find(id);
      if (r)
        list.push(revision_json(map, *r, {id}).add("known", true));
      else
        list.push(json::Object().add("id", id).add("known", false));
    }
    out::json_line(json::Object().add("current", list).str());
    return;
  }
  // Off a terminal the bare id, so that `rev=$(luamig current)` is the id; the marks with -v or on a
  // terminal.
  const bool marks = verbose || out::stdout_is_terminal();
  for (const auto& id : rows) {
    const auto* r = map.find(id);
    if (!r) {
      out::data(out::escape(id));
      out::warn(fmt::format("{}: unknown revision (no file in {} has it)", out::escape(id),
                            project.cfg.versions_dir().string()));
      continue;
    }
    if (verbose)
      out::data(verbose_entry(map, *r, {id}));
    else
      out::data(marks ? short_line(map, *r) : out::escape(id));
  }
}

void history(const config::GlobalOptions& opts, const std::string& range, bool verbose,
             bool indicate_current) {
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  std::set<std::string> current;
  bool needs_db = indicate_current || range.find("current") != std::string::npos;
  if (needs_db) current = database_heads(project);
  auto revs =
      range.empty() ? graph::history_range(map, ":", current) : graph::history_range(map, range, current);
  if (out::json()) {
    json::Array list;
    for (const auto* r : revs) list.push(revision_json(map, *r, current));
    out::json_line(json::Object().add("revisions", list).str());
    return;
  }
  for (const auto* r : revs)
    out::data(verbose ? verbose_entry(map, *r, current) : history_line(map, *r, current));
}

void heads(const config::GlobalOptions& opts, bool verbose) {
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  if (out::json()) {
    json::Array list;
    for (const auto& id : map.heads()) list.push(revision_json(map, map.get(id), {}));
    out::json_line(json::Object().add("heads", list).str());
    return;
  }
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
  if (out::json()) {
    json::Array list;
    for (const auto& id : ids) list.push(revision_json(map, map.get(id), {}));
    out::json_line(json::Object().add("revisions", list).str());
    return;
  }
  for (const auto& id : ids) {
    out::data(verbose_entry(map, map.get(id), {}));
    show_applied(project, id);
  }
}
}  // namespace luamig::commands
