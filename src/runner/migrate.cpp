#include "runner/migrate.hpp"

#include <fmt/format.h>

#include <chrono>
#include <set>

#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "luahost/engine.hpp"
#include "runner/report.hpp"
#include "scripts/loader.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/output.hpp"
#include "util/sql_failure.hpp"

namespace luamig::runner {
namespace {

using Clock = std::chrono::steady_clock;

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// What migrations reach through `op`: statements go to the live connection.
class OnlineServices : public luahost::Services {
 public:
  explicit OnlineServices(db::Connection& conn) : conn_(conn) {}

  long long execute(const std::string& sql, const std::vector<Param>& params) override {
    return conn_.execute(sql, params);
  }
  std::unique_ptr<RowStream> query(const std::string& sql, const std::vector<Param>& params) override {
    return conn_.stream(sql, params);
  }
  void autocommit_block(const std::function<void()>& block) override {
    bool was_in_tx = conn_.in_transaction();
    if (was_in_tx) conn_.commit();
    block();
    if (was_in_tx) conn_.begin();
  }
  void log(const std::string& level, const std::string& message) override {
    if (level == "warn" || level == "error")
      out::warn("  " + message);
    else
      out::line("  " + message);
  }

 private:
  db::Connection& conn_;
};

std::set<std::string> to_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

void apply_version_change(db::VersionTable& vt, const graph::VersionChange& change) {
  for (const auto& d : change.deletes) vt.remove(d);
  if (change.update) vt.update(change.update->first, change.update->second);
  for (const auto& i : change.inserts) vt.insert(i);
}

std::string heads_or_base(const std::set<std::string>& heads) {
  if (heads.empty()) return "base (no revision applied)";
  return join(std::vector<std::string>(heads.begin(), heads.end()), ", ");
}
}  // namespace

std::string step_description(const graph::Step& step) {
  const auto& r = *step.revision;
  std::string downs = join(r.down_revisions, ", ");
  if (step.direction == graph::Direction::Up)
    return fmt::format("Running upgrade {} -> {}, {}", downs, r.id, r.message);
  return fmt::format("Running downgrade {} -> {}, {}", r.id, downs, r.message);
}

void migrate(Project& project, const MigrateOptions& options) {
  const auto& map = project.load_graph();
  auto url = project.database_url();
  auto conn = db::connect(url);
  db::VersionTable vt(*conn, project.cfg.version_table, project.cfg.version_table_schema);

  // Plan first: a target that does not resolve (several heads, unknown revision...) leaves the database untouched,
  // without even creating the version table.
  std::set<std::string> heads = to_set(vt.heads());
  std::vector<graph::Step> steps = options.direction == graph::Direction::Up
                                       ? graph::plan_upgrade(map, heads, options.target)
                                       : graph::plan_downgrade(map, heads, options.target);
  // A revision without downgrade() is refused before anything runs.
  if (options.direction == graph::Direction::Down) {
    for (const auto& s : steps)
      if (!s.revision->has_downgrade)
        throw RunError(fmt::format("{}: revision {} has no downgrade() function, so the database cannot be "
                                   "downgraded past it; nothing was changed",
                                   s.revision->path, s.revision->id));
  }
  const bool per_step = project.cfg.transaction_per_migration;
  if (!per_step && !steps.empty()) {
    // One transaction for the whole command, the version table's creation included: a failure leaves nothing.
    conn->begin();
    try {
      vt.ensure();
    } catch (...) {
      conn->rollback();
      throw;
    }
  } else if (!vt.exists()) {
    conn->begin();
    vt.ensure();
    conn->commit();
  }

  luahost::Context context;
  context.dialect = conn->dialect().name();
  context.x = project.opts.x;
  OnlineServices services(*conn);
  luahost::Limits limits;
  limits.time = project.cfg.lua_time_limit;
  limits.memory = project.cfg.lua_memory_limit;
  luahost::Engine engine(&services, context, limits, project.cfg.lib_dir().string());

  const char* function = options.direction == graph::Direction::Up ? "upgrade" : "downgrade";
  size_t done = 0;
  for (const auto& step : steps) {
    const auto& rev = *step.revision;
    auto started = Clock::now();
    if (per_step) conn->begin();
    try {
      std::string source = scripts::read_text(rev.path);
      auto script = engine.load(rev.path, source);
      auto declared = script.global("revision");
      if (!declared.is_string() || declared.str() != rev.id)
        throw RunError(fmt::format("{}: the file's `revision` changed while luamig was running", rev.path));
      if (!script.has_function(function))
        throw RunError(fmt::format("{}: revision {} defines no {}() function", rev.path, rev.id, function));
      engine.call(script, function,
                  {{"revision", rev.id},
                   {"down_revision", join(rev.down_revisions, ",")},
                   {"direction", function}});
      engine.unload(script);
      auto change = graph::version_change(map, heads, step);
      apply_version_change(vt, change);
      graph::apply(heads, change);
      if (per_step) conn->commit();
    } catch (const std::exception& e) {
      conn->rollback();
      // What the database says now (the in-memory heads may be ahead of it when COMMIT itself failed).
      try {
        heads = to_set(vt.heads());
      } catch (const std::exception&) {
      }
      report_step_failure(step, e, per_step);
      out::error(fmt::format("The database is at {}: {} of {} step{} applied before the failure.",
                             per_step ? heads_or_base(heads) : "its state before this command", per_step ? done : 0,
                             steps.size(), steps.size() == 1 ? "" : "s"));
      throw RunError("", 1);
    }
    ++done;
    out::line(fmt::format("{} ({})", step_description(step), format_duration(Clock::now() - started)));
  }
  if (!per_step && !steps.empty()) {
    try {
      conn->commit();
    } catch (const SqlFailure& e) {
      conn->rollback();
      throw RunError(fmt::format("COMMIT failed: {} (SQLSTATE {}); nothing was applied", e.message(), e.sqlstate()));
    }
  }
  if (steps.empty()) out::line(fmt::format("Nothing to do: the database is at {}", heads_or_base(heads)));
}
}  // namespace luamig::runner
