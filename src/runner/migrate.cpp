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

std::set<std::string> to_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::string heads_or_base(const std::set<std::string>& heads) {
  if (heads.empty()) return "base (no revision applied)";
  return join(std::vector<std::string>(heads.begin(), heads.end()), ", ");
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

// One upgrade/downgrade command, phase by phase.
class Run {
 public:
  Run(Project& project, const MigrateOptions& options) : project_(project), options_(options) {}

  void execute() {
    // A project whose graph cannot be built fails before connecting; one validated with these very files before
    // need not be built at all when the database turns out to be at its heads.
    if (!project_.remembered_heads()) project_.load_graph();
    connect();
    if (already_at_target()) return;
    const auto& map = project_.load_graph();
    prepare_version_table();
    heads_ = to_set(version_table_->heads());
    plan(map);
    if (!steps_.empty()) start_engine();
    run_steps(map);
  }

 private:
  void connect() {
    conn_ = db::connect(project_.database_url());
    version_table_ = std::make_unique<db::VersionTable>(*conn_, project_.cfg.version_table,
                                                        project_.cfg.version_table_schema);
  }

  // The container-entrypoint case: `upgrade head` on a database that is already there. One query reads the heads
  // (outside any transaction, creating nothing); when the plan from them is empty and the version table exists,
  // the command ends without a lock, a transaction or the Lua engine. That is safe because nothing is changed.
  // Otherwise the run starts over from the version table, and any error is left for that full path to report.
  bool already_at_target() {
    bool table_exists = false;
    heads_ = to_set(version_table_->heads(&table_exists));
    if (!table_exists) return false;
    if (!at_remembered_heads()) {
      try {
        plan(project_.load_graph());
      } catch (const std::exception&) {
        return false;
      }
      if (!steps_.empty()) return false;
    }
    out::line(fmt::format("Nothing to do: the database is at {}", heads_or_base(heads_)));
    return true;
  }

  // `upgrade head` / `upgrade heads` answered without the graph: the database holds exactly the heads remembered
  // from the last validated load of these same files (a single one for "head"), which is where the plan is empty.
  bool at_remembered_heads() {
    if (options_.direction != graph::Direction::Up || (options_.target != "head" && options_.target != "heads"))
      return false;
    const auto& remembered = project_.remembered_heads();
    if (!remembered || (options_.target == "head" && remembered->size() != 1)) return false;
    return !heads_.empty() && to_set(*remembered) == heads_;
  }

  void prepare_version_table() {
    if (version_table_->exists()) return;
    conn_->begin();
    version_table_->ensure();
    conn_->commit();
  }

  void plan(const graph::RevisionMap& map) {
    steps_ = options_.direction == graph::Direction::Up ? graph::plan_upgrade(map, heads_, options_.target)
                                                        : graph::plan_downgrade(map, heads_, options_.target);
    // A revision without downgrade() is refused before anything runs.
    if (options_.direction == graph::Direction::Down) {
      for (const auto& s : steps_)
        if (!s.revision->has_downgrade)
          throw RunError(fmt::format("{}: revision {} has no downgrade() function, so the database cannot be "
                                     "downgraded past it; nothing was changed",
                                     s.revision->path, s.revision->id));
    }
  }

  void start_engine() {
    luahost::Context context;
    context.dialect = conn_->dialect().name();
    context.x = project_.opts.x;
    services_ = std::make_unique<OnlineServices>(*conn_);
    luahost::Limits limits;
    limits.time = project_.cfg.lua_time_limit;
    limits.memory = project_.cfg.lua_memory_limit;
    engine_ = std::make_unique<luahost::Engine>(services_.get(), context, limits, project_.cfg.lib_dir().string());
  }

  // Loads the revision's file into a fresh sandbox and calls its upgrade()/downgrade().
  void run_script(const graph::Step& step) {
    const auto& rev = *step.revision;
    const char* function = step.direction == graph::Direction::Up ? "upgrade" : "downgrade";
    std::string source = scripts::read_text(rev.path);
    auto script = engine_->load(rev.path, source);
    auto declared = script.global("revision");
    if (!declared.is_string() || declared.str() != rev.id)
      throw RunError(fmt::format("{}: the file's `revision` changed while luamig was running", rev.path));
    if (!script.has_function(function))
      throw RunError(fmt::format("{}: revision {} defines no {}() function", rev.path, rev.id, function));
    engine_->call(script, function,
                  {{"revision", rev.id}, {"down_revision", join(rev.down_revisions, ",")}, {"direction", function}});
    engine_->unload(script);
  }

  void record_version_change(const graph::RevisionMap& map, const graph::Step& step) {
    auto change = graph::version_change(map, heads_, step);
    for (const auto& d : change.deletes) version_table_->remove(d);
    if (change.update) version_table_->update(change.update->first, change.update->second);
    for (const auto& i : change.inserts) version_table_->insert(i);
    graph::apply(heads_, change);
  }

  // Rolls back, reports, and throws the already-reported RunError.
  [[noreturn]] void fail_step(const graph::Step& step, const std::exception& e, size_t done) {
    conn_->rollback();
    const bool per_step = project_.cfg.transaction_per_migration;
    if (!per_step) heads_ = to_set(version_table_->heads());
    report_step_failure(step, e);
    out::error(fmt::format("The database is at {}: {} of {} step{} applied before the failure.",
                           per_step ? heads_or_base(heads_) : "its state before this command", per_step ? done : 0,
                           steps_.size(), steps_.size() == 1 ? "" : "s"));
    throw RunError("", 1);
  }

  // True when the version table no longer shows what this run planned from: another process has migrated
  // between our steps. Only dialects whose write lock is the transaction itself need the check.
  bool moved_under_us() {
    if (!conn_->dialect().serializes_by_transaction()) return false;
    auto now = to_set(version_table_->heads());
    if (now == heads_) return false;
    heads_ = std::move(now);
    return true;
  }

  void run_steps(const graph::RevisionMap& map) {
    const bool per_step = project_.cfg.transaction_per_migration;
    size_t done = 0;
    if (!per_step && !steps_.empty()) conn_->begin();
    for (size_t i = 0; i < steps_.size(); ++i) {
      const auto& step = steps_[i];
      auto started = Clock::now();
      if (per_step) {
        conn_->begin();
        if (moved_under_us()) {
          conn_->rollback();
          plan(map);
          i = static_cast<size_t>(-1);
          continue;
        }
      }
      try {
        run_script(step);
        record_version_change(map, step);
        if (per_step) conn_->commit();
      } catch (const std::exception& e) {
        fail_step(step, e, done);
      }
      ++done;
      out::line(fmt::format("{} ({})", step_description(step), format_duration(Clock::now() - started)));
    }
    if (!per_step && !steps_.empty()) {
      try {
        conn_->commit();
      } catch (const SqlFailure& e) {
        conn_->rollback();
        throw RunError(fmt::format("COMMIT failed: {} (SQLSTATE {}); nothing was applied", e.message(), e.sqlstate()));
      }
    }
    if (done == 0) out::line(fmt::format("Nothing to do: the database is at {}", heads_or_base(heads_)));
  }

  Project& project_;
  MigrateOptions options_;
  std::unique_ptr<db::Connection> conn_;
  std::unique_ptr<db::VersionTable> version_table_;
  std::unique_ptr<OnlineServices> services_;
  std::unique_ptr<luahost::Engine> engine_;
  std::set<std::string> heads_;
  std::vector<graph::Step> steps_;
};
}  // namespace

std::string step_description(const graph::Step& step) {
  const auto& r = *step.revision;
  std::string downs = join(r.down_revisions, ", ");
  if (step.direction == graph::Direction::Up)
    return fmt::format("Running upgrade {} -> {}, {}", downs, r.id, r.message);
  return fmt::format("Running downgrade {} -> {}, {}", r.id, downs, r.message);
}

void migrate(Project& project, const MigrateOptions& options) { Run(project, options).execute(); }
}  // namespace luamig::runner
