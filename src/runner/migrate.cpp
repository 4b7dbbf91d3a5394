#include "runner/migrate.hpp"

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "db/connection.hpp"
#include "db/echo_connection.hpp"
#include "db/registry.hpp"
#include "db/script_writer.hpp"
#include "db/version_table.hpp"
#include "dialect/dialect.hpp"
#include "graph/overlap.hpp"
#include "history/keeper.hpp"
#include "luahost/engine.hpp"
#include "runner/hooks.hpp"
#include "runner/report.hpp"
#include "runner/session.hpp"
#include "runner/step_options.hpp"
#include "scripts/loader.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
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
  return out::escape(join(std::vector<std::string>(heads.begin(), heads.end()), ", "));
}

using luahost::Value;

// Server timeouts applied to every transaction that runs Lua code (migrations and hooks).
struct Timeouts {
  std::optional<std::chrono::milliseconds> lock, statement;
};

// The limits Lua code runs under. Per-environment values (lua_time_limit / lua_memory_limit in an environment)
// resolve here.
luahost::Limits engine_limits(const config::Config& cfg) {
  luahost::Limits limits;
  limits.time = cfg.lua_time_limit;
  limits.memory = cfg.lua_memory_limit;
  return limits;
}

// A migration file may ask for more (or less) time than lua_time_limit with a top-level `time_limit = "10min"`
// (a duration string, or a number of seconds; "0" for none). Read after the file's top level ran.
std::optional<std::chrono::milliseconds> declared_time_limit(const luahost::Script& script) {
  auto v = script.global("time_limit");
  if (v.is_nil()) return std::nullopt;
  if (v.is_string()) return parse_duration(v.str(), script.path() + ": time_limit");
  if (v.is_number() && v.num() >= 0) return std::chrono::milliseconds(static_cast<long long>(v.num() * 1000));
  throw RunError(fmt::format("{}: time_limit must be a duration such as \"10min\" or a number of seconds, got {}",
                             script.path(), v.type_name()));
}

