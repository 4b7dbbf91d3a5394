#include "lint/collect.hpp"

#include <fmt/format.h>

#include <regex>

#include "db/version_table.hpp"
#include "luahost/engine.hpp"
#include "runner/migrate.hpp"
#include "scripts/loader.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::lint {

Collected collect_revisions(const runner::Project& source) {
  runner::Project project;
  project.opts = source.opts;
  project.opts.no_hooks = true;
  // The rules are PostgreSQL's: render as PostgreSQL whatever the project's database is.
  project.opts.url = "postgresql://lint@offline/lint";
  project.cfg = source.cfg;
  std::vector<RevisionInput> out;
  runner::MigrateOptions mo;
  mo.on_offline_failure = [&](const graph::Step& step, const Failure& failure, const luahost::Plan& plan) {
    mo.on_plan(step, plan);
    auto& in = out.back();
    in.incomplete = failure.message;
    in.incomplete_file = in.path;
    if (failure.kind == FailureKind::Script) {
      if (!failure.file.empty()) in.incomplete_file = failure.file;
      in.incomplete_line = failure.line;
    }
  };
  mo.sql = true;
  mo.target = "base:heads";
  mo.script_sink = [](const std::string&) {};
  mo.on_plan = [&](const graph::Step& step, const luahost::Plan& plan) {
    RevisionInput in;
    in.id = step.revision->id;
    in.path = step.revision->path;
    in.records = plan.records;
    in.has_downgrade = step.revision->has_downgrade;
    std::string text;
    try {
      text = scripts::read_text(in.path);
    } catch (const std::exception&) {
    }
    static const std::regex non_transactional(R"((^|\n)\s*transactional\s*=\s*false\b)");
    static const std::regex empty_downgrade(R"(function\s+downgrade\s*\([^)]*\)(\s|--[^\n]*\n)*end\b)");
    static const std::regex has_downgrade(R"(function\s+downgrade\s*\()");
    in.transactional = !std::regex_search(text, non_transactional);
    if (!text.empty()) in.has_downgrade = std::regex_search(text, has_downgrade);
    in.downgrade_empty = std::regex_search(text, empty_downgrade);
    out.push_back(std::move(in));
  };
  Collected result;
  try {
    runner::migrate(project, mo);
  } catch (const RunError& e) {
    // A failed revision comes with its whole report: told here, once; any other failure is the command's.
    if (e.failure.report.empty()) throw;
    out::error(e.failure.report);
    // The step after the last collected one failed.
    result.stopped_at = "(after " + (out.empty() ? std::string("base") : out.back().id) + ")";
  }
  result.revisions = std::move(out);
  return result;
}

DatabaseFacts read_database(db::Connection& conn, const runner::Project& project, Context& context) {
  DatabaseFacts facts;
  db::VersionTable vt(conn, project.cfg.version_table, project.cfg.version_table_schema);
  facts.heads = vt.heads();
  for (const auto& row : conn.fetch("SELECT current_setting('server_version_num')")) {
    if (!row.empty() && row[0]) context.server_version = std::atoi(row[0]->c_str());
  }
  for (const auto& row :
       conn.fetch("SELECT n.nspname, c.relname, c.reltuples::bigint FROM pg_class c JOIN "
                  "pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND "
                  "n.nspname NOT IN ('pg_catalog', 'information_schema')")) {
    if (row.size() < 3 || !row[0] || !row[1]) continue;
    double rows = row[2] ? std::atof(row[2]->c_str()) : 0;
    if (rows < 0) rows = 0;  // -1: never analyzed
    context.table_rows[*row[1]] = std::max(context.table_rows[*row[1]], rows);
    context.table_rows[*row[0] + "." + *row[1]] = rows;
    context.existing_tables.insert(*row[1]);
  }
  return facts;
}

void select_range(std::vector<RevisionInput>& revisions, const graph::RevisionMap& map,
                  const std::string& range) {
  if (range.empty()) return;
  auto colon = range.find(':');
  std::string from = colon == std::string::npos ? "" : range.substr(0, colon);
  std::string to = colon == std::string::npos ? range : range.substr(colon + 1);
  std::set<std::string> upper, lower;
  if (to.empty() || to == "head" || to == "heads") {
    for (const auto& r : revisions) upper.insert(r.id);
  } else {
    upper = map.ancestors_inclusive({map.resolve_id(to)});
  }
  if (!from.empty() && from != "base") lower = map.ancestors_inclusive({map.resolve_id(from)});
  if (colon == std::string::npos) {
    upper = {map.resolve_id(to)};
    lower.clear();
  }
  for (auto& r : revisions) r.report = upper.count(r.id) && !lower.count(r.id);
}

void select_unapplied(std::vector<RevisionInput>& revisions, const graph::RevisionMap& map,
                      const std::vector<std::string>& current) {
  std::set<std::string> applied;
  if (!current.empty()) applied = map.ancestors_inclusive(current);
  for (auto& r : revisions) r.report = !applied.count(r.id);
}
}  // namespace luamig::lint
