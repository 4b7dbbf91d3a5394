#include "runner/migrate.hpp"

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <optional>
#include <set>

#include "db/connection.hpp"
#include "db/version_table.hpp"
#include "luahost/engine.hpp"
#include "runner/hooks.hpp"
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

using luahost::Value;

// Server timeouts applied to every transaction that runs Lua code (migrations and hooks).
struct Timeouts {
  std::optional<std::chrono::milliseconds> lock, statement;
};

// What migrations reach through `op`: statements go to the live connection.
class OnlineServices : public luahost::Services {
 public:
  OnlineServices(db::Connection& conn, Timeouts timeouts) : conn_(conn), timeouts_(timeouts) {}

  // BEGIN, then SET LOCAL lock_timeout / statement_timeout when configured: every migration and hook transaction
  // starts here, so the limits are in force for all the SQL they run.
  void begin() {
    conn_.begin();
    apply_timeouts(true);
  }

  long long execute(const std::string& sql, const std::vector<Param>& params) override {
    return conn_.execute(sql, params);
  }
  std::unique_ptr<RowStream> query(const std::string& sql, const std::vector<Param>& params) override {
    return conn_.stream(sql, params);
  }
  void autocommit_block(const std::function<void()>& block) override {
    bool was_in_tx = conn_.in_transaction();
    if (was_in_tx) conn_.commit();
    // Outside a transaction SET LOCAL has no effect: the block runs under session-level settings, reset after.
    apply_timeouts(false);
    try {
      block();
    } catch (...) {
      reset_timeouts();
      throw;
    }
    reset_timeouts();
    if (was_in_tx) begin();
  }
  void log(const std::string& level, const std::string& message) override {
    if (level == "warn" || level == "error")
      out::warn("  " + message);
    else
      out::line("  " + message);
  }

 private:
  void apply_timeouts(bool local) {
    const auto& d = conn_.dialect();
    for (const auto& [name, value] : {std::pair{"lock_timeout", timeouts_.lock}, {"statement_timeout", timeouts_.statement}}) {
      if (!value) continue;
      if (auto sql = d.set_timeout(name, *value, local); !sql.empty()) conn_.execute(sql);
    }
  }
  void reset_timeouts() noexcept {
    try {
      const auto& d = conn_.dialect();
      if (timeouts_.lock)
        if (auto sql = d.reset_setting("lock_timeout"); !sql.empty()) conn_.execute(sql);
      if (timeouts_.statement)
        if (auto sql = d.reset_setting("statement_timeout"); !sql.empty()) conn_.execute(sql);
    } catch (...) {
      // The connection is gone or in a failed state; the step fails on its own.
    }
  }

  db::Connection& conn_;
  Timeouts timeouts_;
};

const char* direction_name(graph::Direction d) { return d == graph::Direction::Up ? "upgrade" : "downgrade"; }

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// `err` of on_error(step, err, ctx): what failed, where, and the database's view of it.
Value error_value(const std::exception& e) {
  const luahost::ScriptFailure* f = nullptr;
  std::string hook;
  if (const auto* he = dynamic_cast<const HookError*>(&e)) {
    f = &he->failure;
    hook = he->function;
  } else if (const auto* se = dynamic_cast<const luahost::ScriptError*>(&e)) {
    f = &se->failure;
  }
  if (f) {
    return Value::record({
        {"message", Value::text(f->db_message.value_or(f->message))},
        {"file", f->file.empty() ? Value{} : Value::text(f->file)},
        {"line", f->line > 0 ? Value::number(f->line) : Value{}},
        {"sqlstate", f->sqlstate ? Value::text(*f->sqlstate) : Value{}},
        {"sql", f->sql ? Value::text(*f->sql) : Value{}},
        {"hook", hook.empty() ? Value{} : Value::text(hook)},
        {"timeout", Value::flag(f->timeout)},
        {"memory", Value::flag(f->memory)},
    });
  }
  if (const auto* sf = dynamic_cast<const SqlFailure*>(&e)) {
    return Value::record({{"message", Value::text(sf->message())},
                          {"sqlstate", sf->sqlstate().empty() ? Value{} : Value::text(sf->sqlstate())},
                          {"sql", Value::text(sf->sql())}});
  }
  return Value::record({{"message", Value::text(e.what())}});
}

