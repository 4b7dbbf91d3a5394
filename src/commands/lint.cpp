// `luamig lint`: the rules of lint/ over the revisions' recorded plans. Offline (no URL): every revision, or
// a range. With a PostgreSQL URL: the revisions not applied yet, with table sizes from pg_class.reltuples.
#include "commands/lint.hpp"

#include <fmt/format.h>

#include "db/connection.hpp"
#include "db/registry.hpp"
#include "graph/target.hpp"
#include "lint/collect.hpp"
#include "lint/report.hpp"
#include "runner/session.hpp"
#include "scripts/loader.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace {

lint::Options lint_options(const runner::Project& project) {
  lint::Options o;
  for (const auto& id : project.cfg.lint_disable) {
    if (!lint::find_rule(id)) throw ConfigError(fmt::format("lint.disable: unknown rule '{}'", id));
    o.disable.insert(id);
  }
  for (const auto& [id, level] : project.cfg.lint_severity) {
    if (!lint::find_rule(id)) throw ConfigError(fmt::format("lint.severity: unknown rule '{}'", id));
    auto s = lint::parse_severity(level);
    if (!s) throw ConfigError(fmt::format("lint.severity.{}: '{}' is not warning or error", id, level));
    o.severity[id] = *s;
  }
  return o;
}

bool online(const runner::Project& project) {
  std::string url = config::resolve_url(project.opts, project.cfg);
  // Online lint reads the version table and the catalog (pg_catalog: table sizes, existing indexes).
  return !url.empty() && db::database(project.database_url().dialect).make_dialect()->catalog() ==
                             dialect::Catalog::pg_catalog;
}

struct Outcome {
  std::vector<lint::Finding> findings;
  size_t linted = 0;
  bool stopped = false;  // a revision could not run in --sql mode (reported above)
};

// `upgrade_target`: only the revisions an upgrade to it would apply (lint_on_upgrade).
Outcome run_lint(runner::Project& project, const std::string& range, bool all, const lint::Options& options,
                 const std::string& upgrade_target = "") {
  const auto& map = project.load_graph();
  auto collected = lint::collect_revisions(project);
  auto& revisions = collected.revisions;
  lint::Context context;
  context.lock_timeout_configured = project.cfg.lock_timeout.has_value();
  context.heads = map.heads();
  if (online(project)) {
    auto conn = runner::connect(project);
    auto facts = lint::read_database(*conn, project, context);
    if (!all && range.empty()) lint::select_unapplied(revisions, map, facts.heads);
    if (!upgrade_target.empty()) {
      auto targets = graph::resolve_target(map, upgrade_target, {facts.heads.begin(), facts.heads.end()});
      auto wanted = map.ancestors_inclusive({targets.begin(), targets.end()});
      for (auto& r : revisions) r.report = r.report && wanted.count(r.id);
    }
  }
  lint::select_range(revisions, map, range);
  Outcome out;
  out.stopped = !collected.stopped_at.empty();
  for (const auto& r : revisions) out.linted += r.report ? 1 : 0;
  out.findings = lint::lint(revisions, context, options, [](const std::string& path) {
    std::string text;
    scripts::try_read_text(path, text);
    return text;
  });
  return out;
}
}  // namespace

int lint(const config::GlobalOptions& opts, const LintFlags& flags) {
  if (flags.rules) {
    out::data(lint::format_rules());
    return 0;
  }
  auto fail_on = lint::parse_severity(flags.fail_on);
  if (!fail_on) throw UsageError(fmt::format("--fail-on '{}': expected warning or error", flags.fail_on));
  if (flags.all && !flags.range.empty()) throw UsageError("a revision range and --all exclude each other");
  auto project = runner::Project::open(opts);
  auto options = lint_options(project);
  auto outcome = run_lint(project, flags.range, flags.all, options);
  out::data(flags.json ? lint::format_json(outcome.findings, outcome.linted)
                       : lint::format_text(outcome.findings, outcome.linted));
  if (outcome.stopped) {
    out::error(
        "lint stopped: the revision reported above cannot run in --sql mode, so it and the revisions after "
        "it were not linted");
    return 1;
  }
  for (const auto& f : outcome.findings)
    if (f.silenced.empty() && f.severity >= *fail_on) return 1;
  return 0;
}

void lint_before_upgrade(runner::Project& project, const std::string& target) {
  // The rules are PostgreSQL's; a SQLite database is not checked.
  if (!project.cfg.settings.boolean("lint_on_upgrade") || !online(project)) return;
  auto options = lint_options(project);
  options.only = lint::Severity::error;
  auto outcome = run_lint(project, "", false, options, target);
  size_t errors = 0;
  for (const auto& f : outcome.findings) errors += f.silenced.empty() ? 1 : 0;
  if (errors == 0) return;
  Failure failure;
  failure.kind = FailureKind::Migration;
  failure.message = "upgrade stopped by lint_on_upgrade before any revision ran: nothing was changed";
  // The findings and what to do, printed once by main.
  failure.report =
      lint::format_text(outcome.findings, outcome.linted) +
      "upgrade stopped by lint_on_upgrade before any revision ran: nothing was changed. Fix the revisions, "
      "silence a finding with `-- luamig: allow <rule> <reason>`, or set lint_on_upgrade = false.";
  throw RunError(std::move(failure));
}
}  // namespace luamig::commands
