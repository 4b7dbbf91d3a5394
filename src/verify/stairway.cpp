// `luamig verify`: the stairway. From FROM, for each revision up to TO: snapshot the catalog, upgrade one
// step, downgrade it, check the catalog equals the snapshot, upgrade again. Then downgrade to FROM (which
// must leave the schema as it was there; from base, only the version table) and upgrade to TO again (which
// must rebuild the schema the stairway built). Each step runs through the normal run loop (runner::migrate),
// quietly; its failure report goes to stderr as usual.
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "commands/verify.hpp"
#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "graph/plan.hpp"
#include "luahost/statement_origin.hpp"
#include "runner/migrate.hpp"
#include "runner/project.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/output.hpp"
#include "verify/catalog_snapshot.hpp"
#include "verify/scratch_database.hpp"
#include "verify/seed.hpp"

namespace luamig::commands {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct StepResult {
  const graph::Revision* revision = nullptr;
  double seconds = 0;
  std::string failure;               // what went wrong ("" = fine)
  std::vector<std::string> diff;     // schema differences after the downgrade
  std::string downgrade_at;          // file:line of downgrade() when the downgrade is to blame
  std::vector<std::string> seeding;  // --data: tables skipped
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string downgrade_position(const graph::Revision& rev) {
  int line = 0;
  try {
    line = luahost::function_definition_line(rev.path, read_file(rev.path), "downgrade");
  } catch (const std::exception&) {
  }
  return line > 0 ? fmt::format("{}:{}", rev.path, line) : rev.path;
}

class Stairway {
 public:
  Stairway(runner::Project& project, const VerifyOptions& options, db::Connection& conn,
           const verify::VersionTableName& vt)
      : project_(project), options_(options), conn_(conn), vt_(vt) {}

  // Runs one upgrade/downgrade command quietly. Returns "" or a description of the failure (already reported
  // on stderr by the run loop).
  std::string migrate(graph::Direction direction, const std::string& target) {
    runner::MigrateOptions m;
    m.record_history = false;  // a throwaway database keeps no history
    m.direction = direction;
    m.target = target;
    m.force = true;  // allow_downgrade = false is about production databases, not this one
    bool was_quiet = out::quiet();
    out::configure(true, project_.opts.no_color);
    try {
      runner::migrate(project_, m);
    } catch (const Error& e) {
      // A failed revision comes with its whole report: printed here, once; its summary line adds nothing.
      const auto& f = e.failure;
      if (!f.report.empty()) out::error(f.report);
      out::configure(was_quiet, project_.opts.no_color);
      return fmt::format("{} {} failed{}", direction == graph::Direction::Up ? "upgrade" : "downgrade",
                         target, !f.report.empty() || f.message.empty() ? "" : ": " + f.message);
    } catch (...) {
      out::configure(was_quiet, project_.opts.no_color);
      throw;
    }
    out::configure(was_quiet, project_.opts.no_color);
    return "";
  }

  verify::Snapshot snapshot() { return verify::take_snapshot(conn_, vt_); }

  std::set<std::string> heads() {
    db::VersionTable table(conn_, vt_.table, vt_.schema);
    auto h = table.heads();
    return {h.begin(), h.end()};
  }

  void seed(StepResult& r) {
    if (!options_.data) return;
    auto report = verify::seed_tables(conn_, vt_, kSeedRows, next_row_);
    next_row_ += kSeedRows;
    r.seeding = report.skipped;
  }

  // Where a downgrade from `heads` one step below `rev` lands: its parent, or base.
  static std::string below(const graph::Revision& rev) {
    return rev.down_revisions.empty() ? "base" : rev.down_revisions.front();
  }

  // Downgrading to the parent of a revision on a branch also removes its applied siblings (everything above
  // the parent): upgrade them again so that the comparison is with the state before the step.
  std::string restore_siblings(const std::set<std::string>& heads_before) {
    auto now = heads();
    for (const auto& h : heads_before)
      if (!now.count(h))
        if (auto f = migrate(graph::Direction::Up, h); !f.empty()) return "restoring branch " + h + ": " + f;
    return "";
  }