// One upgrade/downgrade command, phase by phase:
//   check policy and hooks files -> connect -> [advisory lock] -> version table -> plan -> engine and hooks ->
//   before_run -> steps (before_migration, upgrade/downgrade, version row, after_migration, commit) -> after_run.
class Run {
 public:
  Run(Project& project, const MigrateOptions& options) : project_(project), options_(options) {}

  void execute() {
    const auto& map = project_.load_graph();
    check_downgrade_allowed();
    open_hooks();   // missing files and syntax errors stop the run before it touches the database
    auto url = project_.database_url();
    database_masked_ = url.masked();
    project_.announce(url);
    announce_hooks();
    connect(url);
    // The advisory lock (issue 6) is taken here: before the version table is read, and before before_run.
    prepare_version_table();
    heads_ = to_set(version_table_->heads());
    start_heads_ = heads_;
    plan(map);
    start_engine();
    started_ = Clock::now();
    before_run(map);
    run_steps(map);
    after_run();
    hooks_.unload();
  }

 private:
  const config::Config& cfg() const { return project_.cfg; }

  void check_downgrade_allowed() {
    if (options_.direction != graph::Direction::Down || cfg().allow_downgrade) return;
    const auto& origin = cfg().settings.get("allow_downgrade").origin;
    if (!options_.force)
      throw RunError(fmt::format("downgrade refused: environment '{}' has allow_downgrade = false (set by {}); nothing was "
                                 "changed. Pass --force to downgrade anyway.",
                                 cfg().environment, origin),
                     2);
    out::warn(fmt::format("Environment '{}' sets allow_downgrade = false ({}): downgrading anyway (--force)",
                          cfg().environment, origin));
  }

  void open_hooks() {
    if (!project_.opts.no_hooks) hooks_ = Hooks::open(cfg().hooks);
  }

  void announce_hooks() {
    if (!project_.opts.no_hooks) return;
    std::vector<std::string> files;
    for (const auto& h : cfg().hooks) files.push_back(h.string());
    out::line(files.empty() ? std::string("Hooks skipped (--no-hooks); none are configured")
                            : fmt::format("Hooks skipped (--no-hooks): {}", join(files, ", ")));
  }

  void connect(const config::DatabaseUrl& url) {
    conn_ = db::connect(url);
    version_table_ = std::make_unique<db::VersionTable>(*conn_, cfg().version_table, cfg().version_table_schema);
    services_ = std::make_unique<OnlineServices>(*conn_, Timeouts{cfg().lock_timeout, cfg().statement_timeout});
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
    context.environment = cfg().environment;
    context.dialect = conn_->dialect().name();
    context.x = project_.opts.x;
    luahost::Limits limits;
    limits.time = cfg().lua_time_limit;
    limits.memory = cfg().lua_memory_limit;
    engine_ = std::make_unique<luahost::Engine>(services_.get(), context, limits, cfg().lib_dir().string());
  }

  // ---- hook arguments ----------------------------------------------------------------------------------------

  Value step_value(size_t index, std::optional<long long> duration_ms) const {
    const auto& step = steps_[index];
    const auto& r = *step.revision;
    return Value::record({
        {"revision", Value::text(r.id)},
        {"direction", Value::text(direction_name(step.direction))},
        {"message", Value::text(r.message)},
        {"file", Value::text(r.path)},
        {"down_revisions", Value::list(r.down_revisions)},
        {"index", Value::number(static_cast<double>(index + 1))},
        {"duration_ms", duration_ms ? Value::number(static_cast<double>(*duration_ms)) : Value{}},
    });
  }

  // ctx of every hook: the command, environment, database, where the run starts and ends, and its steps.
  Value run_context(const std::set<std::string>& to, std::optional<long long> duration_ms) const {
    std::vector<Value> steps;
    for (size_t i = 0; i < steps_.size(); ++i) steps.push_back(step_value(i, std::nullopt));
    std::vector<std::pair<std::string, Value>> x;
    for (const auto& [k, v] : project_.opts.x) x.emplace_back(k, Value::text(v));
    return Value::record({
        {"command", Value::text(direction_name(options_.direction))},
        {"environment", Value::text(cfg().environment)},
        {"database", Value::text(database_masked_)},
        {"target", Value::text(options_.target)},
        {"from", Value::list(std::vector<std::string>(start_heads_.begin(), start_heads_.end()))},
        {"to", Value::list(std::vector<std::string>(to.begin(), to.end()))},
        {"steps", Value::list(steps)},
        {"x", Value::record(x)},
        {"duration_ms", duration_ms ? Value::number(static_cast<double>(*duration_ms)) : Value{}},
    });
  }

