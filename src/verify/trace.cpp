// `luamig trace REV_RANGE`: runs revisions and reports, per statement, the locks it took, the tables it
// rewrote or scanned, and how long the locks were held (verify/lock_trace.hpp says how each is measured). On
// the throwaway PostgreSQL each revision runs as `upgrade` runs it; with --url, the revisions run in one
// transaction that is rolled back (a dry run), so nothing is changed.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "commands/verify.hpp"
#include "db/connection.hpp"
#include "db/registry.hpp"
#include "dialect/dialect.hpp"
#include "graph/plan.hpp"
#include "runner/migrate.hpp"
#include "runner/project.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/output.hpp"
#include "verify/lock_trace.hpp"
#include "verify/scratch_database.hpp"
#include "verify/seed.hpp"

namespace luamig::commands {
namespace {

using verify::RelationLock;
using verify::StatementTrace;

struct RevisionTrace {
  const graph::Revision* revision = nullptr;
  std::vector<StatementTrace> statements;
  std::vector<RelationLock> strongest;  // per relation
  std::vector<std::string> warnings;
  std::string note;  // not traced, failed...
};

std::string ms_text(double ms) {
  if (ms < 10) return fmt::format("{:.1f} ms", ms);
  if (ms < 10000) return fmt::format("{:.0f} ms", ms);
  return fmt::format("{:.1f} s", ms / 1000);
}

std::string one_line(const std::string& sql, size_t width) {
  std::string s;
  for (char c : sql) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
    if (c == ' ' && !s.empty() && s.back() == ' ') continue;
    s += c;
  }
  if (s.size() > width) s = s.substr(0, width - 3) + "...";
  return s;
}

// Strongest lock per relation, and the dangerous combinations.
void analyse(RevisionTrace& r, long long long_ms) {
  std::map<std::string, RelationLock> strongest;
  const auto& st = r.statements;
  for (size_t i = 0; i < st.size(); ++i) {
    for (const auto& l : st[i].locks) {
      auto& s = strongest[l.relation];
      if (l.strength > s.strength) s = l;
      const bool no_timeout = st[i].lock_timeout == "0";
      if (l.strength >= 4 && no_timeout)
        r.warnings.push_back(
            fmt::format("#{} takes {} on {} with no lock_timeout in force: behind a long query on {} it "
                        "would wait, and every "
                        "query on {} would queue behind it",
                        i + 1, l.mode, l.relation, l.relation, l.relation));
      if (l.strength < 8) continue;
      size_t later = 0;
      for (size_t j = i; j < st.size(); ++j) {
        bool same = j == i ||
                    (st[i].in_transaction && st[j].in_transaction && st[j].transaction == st[i].transaction);
        if (!same) continue;
        if (j > i) ++later;
        if (st[j].ms >= static_cast<double>(long_ms))
          r.warnings.push_back(
              fmt::format("ACCESS EXCLUSIVE on {} (taken by #{}) is held during long statement #{} ({})",
                          l.relation, i + 1, j + 1, ms_text(st[j].ms)));
      }
      if (later > 0)
        r.warnings.push_back(
            fmt::format("ACCESS EXCLUSIVE on {} (taken by #{}) is held across {} more statement{} until "
                        "commit ({} in all)",
                        l.relation, i + 1, later, later == 1 ? "" : "s", ms_text(l.held_ms)));
    }
    for (const auto& rw : st[i].rewrites)
      r.warnings.push_back(fmt::format("#{} rewrites {}: a full copy, under ACCESS EXCLUSIVE", i + 1, rw));
  }
  for (auto& [name, l] : strongest) r.strongest.push_back(l);
}

std::string locks_text(const StatementTrace& s) {
  std::string out;
  for (const auto& l : s.locks) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", l.relation, l.mode);
  return out.empty() ? "-" : out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "-" : out;
}

void print_revision(const RevisionTrace& r) {
  const auto& rev = *r.revision;
  out::data(fmt::format("Revision {} ({}), {}", rev.id, rev.message, rev.path));
  if (!r.note.empty()) out::data("  " + r.note);
  if (r.statements.empty()) {
    if (r.note.empty()) out::data("  no statements");
    return;
  }
  out::data(fmt::format("  {:>2}  {:>5}  {:>8}  {:<34}  {:<14}  {:<14}  {}", "#", "line", "time",
                        "locks taken", "rewrites", "scans", "statement"));
  for (size_t i = 0; i < r.statements.size(); ++i) {
    const auto& s = r.statements[i];
    std::string sql = one_line(s.sql, 70);
    if (!s.in_transaction) sql = "[outside a transaction] " + sql;
    out::data(fmt::format("  {:>2}  {:>5}  {:>8}  {:<34}  {:<14}  {:<14}  {}", i + 1, s.line, ms_text(s.ms),
                          locks_text(s), join(s.rewrites), join(s.scans), sql));
  }
  std::string strongest;
  for (const auto& l : r.strongest)
    strongest += fmt::format("{}{} {} (held {})", strongest.empty() ? "" : ", ", l.relation, l.mode,
                             ms_text(l.held_ms));
  out::data("  strongest lock per table: " + (strongest.empty() ? std::string("none") : strongest));
  for (const auto& w : r.warnings) out::data("  ! " + w);
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json::quote(v[i]);
  return out + "]";
}

std::string json_locks(const std::vector<RelationLock>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i)
    out += fmt::format("{}{{\"relation\": {}, \"mode\": {}, \"held_ms\": {:.3f}}}", i ? ", " : "",
                       json::quote(v[i].relation), json::quote(v[i].mode), v[i].held_ms);
  return out + "]";
}