  StepResult step(const graph::Revision& rev) {
    StepResult r;
    r.revision = &rev;
    auto started = Clock::now();
    auto before = snapshot();
    const auto heads_before = heads();
    seed(r);
    if (auto f = migrate(graph::Direction::Up, rev.id); !f.empty()) {
      r.failure = options_.data ? f + " (its tables held generated rows: --data)" : f;
    } else if (auto f2 = migrate(graph::Direction::Down, below(rev)); !f2.empty()) {
      r.failure = f2;
      r.downgrade_at = downgrade_position(rev);
    } else if (auto f4 = restore_siblings(heads_before); !f4.empty()) {
      r.failure = f4;
    } else {
      r.diff = verify::diff_snapshots(before, snapshot());
      if (!r.diff.empty()) {
        r.failure = "its downgrade does not restore the schema";
        r.downgrade_at = downgrade_position(rev);
      } else if (auto f3 = migrate(graph::Direction::Up, rev.id); !f3.empty()) {
        r.failure = "upgrading again after its downgrade failed: " + f3;
      }
    }
    r.seconds = seconds_since(started);
    return r;
  }

 private:
  runner::Project& project_;
  const VerifyOptions& options_;
  db::Connection& conn_;
  verify::VersionTableName vt_;
  static constexpr int kSeedRows = 3;
  long long next_row_ = 1;
};

std::string indented(const std::string& entry) {
  std::string out = "        ";
  for (char c : entry) out += c == '\n' ? std::string("\n        ") : std::string(1, c);
  return out;
}

void print_step(const StepResult& r) {
  const auto& rev = *r.revision;
  if (r.failure.empty()) {
    out::data(fmt::format("  ok    {} {} ({})", rev.id, rev.message,
                          format_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::duration<double>(r.seconds)))));
  } else {
    out::error(fmt::format("  FAIL  {} {} ({}): {}", rev.id, rev.message, rev.path, r.failure));
    if (!r.downgrade_at.empty()) out::error(fmt::format("        downgrade() at {}", r.downgrade_at));
    if (!r.diff.empty())
      out::error(
          "        schema after the downgrade, compared with before the upgrade (+ left behind, - missing, "
          "~ changed):");
    for (const auto& d : r.diff) out::error(indented(d));
  }
  for (const auto& s : r.seeding) out::warn(fmt::format("        --data: skipped {}", s));
}

std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json::quote(v[i]);
  return out + "]";
}

std::string step_json(const StepResult& r) {
  const auto& rev = *r.revision;
  return fmt::format(
      "{{\"revision\": {}, \"message\": {}, \"file\": {}, \"ok\": {}, \"seconds\": {:.3f}, \"failure\": {}, "
      "\"downgrade_at\": {}, \"diff\": {}, \"seeding_skipped\": {}}}",
      json::quote(rev.id), json::quote(rev.message), json::quote(rev.path),
      r.failure.empty() ? "true" : "false", r.seconds, r.failure.empty() ? "null" : json::quote(r.failure),
      r.downgrade_at.empty() ? "null" : json::quote(r.downgrade_at), json_list(r.diff), json_list(r.seeding));
}
}  // namespace

