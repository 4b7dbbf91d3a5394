// History verbs: validate, validate --files, repair, history --applied, and the "applied" lines of show.
#include "commands/history_cmd.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <set>

#include "commands/commands.hpp"
#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "history/keeper.hpp"
#include "history/sum_file.hpp"
#include "runner/project.hpp"
#include "runner/session.hpp"
#include "scripts/loader.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace {
std::set<std::string> heads_of(runner::Project& project, db::Connection& conn) {
  db::VersionTable vt(conn, project.cfg.version_table, project.cfg.version_table_schema);
  auto heads = vt.heads();
  return {heads.begin(), heads.end()};
}

int validate_files(runner::Project& project) {
  auto sum_path = project.cfg.script_dir() / "luamig.sum";
  std::string text;
  if (!scripts::try_read_text(sum_path, text))
    throw RunError(
        fmt::format("{}: not found; create it with `luamig validate --files --update`", sum_path.string()));
  history::SumFile recorded;
  try {
    recorded = history::parse_sum(text);
  } catch (const std::exception& e) {
    throw RunError(fmt::format("{}:{}", sum_path.string(), e.what()));
  }
  auto current = history::compute_sum(project.cfg.versions_dir());
  auto diffs = history::compare_sums(recorded, current);
  for (const auto& d : diffs) {
    if (d.problem == "total")
      out::error(
          fmt::format("ERROR: {}: the total on line 1 does not match the file lines (a merge of two branches "
                      "that both changed revisions?): check the graph (`luamig heads`), then run `luamig "
                      "validate --files --update`",
                      sum_path.string()));
    else
      out::error(
          fmt::format("ERROR: {}: {} since {} was written; if intended, run `luamig validate --files "
                      "--update` and commit luamig.sum with it",
                      (project.cfg.versions_dir() / d.file).string(), d.problem, sum_path.string()));
  }
  if (!diffs.empty()) return 1;
  out::data(fmt::format("{}: {} file{} match", sum_path.string(), current.files.size(),
                        current.files.size() == 1 ? "" : "s"));
  return 0;
}
}  // namespace

void update_sum_file(const config::Config& cfg) {
  if (!history::write_sum_file(cfg.script_dir()))
    out::warn(fmt::format("WARNING: could not write {}", (cfg.script_dir() / "luamig.sum").string()));
}

int validate(const config::GlobalOptions& opts, bool files_only, bool update) {
  auto project = runner::Project::open(opts);
  if (update) {
    project.load_graph();  // a broken graph is not summed
    if (!history::write_sum_file(project.cfg.script_dir()))
      throw RunError(fmt::format("could not write {}", (project.cfg.script_dir() / "luamig.sum").string()));
    out::line(fmt::format("Wrote {}", (project.cfg.script_dir() / "luamig.sum").string()));
    return 0;
  }
  if (files_only) return validate_files(project);
  const auto& map = project.load_graph();
  auto conn = runner::connect(project);
  project.announce(conn->target());
  auto heads = heads_of(project, *conn);
  history::FileChecksumCache files(project.cfg.versions_dir());
  auto report = history::validate_database(*conn, project.cfg, map, heads, files);
  bool ok = history::print_report(report);
  if (!ok) {
    out::error(fmt::format("Validation failed: {} history row{}, {} applied revision{} checked", report.rows,
                           report.rows == 1 ? "" : "s", report.checked, report.checked == 1 ? "" : "s"));
    return 1;
  }
  out::data(fmt::format("History valid: {} row{}, chain intact, {} applied revision{} checked", report.rows,
                        report.rows == 1 ? "" : "s", report.checked, report.checked == 1 ? "" : "s"));
  return 0;
}

void repair(const config::GlobalOptions& opts, const std::string& revision, const std::string& reason) {
  if (reason.empty()) throw UsageError("repair: --reason TEXT is required (it is recorded in the history)");
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  const auto& rev = map.get(map.resolve_id(revision));
  auto conn = runner::connect(project);
  project.announce(conn->target());
  auto lock = runner::take_migration_lock(project, *conn);
  auto table = history::open_table(*conn, project.cfg);
  auto heads = heads_of(project, *conn);
  std::vector<history::Row> rows;
  if (table.exists()) rows = table.rows();
  bool applied = false;
  for (const auto& a : history::applied_revisions(rows)) applied = applied || a.revision == rev.id;
  if (!applied)
    throw RunError(fmt::format("repair: revision {} is not applied according to {}; nothing was changed",
                               rev.id, table.qualified_name()));
  if (auto broken = history::verify_chain(rows))
    throw RunError(
        fmt::format("repair: {}; repair accepts edited files, not an edited history. Nothing was changed",
                    broken->message));
  history::FileChecksumCache files(project.cfg.versions_dir());
  auto sums = files.get(rev.path);
  if (!sums) throw RunError(fmt::format("{}: cannot read the file", rev.path));
  history::Row r;
  r.revision = rev.id;
  r.kind = "repair";
  r.outcome = "success";
  r.heads_before = r.heads_after = history::heads_text(heads);
  r.checksum = sums->checksum;
  r.normalised = sums->normalised;
  r.checksum_algorithm = history::kChecksumAlgorithm;
  r.started_at = r.finished_at = history::utc_now();
  r.db_user = history::database_user(*conn);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  r.client_host = host;
  r.luamig_version = LUAMIG_VERSION;
  r.environment = project.cfg.environment;
  r.message = reason;
  conn->begin();
  try {
    table.ensure();
    r = table.append(r);
    conn->commit();
  } catch (...) {
    conn->rollback();
    throw;
  }
  lock->release();
  out::line(fmt::format("Recorded checksum {} of {} for revision {} (history row seq {}): {}",
                        r.checksum->substr(0, 12), rev.path, rev.id, r.seq, reason));
}

void applied_history(const config::GlobalOptions& opts) {
  auto project = runner::Project::open(opts);
  auto conn = runner::connect(project);
  auto table = history::open_table(*conn, project.cfg);
  if (!table.exists()) {
    out::line(fmt::format("No history yet: {} does not exist", table.qualified_name()));
    return;
  }
  for (const auto& r : table.rows())
    out::data(fmt::format("{:>4} {} {} {} {} {} -> {} by {}@{} ({} ms, luamig {}, env {}){}{}", r.seq,
                          r.finished_at, r.kind, r.revision.empty() ? "-" : r.revision, r.outcome,
                          r.heads_before.empty() ? "base" : r.heads_before,
                          r.heads_after.empty() ? "base" : r.heads_after, r.db_user, r.client_host,
                          r.duration_ms, r.luamig_version, r.environment,
                          r.sqlstate ? " SQLSTATE " + *r.sqlstate : "", r.message ? ": " + *r.message : ""));
}

void show_applied(runner::Project& project, const std::string& id) {
  if (config::resolve_url(project.opts, project.cfg).empty()) return;  // no database configured: files only
  try {
    auto conn = runner::connect(project);
    auto table = history::open_table(*conn, project.cfg);
    if (!table.exists()) return;
    for (const auto& r : table.rows()) {
      if (r.revision != id) continue;
      out::data(fmt::format("Applied:  {} {} at {} by {}@{} (luamig {}, environment {}){}", r.kind, r.outcome,
                            r.finished_at, r.db_user, r.client_host, r.luamig_version, r.environment,
                            r.message ? ": " + *r.message : ""));
    }
  } catch (const std::exception& e) {
    out::warn(fmt::format("WARNING: could not read the history: {}", e.what()));
  }
}
}  // namespace luamig::commands