std::string revision_json(const RevisionTrace& r) {
  std::string statements;
  for (size_t i = 0; i < r.statements.size(); ++i) {
    const auto& s = r.statements[i];
    statements += fmt::format(
        "{}\n      {{\"sql\": {}, \"file\": {}, \"line\": {}, \"in_transaction\": {}, \"sampled\": {}, "
        "\"ms\": {:.3f}, "
        "\"lock_timeout\": {}, \"locks\": {}, \"rewrites\": {}, \"scans\": {}}}",
        i ? "," : "", json::quote(s.sql), json::quote(s.file), s.line, s.in_transaction, s.sampled, s.ms,
        json::quote(s.lock_timeout), json_locks(s.locks), json_strings(s.rewrites), json_strings(s.scans));
  }
  return fmt::format(
      "{{\"revision\": {}, \"message\": {}, \"file\": {}, \"note\": {}, \"strongest\": {}, \"warnings\": {}, "
      "\"statements\": [{}\n    ]}}",
      json::quote(r.revision->id), json::quote(r.revision->message), json::quote(r.revision->path),
      r.note.empty() ? "null" : json::quote(r.note), json_locks(r.strongest), json_strings(r.warnings),
      statements);
}

// Runs one command quietly; returns "" or what failed (the run loop reported it on stderr).
std::string run_quietly(runner::Project& project, runner::MigrateOptions m) {
  bool was_quiet = out::quiet();
  out::configure(true, project.opts.no_color);
  std::string failure;
  try {
    runner::migrate(project, m);
  } catch (const Error& e) {
    // A failed revision comes with its whole report: printed here, once; its summary line adds nothing.
    const auto& f = e.failure;
    if (!f.report.empty()) out::error(f.report);
    failure = fmt::format("upgrade {} failed{}", m.target,
                          !f.report.empty() || f.message.empty() ? "" : ": " + f.message);
  } catch (...) {
    out::configure(was_quiet, project.opts.no_color);
    throw;
  }
  out::configure(was_quiet, project.opts.no_color);
  return failure;
}
}  // namespace