// Thrown when a dry run reaches something that would commit: the run stops there and rolls everything back.
struct DryRunStop : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What migrations reach through `op`: statements go to the connection (live, echoing for a dry run, or the --sql
// script writer).
class OnlineServices : public luahost::Services {
 public:
  OnlineServices(db::Connection& conn, bool dry_run, Timeouts timeouts)
      : conn_(conn), dry_run_(dry_run), timeouts_(timeouts) {}

  // BEGIN, then SET LOCAL lock_timeout / statement_timeout when configured: every migration and hook transaction
  // starts here, so the limits are in force for all the SQL they run (in --sql mode they are in the script).
  void begin() {
    conn_.begin();
    apply_timeouts(true);
  }

  // Runs `block` outside any transaction (autocommit_block, `transactional = false` files) under the same limits,
  // set for the session and reset after.
  void outside_transaction(const std::function<void()>& block) {
    apply_timeouts(false);
    try {
      block();
    } catch (...) {
      reset_timeouts();
      throw;
    }
    reset_timeouts();
  }

  long long execute(const std::string& sql, const std::vector<Param>& params) override {
    refuse_after_stop(sql);
    return conn_.execute(sql, params);
  }
  std::unique_ptr<RowStream> query(const std::string& sql, const std::vector<Param>& params) override {
    refuse_after_stop(sql);
    return conn_.stream(sql, params);
  }
  std::string array_literal(const std::vector<Param>& values) override {
    return conn_.dialect().array_literal(values);
  }
  void autocommit_block(const std::function<void()>& block) override {
    if (dry_run_) stop("it calls op.autocommit_block, which commits the work before it; a dry run cannot commit");
    bool was_in_tx = conn_.in_transaction();
    if (before_commit_) before_commit_();
    if (was_in_tx) {
      autocommitted_ = true;
      conn_.commit();
    }
    outside_transaction(block);
    if (was_in_tx) begin();
  }
  void log(const std::string& level, const std::string& message) override {
    // In --sql mode stdout is the script: messages go to stderr.
    if (level == "warn" || level == "error" || conn_.offline())
      out::warn("  " + out::escape(message));
    else
      out::line("  " + out::escape(message));
  }
  long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                      const std::vector<std::vector<Param>>& rows) override {
    refuse_after_stop("COPY " + table);
    return conn_.copy_rows(table, columns, rows);
  }
  bool in_transaction() const override { return conn_.in_transaction(); }
  void transaction(const std::function<void()>& block) override {
    if (dry_run_) stop("it calls op.transaction, which commits; a dry run cannot commit");
    if (conn_.in_transaction())
      throw RunError("op.transaction: a transaction is already open (it is for `transactional = false` migrations "
                     "and op.autocommit_block)");
    begin();
    try {
      block();
    } catch (...) {
      conn_.rollback();
      throw;
    }
    if (before_commit_) before_commit_();
    conn_.commit();
    autocommitted_ = true;
  }
  std::unique_ptr<RowStream> query_all(const std::string& sql, const std::vector<Param>& params) override {
    refuse_after_stop(sql);
    return conn_.query_all(sql, params);
  }
  void send(const std::string& sql, const std::vector<Param>& params) override {
    refuse_after_stop(sql);
    conn_.send(sql, params);
  }
  long long wait_sent() override { return conn_.wait_sent(); }
  // An --sql script runs nothing here: no savepoints in it for statements that cannot fail now.
  void set_protected(bool on) override { conn_.set_statement_savepoints(on && !conn_.offline()); }

  // Whether the current attempt at a revision committed part of its work (autocommit_block, op.transaction): then
  // rerunning it from the start is not safe, and a failure cannot undo it.
  bool autocommitted() const { return autocommitted_; }
  // Set when a dry run had to stop: Lua turns the DryRunStop into a script error, this keeps the reason.
  const std::optional<std::string>& stop_reason() const { return stop_reason_; }
  // After reset_session(): the SET LOCAL limits again, for the version row and after_migration.
  void reapply_timeouts() {
    if (conn_.in_transaction() && !conn_.offline()) apply_timeouts(true);
  }
  // Called before anything commits on its own (autocommit blocks, op.transaction): checks the migration lock.
  void set_before_commit(std::function<void()> check) { before_commit_ = std::move(check); }
  void start_attempt() {
    autocommitted_ = false;
    stop_reason_.reset();
  }

 private:
  // A statement sent after a stop was requested is refused here: the cancel for the previous one may have come too
  // early to catch it.
  static void refuse_after_stop(const std::string& sql) {
    if (int sig = interrupt::requested())
      throw SqlFailure(fmt::format("not run: luamig received {}", interrupt::signal_name(sig)), sql, "57014");
  }

  [[noreturn]] void stop(const std::string& why) {
    stop_reason_ = why;
    throw DryRunStop(why);
  }

  void apply_timeouts(bool local) {
    const auto& d = conn_.dialect();
    for (const auto& [name, value] :
         {std::pair{"lock_timeout", timeouts_.lock}, {"statement_timeout", timeouts_.statement}}) {
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
  bool dry_run_;
  Timeouts timeouts_;
  bool autocommitted_ = false;
  std::optional<std::string> stop_reason_;
  std::function<void()> before_commit_;
};

std::string sqlstate_of(const std::exception& e) {
  if (const auto* se = dynamic_cast<const luahost::ScriptError*>(&e))
    return se->failure.sqlstate.value_or("");
  if (const auto* sf = dynamic_cast<const SqlFailure*>(&e)) return sf->sqlstate();
  return "";
}

std::string db_message_of(const std::exception& e) {
  if (const auto* se = dynamic_cast<const luahost::ScriptError*>(&e))
    return se->failure.db_message.value_or(se->failure.message);
  if (const auto* sf = dynamic_cast<const SqlFailure*>(&e)) return sf->message();
  return e.what();
}

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
//   check allow_downgrade and the hooks files -> connect -> migration lock -> version table -> plan -> engine ->
//   hooks' top level and before_run -> per revision (before_migration, upgrade()/downgrade(), version row,
//   after_migration, commit) -> after_run -> release the lock. --sql runs no hooks; --dry-run runs them all
//   inside its one transaction (on_error aside), rolled back with it.
class Run {
 public:
  Run(Project& project, const MigrateOptions& options) : project_(project), options_(options) {}

  void execute() {
    if (options_.sql) {
      // Offline: no connection, no lock, no hooks; the script starts from FROM of the range (or base).
      const auto& map = project_.load_graph();
      std::string start = split_range();
      check_downgrade_allowed();
      if (!cfg().hooks.empty() && !project_.opts.no_hooks)
        out::warn("Hooks are not run in --sql mode (the script holds the revisions' SQL only)");
      connect_offline();
      heads_ = offline_start(map, start);
      plan(map);
      // From base, the script creates the version table first.
      if (heads_.empty() && options_.direction == graph::Direction::Up) conn_->execute(version_table_->create_sql());
      start_engine();
      run_steps(map);
      return;
    }
    split_range();   // online, a FROM:TO range is a usage error
    check_downgrade_allowed();
    open_hooks();   // missing files and syntax errors stop the run before it touches the database
    project_.database_url();  // configuration errors before the graph is read
    // With hooks, before_run/after_run run on every command, so there is no answer without the lock.
    const bool fast_path = hooks_.empty() && !options_.dry_run;
    // A project whose graph cannot be built fails before connecting; one validated with these very files
    // before need not be built at all when the database turns out to be at its heads.
    if (!fast_path || !may_use_remembered_heads() || !project_.remembered_heads()) project_.load_graph();
    phase_ = "while connecting to the database; nothing was changed";
    connect();
    database_masked_ = conn_->target();
    project_.announce(database_masked_);
    announce_hooks();
    // Reading first: a database already at the target is answered without the lock (see already_at_target).
    if (fast_path && already_at_target()) return;
    const auto& map = project_.load_graph();
    // Every process that changes the database takes turns here, before it reads the version table: a process
    // that waited finds the work done and has nothing left to do. Hooks run only under the lock.
    phase_ = "while waiting for the migration lock; nothing was changed";
    lock_ = take_migration_lock(project_, *conn_);
    lock_verified_ = Clock::now();
    services_->set_before_commit([this] { verify_lock(true); });
    phase_ = "before running any revision; nothing was changed";
    // A dry run keeps everything, the version table's creation included, in one transaction rolled back at the end.
    if (options_.dry_run) services_->begin();
    // Plan first: a target that does not resolve (several heads, an unknown revision...) leaves the database
    // untouched, without even creating the version table.
    heads_ = to_set(version_table_->heads());
    start_heads_ = heads_;
    start_history(map);
    plan(map);
    prepare_version_table(map);
    if (!steps_.empty() || !hooks_.empty()) start_engine();
    started_ = Clock::now();
    before_run(map);
    phase_ = "between revisions";
    run_steps(map);
    phase_ = "after the revisions were committed";
    if (history_) history_->finish();
    after_run();
    hooks_.unload();
    lock_->release();
  }

  // What to say when a stop arrives outside the steps.
  const std::string& phase() const { return phase_; }

 private:
  const config::Config& cfg() const { return project_.cfg; }

  void check_downgrade_allowed() {
    if (options_.direction != graph::Direction::Down || cfg().allow_downgrade) return;
    const auto& origin = cfg().settings.get("allow_downgrade").origin;
    if (!options_.force)
      throw RunError(
          fmt::format(
              "downgrade refused: environment '{}' has allow_downgrade = false (set by {}); nothing was "
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

  // "FROM:TO" (offline mode only): keeps TO as the target, returns FROM ("" when no range).
  std::string split_range() {
    auto colon = options_.target.find(':');
    if (colon == std::string::npos) {
      if (options_.sql && options_.direction == graph::Direction::Down)
        throw UsageError(fmt::format("downgrade --sql needs a range FROM:TO (e.g. `downgrade head:{}`): offline mode "
                                     "cannot read the database's current revision",
                                     options_.target));
      return "";
    }
    if (!options_.sql)
      throw UsageError(fmt::format("'{}': a range FROM:TO is only accepted with --sql; online, luamig starts from "
                                   "the database's current revision",
                                   options_.target));
    std::string start = options_.target.substr(0, colon);
    options_.target = options_.target.substr(colon + 1);
    if (start.empty() || options_.target.empty())
      throw UsageError("--sql range: expected FROM:TO with both sides given (e.g. base:head, a1b2:head)");
    return start;
  }

  // The heads an offline run starts from: FROM of the range, or base.
  std::set<std::string> offline_start(const graph::RevisionMap& map, const std::string& start) {
    if (start.empty() || start == "base") return {};
    return graph::resolve_target(map, start, {});
  }

  // --sql: the script writer instead of a connection; the URL (when there is one) only picks the dialect.
  void connect_offline() {
    const db::Database* database = &db::default_database();
    if (!config::resolve_url(project_.opts, project_.cfg).empty())
      database = &db::database(project_.database_url().dialect);
    conn_ = db::script_writer(database->make_dialect(), [this](const std::string& statement) {
      if (options_.script_sink)
        options_.script_sink(statement);
      else
        out::data(statement + "\n");
    });
    version_table_ = std::make_unique<db::VersionTable>(*conn_, project_.cfg.version_table,
                                                        project_.cfg.version_table_schema);
    make_services();
  }

  void make_services() {
    services_ = std::make_unique<OnlineServices>(*conn_, options_.dry_run,
                                                 Timeouts{cfg().lock_timeout, cfg().statement_timeout});
  }

  void connect() {
    conn_ = runner::connect(project_);
    if (options_.wrap_connection) conn_ = options_.wrap_connection(std::move(conn_));
    if (options_.dry_run) {
      // Statements are shown as they run, within the steps.
      auto echo = std::make_unique<db::EchoConnection>(std::move(conn_), [](const std::string& sql) {
        out::line(indent(sql, "    "));
      });
      echo_ = echo.get();
      conn_ = std::move(echo);
    }
    // The version table's schema is fixed now; statements name it as configured (unqualified by default) and
    // reset_session() restores the search path before each version row is written, so a migration that
    // changes search_path cannot move it.
    version_table_ = std::make_unique<db::VersionTable>(*conn_, project_.cfg.version_table,
                                                        project_.cfg.version_table_schema, pinned_schema());
    make_services();
    // On SIGINT/SIGTERM: cancel the running statement and stop the running Lua (see util/interrupt.hpp).
    on_stop_ = std::make_unique<interrupt::OnStop>([conn = conn_.get()] {
      luahost::request_interrupt();
      conn->cancel();
    });
  }

  // version_table_schema, else the connection's current schema at the start of the run ("" when it has none).
  std::string pinned_schema() {
    std::string schema = project_.cfg.version_table_schema;
    if (!schema.empty()) return schema;
    if (auto sql = conn_->dialect().current_schema_query(); !sql.empty()) {
      auto rows = conn_->fetch(sql);
      if (!rows.empty() && !rows[0].empty() && rows[0][0]) schema = *rows[0][0];
    }
    return schema;
  }

  // Remembers the session settings the revisions start with (those hooks such as before_run set, e.g.
  // application_name), as the statement that brings them back after a reset. luamig's own timeouts are left
  // out.
  void snapshot_session() {
    if (conn_->offline() || steps_.empty()) return;
    const auto& d = conn_->dialect();
    session_restore_sql_ = d.reset_session();
    if (session_restore_sql_.empty()) return;
    const bool echoing = echo_ && echo_->enabled();
    if (echo_) echo_->set_enabled(false);
    auto rows = conn_->fetch(d.session_settings_query());
    if (echo_) echo_->set_enabled(echoing);
    std::string sets;
    for (const auto& row : rows) {
      if (row.size() < 2 || !row[0] || !row[1]) continue;
      const std::string& name = *row[0];
      if (name == "lock_timeout" || name == "statement_timeout" || name.rfind("transaction_", 0) == 0)
        continue;
      sets += fmt::format("{}pg_catalog.set_config({}, {}, false)", sets.empty() ? "SELECT " : ", ",
                          d.quote_literal(name), d.quote_literal(*row[1]));
    }
    if (!sets.empty()) session_restore_sql_ += "; " + sets;
  }

  // Undoes what the revision set for the session (SET search_path, SET ROLE, set_config...) before its
  // version row is written, in its transaction: the next revision starts as the first did.
  void reset_session() {
    if (conn_->offline() || session_restore_sql_.empty()) return;
    const bool echoing = echo_ && echo_->enabled();
    if (echo_) echo_->set_enabled(false);
    conn_->execute(session_restore_sql_);
    if (echo_) echo_->set_enabled(echoing);
  }

  // The container-entrypoint case: `upgrade head` on a database that is already there. One query reads the
  // committed heads (outside any transaction, creating nothing); when the plan from them is empty and the
  // version table exists, the command ends without the migration lock, a transaction or the Lua engine. That
  // is safe because nothing is changed, and what was read is committed: another process still migrating has
  // not moved the heads yet, so this one goes on to wait for the lock. Otherwise the run starts over under
  // the lock, and any error is left for that full path to report.
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
    if (validating() && !history_up_to_date()) return false;
    out::line(fmt::format("Nothing to do: the database is at {}", heads_or_base(heads_)));
    return true;
  }

  // ---- history (history/keeper.hpp)
  // The no-op path validates too: one read of the history table and one stat per applied file (checksums are
  // cached by size and mtime). Without the graph loaded (remembered heads), file paths come from the header
  // cache. False when rows are owed (baseline, external): the full path writes them.
  bool history_up_to_date() {
    history::HistoryKeeper keeper(*conn_, cfg(), true);
    if (!project_.map) {
      // At the remembered heads: the heads are in the graph; the header cache is read only when an applied
      // revision's file is needed.
      std::optional<std::map<std::string, std::string>> paths;
      auto from_cache = [&](const std::string& id) -> std::optional<std::string> {
        if (!paths) paths = history::paths_from_header_cache(cfg().versions_dir());
        auto it = paths->find(id);
        if (it == paths->end()) return std::nullopt;
        return it->second;
      };
      if (auto ok = keeper.check_noop(
              from_cache, [](const std::string&) { return true; }, heads_))
        return *ok;
    }
    const auto& map = project_.load_graph();
    auto from_graph = [&](const std::string& id) -> std::optional<std::string> {
      const auto* r = map.find(id);
      if (!r) return std::nullopt;
      return r->path;
    };
    auto known = [&](const std::string& id) { return map.find(id) != nullptr; };
    return keeper.check_noop(from_graph, known, heads_).value_or(false);
  }
  // ------------------------------------------------------------------------
  bool validating() const {
    return options_.record_history && options_.direction == graph::Direction::Up && !options_.no_validate &&
           project_.cfg.settings.boolean("validate_on_upgrade");
  }
  void start_history(const graph::RevisionMap& map) {
    if (!options_.record_history) return;
    if (options_.dry_run) {  // validates as the real run would, and records nothing
      if (validating()) history::HistoryKeeper(*conn_, cfg(), true).start(map, heads_);
      return;
    }
    if (options_.no_validate && options_.direction == graph::Direction::Up)
      out::warn("Validation of the history skipped (--no-validate)");
    history_ = std::make_unique<history::HistoryKeeper>(*conn_, cfg(), validating());
    history_->start(map, heads_);
  }

  // `upgrade head` / `upgrade heads` answered without the graph: the database holds exactly the heads
  // remembered from the last validated load of these same files (a single one for "head"), which is where the
  // plan is empty.
  bool may_use_remembered_heads() const {
    return options_.direction == graph::Direction::Up && (options_.target == "head" || options_.target == "heads");
  }
  bool at_remembered_heads() {
    if (!may_use_remembered_heads()) return false;
    const auto& remembered = project_.remembered_heads();
    if (!remembered || (options_.target == "head" && remembered->size() != 1)) return false;
    return !heads_.empty() && to_set(*remembered) == heads_;
  }

  void prepare_version_table(const graph::RevisionMap& map) {
    if (conn_->in_transaction()) {   // a dry run: its one transaction is open already
      version_table_->ensure();
      return;
    }
    if (!project_.cfg.transaction_per_migration && !steps_.empty()) {
      // One transaction for the whole command, the version table's creation included: a failure leaves nothing.
      services_->begin();
      try {
        version_table_->ensure();
        if (moved_under_us()) plan(map);
      } catch (...) {
        conn_->rollback();
        throw;
      }
      return;
    }
    if (version_table_->exists()) return;
    conn_->begin();
    version_table_->ensure();
    conn_->commit();
  }

  void plan(const graph::RevisionMap& map) {
    graph::check_rows_do_not_overlap(map, {heads_.begin(), heads_.end()}, project_.cfg.version_table);
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
    context.renderer = std::string(db::database(context.dialect).renderer);
    context.x = project_.opts.x;
    context.offline = options_.sql;
    engine_ = std::make_unique<luahost::Engine>(services_.get(), context, engine_limits(project_.cfg),
                                                project_.cfg.lib_dir().string());
  }

  // ---- hook arguments ---------------------------------------------------------------------------------

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

  // Runs `body` in a transaction of its own, or inside the whole command's when one is open
  // (transaction_per_migration = false); a HookError rolls it back, is reported and ends the run (exit 1).
  void in_hook_transaction(const std::function<void()>& body, const std::string& consequence) {
    const bool own = !conn_->in_transaction();
    if (own) services_->begin();
    try {
      body();
      if (own) conn_->commit();
    } catch (const HookError& e) {
      conn_->rollback();
      if (interrupt::requested()) throw;  // a stop, told as such by migrate()
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
    if (options_.dry_run || hooks_.empty() || !hooks_.defines("after_run")) return;
    auto ctx = run_context(heads_, elapsed_ms(started_));
    in_hook_transaction(
        [&] { hooks_.call("after_run", {ctx}); },
        fmt::format("the migrations above were committed; the database is at {}.", heads_or_base(heads_)));
  }

  // Each file's on_error runs in a transaction of its own; its failure is reported and does not hide the
  // error.
  void call_on_error(size_t index, const std::exception& e, long long duration_ms) {
    // A dry run and an --sql script have nothing to record: nothing was changed.
    if (options_.dry_run || options_.sql || hooks_.empty() || !hooks_.defines("on_error") || interrupt::requested())
      return;
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

  // ---- steps ----------------------------------------------------------------------------------------------

  // Loads the revision's file into a fresh sandbox (its top level runs now, before any transaction opens).
  luahost::Script load_script(const graph::Step& step) {
    const auto& rev = *step.revision;
    const char* function = step.direction == graph::Direction::Up ? "upgrade" : "downgrade";
    std::string source = scripts::read_text(rev.path);
    engine_->set_activity(fmt::format("{} of revision {} ({})", function, rev.id, rev.message));
    auto script = engine_->load(rev.path, source);
    auto declared = script.global("revision");
    if (!declared.is_string() || declared.str() != rev.id)
      throw RunError(fmt::format("{}: the file's `revision` changed while luamig was running", rev.path));
    if (!script.has_function(function))
      throw RunError(fmt::format("{}: revision {} defines no {}() function", rev.path, rev.id, function));
    return script;
  }

  // Calls the loaded file's upgrade()/downgrade(), then releases its environment.
  void run_script(const graph::Step& step, luahost::Script& script) {
    const auto& rev = *step.revision;
    const char* function = step.direction == graph::Direction::Up ? "upgrade" : "downgrade";
    engine_->call(script, function,
                  {{"revision", rev.id}, {"down_revision", join(rev.down_revisions, ",")}, {"direction", function}},
                  declared_time_limit(script));
    if (options_.on_plan) options_.on_plan(step, engine_->plan());
    engine_->unload(script);
  }

  void record_version_change(const graph::RevisionMap& map, const graph::Step& step) {
    auto change = graph::version_change(map, heads_, step);
    for (const auto& d : change.deletes) version_table_->remove(d);
    if (change.update) version_table_->update(change.update->first, change.update->second);
    for (const auto& i : change.inserts) version_table_->insert(i);
    graph::apply(heads_, change);
  }

  // After a failed attempt: the transaction is rolled back; the version table says where the database is (the
  // in-memory heads are a fallback for a lost connection).
  void roll_back_attempt(const std::set<std::string>& heads_before) {
    conn_->rollback();
    heads_ = heads_before;
    if (!conn_->is_open()) return;
    try {
      heads_ = to_set(version_table_->heads());
    } catch (const std::exception&) {
    }
  }

  std::string where_now(size_t done) const {
    const bool per_step = project_.cfg.transaction_per_migration;
    // In one transaction for the command, steps before a `transactional = false` one were committed with it.
    const bool committed_any = per_step || committed_steps_ > 0;
    return fmt::format("The database is at {}: {} of {} step{} applied.",
                       committed_any ? heads_or_base(heads_) : "its state before this command",
                       per_step ? done : committed_steps_, steps_.size(), steps_.size() == 1 ? "" : "s");
  }

  // Rolls back, reports, and throws the already-reported RunError.
  [[noreturn]] void fail_step(size_t index, const std::exception& e, size_t done,
                              const std::set<std::string>& heads_before, long long duration_ms,
                              bool transactional = true) {
    const auto& step = steps_[index];
    if (echo_) echo_->set_enabled(false);
    if (options_.sql) {
      report_step_outcome(step, e, "it cannot be written as an SQL script; the script above stops before it");
      throw RunError("", 1);
    }
    roll_back_attempt(heads_before);
    if (history_ && conn_->is_open() && !db::is_connection_loss(sqlstate_of(e)))
      history_->step_failed(step, heads_, step_wall_started_, sqlstate_of(e), db_message_of(e));
    if (options_.dry_run) {
      report_step_outcome(step, e, "the dry run stopped and rolled everything back; nothing was changed");
      throw RunError("", 1);
    }
    if (!transactional)
      report_step_outcome(step, e, "it declares `transactional = false`, so the statements it ran before the failure "
                                   "were committed and stay; the version table was not updated");
    else if (services_->autocommitted())
      report_step_outcome(step, e, "its open transaction was rolled back, but the work it committed (autocommit_block, "
                                   "op.transaction) stays; the version table was not updated");
    else
      report_step_failure(step, e, project_.cfg.transaction_per_migration || committed_steps_ > 0);
    const bool lost = db::is_connection_loss(sqlstate_of(e)) || !conn_->is_open();
    if (!lost) call_on_error(index, e, duration_ms);
    if (lost) {
      out::error(fmt::format("The connection to the database was lost during revision {}. The server rolls back a "
                             "transaction whose connection is gone, so that revision left nothing behind; luamig "
                             "does not rerun a half-run revision on a new connection.",
                             step.revision->id));
      out::error(where_now(done) + " Run the command again once the server is reachable.");
    } else {
      out::error(where_now(done));
    }
    throw RunError("", 1);
  }

  // A stop (SIGINT/SIGTERM) seen inside a revision: no more cancels, roll back, report, release the lock.
  [[noreturn]] void stop_in_step(const graph::Step& step, size_t done, const std::set<std::string>& heads_before) {
    interrupt::acknowledge();
    int sig = interrupt::requested();
    roll_back_attempt(heads_before);
    out::error(fmt::format("Stopped by {} during the {} of revision {} ({}): its transaction was rolled back.",
                           interrupt::signal_name(sig), direction_name(step.direction), step.revision->id,
                           step.revision->path));
    stop_report(sig, done);
  }

  [[noreturn]] void stop_before(const graph::Step& step, size_t done) {
    interrupt::acknowledge();
    int sig = interrupt::requested();
    out::error(fmt::format("Stopped by {} before the {} of revision {}.", interrupt::signal_name(sig),
                           direction_name(step.direction), step.revision->id));
    stop_report(sig, done);
  }

  // A dry run reached a step that cannot run inside its transaction: roll everything back and say so (exit 0).
  void stop_dry_run(const graph::Step& step, const std::string& why, size_t done) {
    if (echo_) echo_->set_enabled(false);
    conn_->rollback();
    const auto& rev = *step.revision;
    out::warn(fmt::format("Dry run stopped before revision {} ({}, {}): {}.", rev.id, rev.message, rev.path, why));
    out::line(fmt::format("Dry run: {} of {} step{} ran; everything was rolled back, nothing was changed.", done,
                          steps_.size(), steps_.size() == 1 ? "" : "s"));
  }

  [[noreturn]] void stop_report(int sig, size_t done) {
    if (lock_) lock_->release();
    out::error(where_now(done) + " The migration lock was released; run the command again to continue.");
    throw interrupt::Stopped(sig, "");
  }

  // Pause before retry n (1-based): lock_retry_delay * 2^(n-1), +-25%.
  std::chrono::milliseconds retry_pause(int n) {
    static std::mt19937 rng(std::random_device{}());
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    double ms = static_cast<double>(project_.cfg.lock_retry_delay.count()) * static_cast<double>(1LL << (n - 1));
    return std::chrono::milliseconds(static_cast<long long>(ms * jitter(rng)));
  }

  // Whether a failed attempt is worth another: lock_not_available, retries left, and nothing committed on the way.
  bool should_retry(const std::exception& e, int retries_done) const {
    return project_.cfg.transaction_per_migration && sqlstate_of(e) == "55P03" &&
           retries_done < project_.cfg.lock_retries && !services_->autocommitted();
  }

  // Checks that the migration lock is still held (one round trip): before every revision (so before a
  // `transactional = false` one), before work that commits on its own (op.autocommit_block, op.transaction's
  // commit) and at the end. A lost lock stops the run there. A revision that started under the lock is
  // recorded: its own UPDATE of the version row would collide with another process's.
  void verify_lock(bool /*always*/) {
    if (!lock_) return;
    lock_->verify();
    lock_verified_ = Clock::now();
  }

  // True when the version table no longer shows what this run planned from: another process has migrated
  // between our steps. Only dialects whose write lock is the transaction itself need the check.
  bool moved_under_us() {
    if (conn_->offline() || !conn_->dialect().serializes_by_transaction()) return false;
    auto now = to_set(version_table_->heads());
    if (now == heads_) return false;
    heads_ = std::move(now);
    return true;
  }

  // The step line, before the step runs (its logs appear under it), and its duration when it ends; --sql writes
  // a comment instead.
  void announce(const graph::Step& step) {
    if (options_.sql) {
      if (!options_.script_sink) out::data(fmt::format("-- {}\n", step_description(step)));
      return;
    }
    report_step_start(step);
  }
  void finished(const graph::Step& step, Clock::time_point started) {
    if (options_.sql) return;
    report_step_end(step, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started),
                    options_.dry_run);
  }

  void run_steps(const graph::RevisionMap& map) {
    const bool dry = options_.dry_run;
    const bool per_step = project_.cfg.transaction_per_migration && !dry;
    const bool one_transaction = !per_step && !dry && !steps_.empty();   // transaction_per_migration = false
    size_t done = 0;
    snapshot_session();
    if (dry) out::line("Dry run: every step runs in one transaction, rolled back at the end.");
    // The whole-command transaction, if any, was opened by prepare_version_table() (not in --sql mode).
    if (one_transaction && !conn_->in_transaction()) services_->begin();
    for (size_t i = 0; i < steps_.size(); ++i) {
      const auto& step = steps_[i];
      if (interrupt::requested()) stop_before(step, done);
      if (lock_) verify_lock(false);
      const auto heads_before = heads_;
      int retries = 0;
      bool replan = false;
      for (;;) {
        auto started = Clock::now();
        step_wall_started_ = std::chrono::system_clock::now();
        services_->start_attempt();
        std::optional<luahost::Script> script;
        bool transactional = true;
        try {
          script.emplace(load_script(step));
          transactional = declared_transactional(*script, step.revision->path);
        } catch (const std::exception& e) {
          fail_step(i, e, done, heads_before, elapsed_ms(started));
        }
        if (dry && !transactional) {
          stop_dry_run(step, "it declares `transactional = false`, so it cannot run inside the dry run's transaction",
                       done);
          return;
        }
        if (retries == 0) announce(step);
        // transactional = false: no transaction around upgrade(); the version table gets one of its own right after.
        if (!transactional && conn_->in_transaction()) {
          conn_->commit();
          committed_steps_ = done;
        }
        if (transactional && per_step) {
          services_->begin();
          if (moved_under_us()) {
            conn_->rollback();
            engine_->unload(*script);
            replan = true;
            break;
          }
        }
        if (echo_) echo_->set_enabled(true);
        try {
          // The hooks run inside the attempt: a retried or failed revision takes their SQL with it. Without a
          // transaction (`transactional = false`), before_migration runs as the revision does, outside one.
          auto before = [&] {
            hooks_.call("before_migration", {step_value(i, std::nullopt), context_});
            run_script(step, *script);
          };
          if (transactional) {
            before();
          } else {
            services_->outside_transaction(before);
            services_->begin();
          }
          reset_session();
          services_->reapply_timeouts();
          record_version_change(map, step);
          if (history_) history_->step_applied(step, heads_before, heads_, step_wall_started_);
          hooks_.call("after_migration", {step_value(i, elapsed_ms(started)), context_});
          if (per_step || !transactional) {
            conn_->commit();
            committed_steps_ = done + 1;
          }
          if (!transactional && one_transaction) services_->begin();
          if (echo_) echo_->set_enabled(false);
          finished(step, started);
          break;
        } catch (const std::exception& e) {
          if (echo_) echo_->set_enabled(false);
          // A DryRunStop raised inside Lua arrives as a script error: the services know it was one.
          if (dry && (services_->stop_reason() || dynamic_cast<const DryRunStop*>(&e))) {
            stop_dry_run(step, services_->stop_reason().value_or(e.what()), done);
            return;
          }
          if (interrupt::requested()) stop_in_step(step, done, heads_before);
          if (options_.sql && options_.on_offline_failure) {
            options_.on_offline_failure(step, e, engine_->plan());
            engine_->unload(*script);
            record_version_change(map, step);
            break;
          }
          if (!transactional || options_.sql || !should_retry(e, retries)) {
            if (retries > 0)
              out::error(fmt::format("The lock was still not available after {} retr{} (lock_retries = {}).",
                                     retries, retries == 1 ? "y" : "ies", project_.cfg.lock_retries));
            fail_step(i, e, done, heads_before, elapsed_ms(started), transactional);
          }
          roll_back_attempt(heads_before);
          ++retries;
          auto pause = retry_pause(retries);
          out::warn(fmt::format("{}: lock not available ({}); rolled back, retry {} of {} in {}",
                                step_description(step), db_message_of(e), retries, project_.cfg.lock_retries,
                                format_duration(pause)));
          if (!interrupt::sleep_for(pause)) stop_before(step, done);
        }
      }
      if (replan) {
        // Another process moved the version table between our revisions (SQLite): plan again from where it is.
        plan(map);
        if (!hooks_.empty()) context_ = run_context(planned_heads(map), std::nullopt);
        i = static_cast<size_t>(-1);
        continue;
      }
      ++done;
    }
    if (dry) {
      // after_run too runs inside the dry run's transaction, before it is rolled back.
      if (!hooks_.empty() && hooks_.defines("after_run")) {
        auto ctx = run_context(heads_, elapsed_ms(started_));
        in_hook_transaction([&] { hooks_.call("after_run", {ctx}); }, "the dry run rolled everything back.");
      }
      conn_->rollback();
      out::line(fmt::format("Dry run finished: {} step{} ran; everything was rolled back, nothing was changed.", done,
                            done == 1 ? "" : "s"));
      return;
    }
    if (options_.sql) {
      if (one_transaction) conn_->commit();
      // As Alembic does offline: a downgrade to base leaves no version table behind.
      if (options_.direction == graph::Direction::Down && heads_.empty() && !steps_.empty())
        conn_->execute(fmt::format("DROP TABLE {}", version_table_->qualified_name()));
      return;
    }
    if (one_transaction && conn_->in_transaction()) {
      try {
        conn_->commit();
      } catch (const SqlFailure& e) {
        conn_->rollback();
        throw RunError(fmt::format("COMMIT failed: {} (SQLSTATE {}); nothing was applied", e.message(), e.sqlstate()));
      }
    }
    if (done > 0) verify_lock(true);
    if (done == 0) out::line(fmt::format("Nothing to do: the database is at {}", heads_or_base(heads_)));
  }

  Project& project_;
  MigrateOptions options_;
  std::string phase_;
  std::unique_ptr<db::Connection> conn_;
  db::EchoConnection* echo_ = nullptr;   // set for a dry run: conn_ itself
  std::unique_ptr<db::MigrationLock> lock_;   // destroyed before conn_, which verifies it
  Clock::time_point lock_verified_;
  std::unique_ptr<db::VersionTable> version_table_;
  std::unique_ptr<interrupt::OnStop> on_stop_;   // destroyed before conn_, which it cancels
  std::unique_ptr<OnlineServices> services_;
  std::unique_ptr<luahost::Engine> engine_;
  Hooks hooks_;
  Value context_;
  std::string database_masked_;
  std::string session_restore_sql_;  // reset_session(): RESET ALL and the settings the revisions start with
  std::set<std::string> heads_, start_heads_;
  std::vector<graph::Step> steps_;
  Clock::time_point started_;
  size_t committed_steps_ = 0;
  std::unique_ptr<history::HistoryKeeper> history_;  // null for --sql and --dry-run: they write no history
  std::chrono::system_clock::time_point
      step_wall_started_;  // steps whose work is committed (per-step commits, transactional = false steps)
};
}  // namespace

std::string step_description(const graph::Step& step) {
  const auto& r = *step.revision;
  std::string downs = join(r.down_revisions, ", ");
  if (step.direction == graph::Direction::Up)
    return out::escape(fmt::format("Running upgrade {} -> {}, {}", downs, r.id, r.message));
  return out::escape(fmt::format("Running downgrade {} -> {}, {}", r.id, downs, r.message));
}

void migrate(Project& project, const MigrateOptions& options) {
  interrupt::StopScope graceful_stop;
  Run run(project, options);
  try {
    run.execute();
  } catch (const interrupt::Stopped&) {
    throw;
  } catch (const std::exception&) {
    // A statement cancelled by the stop surfaces as its own error; say what happened instead.
    if (int sig = interrupt::requested()) {
      interrupt::acknowledge();
      throw interrupt::Stopped(sig, fmt::format("stopped by {} {}", interrupt::signal_name(sig), run.phase()));
    }
    throw;
  }
}
}  // namespace luamig::runner