  // The heads the plan ends at, computed before anything runs.
  std::set<std::string> planned_heads(const graph::RevisionMap& map) const {
    auto heads = start_heads_;
    for (const auto& step : steps_) graph::apply(heads, graph::version_change(map, heads, step));
    return heads;
  }

  // Runs `body` in a transaction of its own; a HookError rolls it back, is reported and ends the run (exit 1).
  void in_hook_transaction(const std::function<void()>& body, const std::string& consequence) {
    services_->begin();
    try {
      body();
      conn_->commit();
    } catch (const HookError& e) {
      conn_->rollback();
      report_hook_failure(e, consequence);
      throw RunError("", 1);
    } catch (...) {
      conn_->rollback();
      throw;
    }
  }

  // Loads the hooks files (their top level may run SQL, like before_run) and calls before_run.
  void before_run(const graph::RevisionMap& map) {
    if (hooks_.empty()) return;
    context_ = run_context(planned_heads(map), std::nullopt);
    in_hook_transaction(
        [&] {
          hooks_.load(*engine_);
          hooks_.call("before_run", {context_});
        },
        "nothing was changed.");
  }

  void after_run() {
    if (hooks_.empty() || !hooks_.defines("after_run")) return;
    auto ctx = run_context(heads_, elapsed_ms(started_));
    in_hook_transaction([&] { hooks_.call("after_run", {ctx}); },
                        fmt::format("the migrations above were committed; the database is at {}.",
                                    heads_or_base(heads_)));
  }

  // Each file's on_error runs in a transaction of its own; its failure is reported and does not hide the error.
  void call_on_error(size_t index, const std::exception& e, long long duration_ms) {
    if (hooks_.empty() || !hooks_.defines("on_error")) return;
    auto step = step_value(index, duration_ms);
    auto err = error_value(e);
    for (size_t i = 0; i < hooks_.size(); ++i) {
      if (!hooks_.file_defines(i, "on_error")) continue;
      try {
        services_->begin();
        hooks_.call_file(i, "on_error", {step, err, context_});
        conn_->commit();
      } catch (const HookError& he) {
        conn_->rollback();
        report_hook_failure(he, "its changes were rolled back.");
      } catch (const std::exception& other) {
        conn_->rollback();
        out::error(fmt::format("ERROR: hook on_error of {} failed: {}", hooks_.files()[i], other.what()));
      }
    }
  }

  // ---- steps -------------------------------------------------------------------------------------------------

  // Loads the revision's file into a fresh sandbox and calls its upgrade()/downgrade().
  void run_script(const graph::Step& step) {
    const auto& rev = *step.revision;
    const char* function = direction_name(step.direction);
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

  // Rolls back, reports, calls on_error, and throws the already-reported RunError.
  [[noreturn]] void fail_step(size_t index, const std::exception& e, size_t done, long long duration_ms) {
    const auto& step = steps_[index];
    conn_->rollback();
    const bool per_step = cfg().transaction_per_migration;
    if (!per_step) heads_ = to_set(version_table_->heads());
    report_step_failure(step, e);
    call_on_error(index, e, duration_ms);
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
    const bool per_step = cfg().transaction_per_migration;
    size_t done = 0;
    if (!per_step && !steps_.empty()) services_->begin();
    for (size_t i = 0; i < steps_.size(); ++i) {
      const auto& step = steps_[i];
      auto step_started = Clock::now();
      if (per_step) {
        services_->begin();
        if (moved_under_us()) {
          conn_->rollback();
          plan(map);
          if (!hooks_.empty()) context_ = run_context(planned_heads(map), std::nullopt);
          i = static_cast<size_t>(-1);
          continue;
        }
      }
      try {
        hooks_.call("before_migration", {step_value(i, std::nullopt), context_});
        run_script(step);
        record_version_change(map, step);
        hooks_.call("after_migration", {step_value(i, elapsed_ms(step_started)), context_});
        if (per_step) conn_->commit();
      } catch (const std::exception& e) {
        fail_step(i, e, done, elapsed_ms(step_started));
      }
      ++done;
      out::line(fmt::format("{} ({})", step_description(step), format_duration(Clock::now() - step_started)));
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
  Hooks hooks_;
  Value context_;
  std::string database_masked_;
  std::set<std::string> heads_, start_heads_;
  std::vector<graph::Step> steps_;
  Clock::time_point started_;
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