int trace(const config::GlobalOptions& global, const TraceOptions& options) {
  auto opts = global;
  opts.no_hooks = true;
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  verify::VersionTableName vt{project.cfg.version_table, project.cfg.version_table_schema};

  // REV_RANGE: FROM:TO (either side may be empty: base, head), or one revision alone.
  std::string from = "base", to = "head";
  if (auto colon = options.range.find(':'); colon != std::string::npos) {
    if (colon > 0) from = options.range.substr(0, colon);
    if (colon + 1 < options.range.size()) to = options.range.substr(colon + 1);
  } else {
    to = options.range;
    const auto& rev = map.get(*graph::resolve_target(map, to, {}).begin());
    from = rev.down_revisions.empty() ? "base" : rev.down_revisions.front();
  }
  auto steps = graph::plan_upgrade(map, {}, to);
  if (from != "base") {
    std::set<const graph::Revision*> below;
    for (const auto& s : graph::plan_upgrade(map, {}, from)) below.insert(s.revision);
    steps.erase(std::remove_if(steps.begin(), steps.end(),
                               [&](const graph::Step& s) { return below.count(s.revision); }),
                steps.end());
  }

  const bool on_user_database = !global.url.empty();
  if (on_user_database && options.data_rows > 0)
    throw UsageError(
        "trace --data fills tables of the throwaway database only; it cannot be combined with --url");
  std::unique_ptr<verify::ScratchDatabase> scratch;
  if (!on_user_database) {
    scratch = std::make_unique<verify::ScratchDatabase>("", false, false, vt);
    project.opts.url = scratch->url();
  } else if (db::database(config::parse_url(global.url).dialect).make_dialect()->catalog() !=
             dialect::Catalog::pg_catalog) {
    throw UsageError("trace reads PostgreSQL's lock table: --url must be a PostgreSQL database");
  }
  const std::string url = project.opts.url;
  if (!options.json)
    out::data(fmt::format(
        "Tracing {} revision{} ({} to {}) on {}", steps.size(), steps.size() == 1 ? "" : "s", from, to,
        on_user_database ? config::parse_url(url).masked() + ", in a transaction rolled back at the end"
                         : scratch->description()));

  verify::TraceRecorder recorder;
  auto wrap = [&](std::unique_ptr<db::Connection> inner) {
    return verify::tracing_connection(std::move(inner), recorder, url);
  };
  std::vector<RevisionTrace> traces;
  for (const auto& s : steps) traces.push_back({s.revision, {}, {}, {}, ""});
  std::string failure;
  std::unique_ptr<db::Connection> conn;
  if (!on_user_database) {
    conn = db::connect(config::parse_url(url));
    if (from != "base") {
      runner::MigrateOptions m;
      m.record_history = false;  // a throwaway database keeps no history
      m.target = from;
      failure = run_quietly(project, m);
    }
    for (auto& t : traces) {
      if (!failure.empty()) {
        t.note = "not run: an earlier step failed";
        continue;
      }
      if (options.data_rows > 0) {
        auto seeded = verify::seed_tables(*conn, vt, options.data_rows, 1, true);
        if (!seeded.filled.empty())
          t.note = fmt::format("filled with {} rows first: {}", options.data_rows, join(seeded.filled));
        for (const auto& sk : seeded.skipped) t.warnings.push_back("--data could not fill " + sk);
      }
      recorder.statements.clear();
      runner::MigrateOptions m;
      m.record_history = false;  // a throwaway database keeps no history
      m.target = t.revision->id;
      m.wrap_connection = wrap;
      failure = run_quietly(project, m);
      t.statements = recorder.statements;
      if (!failure.empty()) t.note = "FAILED: " + failure;
    }
  } else {
    runner::MigrateOptions m;
    m.record_history = false;  // a throwaway database keeps no history
    m.target = to;
    m.dry_run = true;
    m.wrap_connection = wrap;
    failure = run_quietly(project, m);
    for (const auto& st : recorder.statements)
      for (auto& t : traces)
        if (t.revision->path == st.file) t.statements.push_back(st);
    for (auto& t : traces)
      if (t.statements.empty())
        t.note = failure.empty()
                     ? "no statement traced: the dry run ran none for it (already applied, or it cannot "
                       "run inside the dry run's transaction)"
                     : "not traced: the dry run failed (see above)";
  }
  for (auto& t : traces) {
    analyse(t, options.long_statement_ms);
    if (!options.json) print_revision(t);
  }
  if (options.json) {
    std::string revs;
    for (size_t i = 0; i < traces.size(); ++i) revs += (i ? ",\n    " : "\n    ") + revision_json(traces[i]);
    out::data(
        fmt::format("{{\n  \"ok\": {},\n  \"from\": {},\n  \"to\": {},\n  \"failure\": {},\n  \"revisions\": "
                    "[{}\n  ]\n}}",
                    failure.empty(), json::quote(from), json::quote(to),
                    failure.empty() ? "null" : json::quote(failure), revs));
  }
  return failure.empty() ? 0 : 1;
}
}  // namespace luamig::commands