int verify(const config::GlobalOptions& global, const VerifyOptions& options) {
  auto started = Clock::now();
  auto opts = global;
  opts.no_hooks = true;  // hooks are about environments; the stairway checks the migrations' schema alone
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  verify::VersionTableName vt{project.cfg.version_table, project.cfg.version_table_schema};
  // Resolve the range before starting anything.
  auto steps = graph::plan_upgrade(map, {}, options.to);
  std::set<std::string> from_heads;
  if (options.from != "base") {
    from_heads = graph::resolve_target(map, options.from, {});
    auto skip = graph::plan_upgrade(map, {}, options.from);
    std::set<const graph::Revision*> below;
    for (const auto& s : skip) below.insert(s.revision);
    std::vector<graph::Step> rest;
    for (const auto& s : steps)
      if (!below.count(s.revision)) rest.push_back(s);
    steps = rest;
  }

  verify::ScratchDatabase scratch(global.url, options.sqlite, options.force, vt);
  project.opts.url = scratch.url();
  if (!options.json)
    out::data(fmt::format("Verifying {} revision{} ({} to {}) on {}", steps.size(),
                          steps.size() == 1 ? "" : "s", options.from, options.to, scratch.description()));
  auto conn = db::connect(config::parse_url(scratch.url()));
  Stairway stairway(project, options, *conn, vt);

  std::vector<StepResult> results;
  std::string failure, round_trip;
  std::vector<std::string> round_diff;
  if (options.from != "base") {
    if (auto f = stairway.migrate(graph::Direction::Up, options.from); !f.empty())
      failure = "reaching --from: " + f;
  }
  verify::Snapshot at_from;
  if (failure.empty()) at_from = stairway.snapshot();
  for (const auto& s : steps) {
    if (!failure.empty()) break;
    results.push_back(stairway.step(*s.revision));
    if (!options.json) print_step(results.back());
    if (!results.back().failure.empty())
      failure = fmt::format("revision {} ({}): {}", s.revision->id, s.revision->path, results.back().failure);
  }
  // The round trip: down to FROM and up to TO again, in one command each.
  if (failure.empty() && !steps.empty()) {
    auto at_to = stairway.snapshot();
    if (auto f = stairway.migrate(graph::Direction::Down, options.from); !f.empty()) {
      failure = f;
    } else {
      round_diff = verify::diff_snapshots(at_from, stairway.snapshot());
      auto heads = stairway.heads();
      if (!round_diff.empty())
        failure = fmt::format("downgrade {} did not restore the schema at {}", options.from, options.from);
      else if (heads != from_heads)
        failure = fmt::format("downgrade {} left the version table at {}", options.from,
                              heads.empty() ? std::string("base") : *heads.begin());
      else if (auto f2 = stairway.migrate(graph::Direction::Up, options.to); !f2.empty())
        failure = f2;
      else if (round_diff = verify::diff_snapshots(at_to, stairway.snapshot()); !round_diff.empty())
        failure = fmt::format("upgrade {} again did not build the same schema as the stairway", options.to);
    }
    round_trip = failure;
    if (!options.json && !failure.empty()) {
      out::error("  FAIL  round trip: " + failure);
      for (const auto& d : round_diff) out::error(indented(d));
    } else if (!options.json) {
      out::data(fmt::format("  ok    round trip: upgrade {}, downgrade {}, upgrade {}", options.to,
                            options.from, options.to));
    }
  }
  double total = seconds_since(started);
  if (options.json) {
    std::string steps_json;
    for (size_t i = 0; i < results.size(); ++i)
      steps_json += (i ? ",\n    " : "\n    ") + step_json(results[i]);
    out::data(
        fmt::format("{{\n  \"ok\": {},\n  \"database\": {},\n  \"from\": {},\n  \"to\": {},\n  \"seconds\": "
                    "{:.3f},\n  \"failure\": {},\n  \"round_trip_diff\": {},\n  \"steps\": [{}\n  ]\n}}",
                    failure.empty() ? "true" : "false", json::quote(scratch.description()),
                    json::quote(options.from), json::quote(options.to), total,
                    failure.empty() ? "null" : json::quote(failure), json_list(round_diff), steps_json));
  } else if (failure.empty()) {
    out::data(fmt::format("Verified: every downgrade restores the schema ({} revision{}, {:.2f} s)",
                          steps.size(), steps.size() == 1 ? "" : "s", total));
  } else {
    out::error(fmt::format("Verify failed: {}", failure));
  }
  return failure.empty() ? 0 : 1;
}
}  // namespace luamig::commands
