// The run loop of upgrade/downgrade: the command's phases and the loop over its steps. The parts it is made
// of, one idea per file (ARCHITECTURE.md, "The run loop and failures"):
//   transaction_policy  where transactions begin and end, per mode (per revision, whole command, dry run,
//                       --sql)
//   step_executor       one attempt at one step, returned as a StepOutcome value
//   retry               which failures are tried again (55P03) and the pause before each retry
//   hook_calls          the hooks' arguments and transactions (before_run, after_run, on_error)
//   services            what Lua reaches through `op` (statements, autocommit blocks, timeouts)
//   observer            who hears about each step (text report and JSON events, any other StepObserver)
//   session_reset       each revision starts with the session the first one had
//   report              the failure texts
//   run_history         luamig_history: validation first, then a row per step
//   command_checks      the command's own arguments: the --sql range, allow_downgrade
// About 600 lines: what is left here is the order of the phases (connect, fast path, lock, history, plan,
// hooks, steps) and the state they share; splitting it further would pass that state around.
#include "runner/migrate.hpp"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "db/connection.hpp"
#include "db/echo_connection.hpp"
#include "db/registry.hpp"
#include "db/script_writer.hpp"
#include "db/transaction.hpp"
#include "db/version_table.hpp"
#include "dialect/dialect.hpp"
#include "graph/overlap.hpp"
#include "luahost/engine.hpp"
#include "runner/command_checks.hpp"
#include "runner/hook_calls.hpp"
#include "runner/hooks.hpp"
#include "runner/report.hpp"
#include "runner/retry.hpp"
#include "runner/run_history.hpp"
#include "runner/services.hpp"
#include "runner/session.hpp"
#include "runner/session_reset.hpp"
#include "runner/step_executor.hpp"
#include "runner/step_options.hpp"
#include "runner/text_report.hpp"
#include "runner/transaction_policy.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/output.hpp"

namespace luamig::runner {
namespace {

using Clock = std::chrono::steady_clock;
using luahost::Value;

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

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// One upgrade/downgrade command, phase by phase:
//   check allow_downgrade and the hooks files -> connect -> migration lock -> version table -> plan -> engine
//   -> hooks' top level and before_run -> per revision (before_migration, upgrade()/downgrade(), version row,
//   after_migration, commit) -> after_run -> release the lock. --sql runs no hooks; --dry-run runs them all
//   inside its one transaction (on_error aside), rolled back with it.
class Run {
 public:
  Run(Project& project, const MigrateOptions& options) : project_(project), options_(options) {}

  void execute() {
    if (options_.sql) {
      // Offline: no connection, no lock, no hooks; the script starts from FROM of the range (or base).
      const auto& map = project_.load_graph();
      std::string start = split_range(options_);
      check_downgrade_allowed(options_, cfg());
      if (!cfg().hooks.empty() && !project_.opts.no_hooks)
        out::warn("Hooks are not run in --sql mode (the script holds the revisions' SQL only)");
      connect_offline();
      heads_ = offline_start(map, start);
      plan(map);
      // From base, the script creates the version table first.
      if (heads_.empty() && options_.direction == graph::Direction::Up)
        conn_->execute(version_table_->create_sql());
      start_engine();
      run_steps(map);
      return;
    }
    split_range(options_);  // online, a FROM:TO range is a usage error
    check_downgrade_allowed(options_, cfg());
    open_hooks();             // missing files and syntax errors stop the run before it touches the database
    project_.database_url();  // configuration errors before the graph is read
    // With hooks, before_run/after_run run on every command, so there is no answer without the lock.
    const bool fast_path = hooks_.empty() && !options_.dry_run;
    // A project whose graph cannot be built fails before connecting; one validated with these very files
    // before need not be built at all when the database turns out to be at its heads.
    if (!fast_path || !may_use_remembered_heads() || !project_.remembered_heads()) project_.load_graph();
    phase_ = "while connecting to the database; nothing was changed";
    connect();
    facts_.database = conn_->target();
    project_.announce(facts_.database);
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
    // A dry run keeps everything, the version table's creation included, in one transaction rolled back at
    // the end.
    if (options_.dry_run) policy_->begin_run();
    // Plan first: a target that does not resolve (several heads, an unknown revision...) leaves the database
    // untouched, without even creating the version table.
    heads_ = to_set(version_table_->heads());
    facts_.start_heads = heads_;
    history_.start(*conn_, map, heads_);
    plan(map);
    prepare_version_table(map);
    if (!steps_.empty() || !hooks_.empty()) start_engine();
    started_ = Clock::now();
    before_run(map);
    phase_ = "between revisions";
    run_steps(map);
    phase_ = "after the revisions were committed";
    history_.finish();
    after_run();
    hooks_.unload();
    lock_->release();
  }

  // What to say when a stop arrives outside the steps.
  const std::string& phase() const { return phase_; }

 private:
  const config::Config& cfg() const { return project_.cfg; }

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

  // The services Lua reaches, the transaction policy of this mode, and the observers of the steps.
  void make_services() {
    services_ = std::make_unique<RunServices>(*conn_, options_.dry_run,
                                              Timeouts{cfg().lock_timeout, cfg().statement_timeout});
    const RunMode mode = options_.dry_run                  ? RunMode::DryRun
                         : cfg().transaction_per_migration ? RunMode::PerRevision
                                                           : RunMode::WholeCommand;
    policy_ = make_transaction_policy(mode, options_.sql, *conn_, *services_);
    retry_ = std::make_unique<RetryPolicy>(policy_->retries_lock_timeouts(), cfg().lock_retries,
                                           cfg().lock_retry_delay);
    hook_calls_ = std::make_unique<HookCalls>(hooks_, *conn_, *services_);
    observers_.add(std::make_unique<TextReport>(options_.script_sink ? TextReport::Style::Silent
                                                : options_.sql       ? TextReport::Style::Offline
                                                : options_.dry_run   ? TextReport::Style::DryRun
                                                                     : TextReport::Style::Online));
    if (options_.observer) observers_.add(std::make_unique<ForwardObserver>(*options_.observer));
    facts_.direction = options_.direction;
    facts_.environment = cfg().environment;
    facts_.target = options_.target;
    facts_.x = project_.opts.x;
  }

  void connect() {
    conn_ = options_.open_connection ? options_.open_connection() : runner::connect(project_);
    if (options_.wrap_connection) conn_ = options_.wrap_connection(std::move(conn_));
    if (options_.dry_run) {
      // Statements are shown as they run, within the steps.
      auto echo = std::make_unique<db::EchoConnection>(
          std::move(conn_), [](const std::string& sql) { out::line(indent(sql, "    ")); });
      echo_ = echo.get();
      conn_ = std::move(echo);
    }
    // The version table's schema is fixed now; statements name it as configured (unqualified by default) and
    // the session reset (runner/session_reset.hpp) restores the search path before each version row is
    // written, so a migration that changes search_path cannot move it.
    version_table_ = std::make_unique<db::VersionTable>(
        *conn_, project_.cfg.version_table, project_.cfg.version_table_schema,
        pinned_schema(*conn_, project_.cfg.version_table_schema));
    make_services();
    // On SIGINT/SIGTERM: cancel the running statement and stop the running Lua (see util/interrupt.hpp).
    on_stop_ = std::make_unique<interrupt::OnStop>([conn = conn_.get()] {
      luahost::request_interrupt();
      conn->cancel();
    });
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
    if (history_.validating() && !history_.up_to_date(*conn_, heads_)) return false;
    out::line(fmt::format("Nothing to do: the database is at {}", heads_or_base(heads_)));
    return true;
  }

  // `upgrade head` / `upgrade heads` answered without the graph: the database holds exactly the heads
  // remembered from the last validated load of these same files (a single one for "head"), which is where the
  // plan is empty.
  bool may_use_remembered_heads() const {
    return options_.direction == graph::Direction::Up &&
           (options_.target == "head" || options_.target == "heads");
  }
  bool at_remembered_heads() {
    if (!may_use_remembered_heads()) return false;
    const auto& remembered = project_.remembered_heads();
    if (!remembered || (options_.target == "head" && remembered->size() != 1)) return false;
    return !heads_.empty() && to_set(*remembered) == heads_;
  }

  void prepare_version_table(const graph::RevisionMap& map) {
    if (conn_->in_transaction()) {  // a dry run: its one transaction is open already
      version_table_->ensure();
      return;
    }
    if (!project_.cfg.transaction_per_migration && !steps_.empty()) {
      // One transaction for the whole command, the version table's creation included: a failure leaves
      // nothing.
      policy_->begin_run();
      try {
        version_table_->ensure();
        if (moved_under_us()) plan(map);
      } catch (...) {
        policy_->abandon_attempt();
        throw;
      }
      return;
    }
    if (version_table_->exists()) return;
    db::Transaction tx(*conn_);
    version_table_->ensure();
    tx.commit();
  }

  void plan(const graph::RevisionMap& map) {
    graph::check_rows_do_not_overlap(map, {heads_.begin(), heads_.end()}, project_.cfg.version_table);
    steps_ = options_.direction == graph::Direction::Up ? graph::plan_upgrade(map, heads_, options_.target)
                                                        : graph::plan_downgrade(map, heads_, options_.target);
    // A revision without downgrade() is refused before anything runs.
    if (options_.direction == graph::Direction::Down) {
      for (const auto& s : steps_)
        if (!s.revision->has_downgrade)
          throw RunError(
              fmt::format("{}: revision {} has no downgrade() function, so the database cannot be "
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

  // ---- hooks around the run (runner/hook_calls.hpp) ------------------------------------------------------

  // The heads the plan ends at, computed before anything runs.
  std::set<std::string> planned_heads(const graph::RevisionMap& map) const {
    auto heads = facts_.start_heads;
    for (const auto& step : steps_) graph::apply(heads, graph::version_change(map, heads, step));
    return heads;
  }

  // Loads the hooks files (their top level may run SQL, like before_run) and calls before_run.
  void before_run(const graph::RevisionMap& map) {
    if (hooks_.empty()) return;
    context_ = run_context(facts_, steps_, planned_heads(map), std::nullopt);
    hook_calls_->in_hook_transaction(
        [&] {
          hooks_.load(*engine_);
          hooks_.call("before_run", {context_});
        },
        "nothing was changed.");
  }

  void after_run() {
    if (options_.dry_run || hooks_.empty() || !hooks_.defines("after_run")) return;
    auto ctx = run_context(facts_, steps_, heads_, elapsed_ms(started_));
    hook_calls_->in_hook_transaction(
        [&] { hooks_.call("after_run", {ctx}); },
        fmt::format("the migrations above were committed; the database is at {}.", heads_or_base(heads_)));
  }

  // ---- the steps ------------------------------------------------------------------------------------------

  // After a failed attempt: the transaction is rolled back; the version table says where the database is (the
  // in-memory heads are a fallback for a lost connection).
  void roll_back_attempt(const std::set<std::string>& heads_before) {
    policy_->abandon_attempt();
    heads_ = heads_before;
    if (!conn_->is_open()) return;
    try {
      heads_ = to_set(version_table_->heads());
    } catch (const std::exception&) {
    }
  }

  // The failure of step `index`, for good: roll back what the policy can, tell observers, call on_error, and
  // throw it with its whole report (main prints it).
  [[noreturn]] void fail_step(size_t index, const Failure& cause, size_t done,
                              const std::set<std::string>& heads_before, const StepOutcome& outcome) {
    const auto& step = steps_[index];
    if (echo_) echo_->set_enabled(false);
    if (!options_.sql) roll_back_attempt(heads_before);
    // The history keeps failed attempts too (its own transaction), unless the connection is gone.
    const std::string cause_sqlstate = cause.kind == FailureKind::Hook ? "" : cause.sqlstate.value_or("");
    history_.step_failed(
        *conn_, step, heads_, outcome.wall_started, cause_sqlstate,
        cause.kind == FailureKind::Hook ? cause.message : cause.db_message.value_or(cause.message));
    Failure failure =
        step_failure(step, cause, policy_->consequence(outcome.transactional, outcome.autocommitted));
    if (policy_->reports_database_state()) {
      // A hook's own failure says nothing about the connection: only the revision's statements are looked at.
      const std::string sqlstate = cause.kind == FailureKind::Hook ? "" : cause.sqlstate.value_or("");
      const bool lost = db::is_connection_loss(sqlstate) || !conn_->is_open();
      if (lost) {
        append_report(
            failure,
            fmt::format("The connection to the database was lost during revision {}. The server rolls "
                        "back a transaction whose connection is gone, so that revision left nothing "
                        "behind; luamig does not rerun a half-run revision on a new connection.",
                        step.revision->id));
        append_report(failure, where_now(done) + " Run the command again once the server is reachable.");
      } else {
        append_report(failure, where_now(done));
      }
      observers_.on_failure(step, failure);
      if (!lost)
        hook_calls_->call_on_error(
            step_value(steps_, index,
                       std::chrono::duration_cast<std::chrono::milliseconds>(outcome.duration).count()),
            cause, context_);
    } else {
      observers_.on_failure(step, failure);
    }
    throw RunError(std::move(failure));
  }

  std::string where_now(size_t done) const {
    return policy_->where_now(heads_or_base(heads_), done, steps_.size());
  }

  // A stop (SIGINT/SIGTERM) seen inside a revision: no more cancels, roll back, report, release the lock.
  [[noreturn]] void stop_in_step(const graph::Step& step, size_t done,
                                 const std::set<std::string>& heads_before) {
    interrupt::acknowledge();
    int sig = interrupt::requested();
    roll_back_attempt(heads_before);
    stop_report(
        sig, done,
        fmt::format("Stopped by {} during the {} of revision {} ({}): its transaction was rolled back.",
                    interrupt::signal_name(sig), direction_name(step.direction), step.revision->id,
                    step.revision->path));
  }

  [[noreturn]] void stop_before(const graph::Step& step, size_t done) {
    interrupt::acknowledge();
    int sig = interrupt::requested();
    stop_report(sig, done,
                fmt::format("Stopped by {} before the {} of revision {}.", interrupt::signal_name(sig),
                            direction_name(step.direction), step.revision->id));
  }

  [[noreturn]] void stop_report(int sig, size_t done, const std::string& headline) {
    if (lock_) lock_->release();
    throw interrupt::Stopped(sig, headline,
                             headline + "\n" + where_now(done) +
                                 " The migration lock was released; run the command again to continue.");
  }

  // A dry run reached a step that cannot run inside its transaction: roll everything back and say so (exit
  // 0).
  void stop_dry_run(const graph::Step& step, const std::string& why, size_t done) {
    if (echo_) echo_->set_enabled(false);
    policy_->abandon_attempt();
    const auto& rev = *step.revision;
    out::warn(
        fmt::format("Dry run stopped before revision {} ({}, {}): {}.", rev.id, rev.message, rev.path, why));
    out::line(fmt::format("Dry run: {} of {} step{} ran; everything was rolled back, nothing was changed.",
                          done, steps_.size(), steps_.size() == 1 ? "" : "s"));
  }

  // Checks that the migration lock is still held: before every revision (so before a `transactional = false`
  // one), before work that commits on its own (op.autocommit_block, op.transaction's commit) and at the end.
  // The check before a revision was sent on the lock's own connection while the revision before it committed
  // (MigrationLock::start_verify), so it costs no round trip of its own. A lost lock stops the run there. A
  // revision that started under the lock is recorded: its own UPDATE of the version row would collide with
  // another process's.
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

  StepExecutor make_executor(const graph::RevisionMap& map) {
    StepParts parts{map, steps_, heads_, *version_table_, *services_, *engine_, hooks_, *policy_, observers_};
    parts.echo = echo_;
    parts.context = &context_;
    parts.on_plan = options_.on_plan;
    parts.moved_under_us = [this] { return moved_under_us(); };
    // In the step's transaction, right after its version row: the history row.
    parts.after_version_row = [this](const graph::Step& step, const std::set<std::string>& heads_before,
                                     std::chrono::system_clock::time_point wall_started) {
      history_.step_applied(step, heads_before, heads_, wall_started);
      // The check before the next revision starts now, on the lock's own connection, while this step's rows
      // travel to COMMIT; the next verify_lock() reads its answer.
      if (lock_) lock_->start_verify();
    };
    // The session is reset before the version row is written, then luamig's own SET LOCAL limits again, for
    // the version row and after_migration.
    parts.before_version_row = [this] {
      session_->reset();
      services_->reapply_timeouts();
    };
    return StepExecutor(std::move(parts));
  }

  void run_steps(const graph::RevisionMap& map) {
    size_t done = 0;
    session_ = std::make_unique<SessionReset>(*conn_, echo_);
    if (!steps_.empty()) session_->snapshot();
    if (options_.dry_run) out::line("Dry run: every step runs in one transaction, rolled back at the end.");
    // The whole command's transaction, if any, is open already online (prepare_version_table).
    if (!steps_.empty()) policy_->begin_run();
    StepExecutor executor = make_executor(map);
    for (size_t i = 0; i < steps_.size(); ++i) {
      const auto& step = steps_[i];
      if (interrupt::requested()) stop_before(step, done);
      if (lock_) verify_lock(false);
      const auto heads_before = heads_;
      bool replan = false;
      for (int retries = 0;; ++retries) {
        auto outcome = executor.attempt(i, retries, done);
        using Status = StepOutcome::Status;
        if (outcome.status == Status::Done) break;
        if (outcome.status == Status::Moved) {
          replan = true;
          break;
        }
        if (outcome.status == Status::Refused || outcome.status == Status::Stopped) {
          stop_dry_run(step, outcome.reason, done);
          return;
        }
        const Failure& cause = *outcome.failure;
        if (!outcome.loaded) fail_step(i, cause, done, heads_before, outcome);
        if (interrupt::requested()) stop_in_step(step, done, heads_before);
        if (options_.sql && options_.on_offline_failure) {
          // The caller takes the failure (the linter reads the plan up to it) and the script goes on.
          options_.on_offline_failure(step, cause, engine_->plan());
          executor.record_version_change(step);
          break;
        }
        // A failure inside a hook is the hook's, not the revision's lock wait: it is not retried.
        const bool lock_wait = outcome.transactional && cause.kind != FailureKind::Hook &&
                               retry_->should_retry(cause, retries, outcome.autocommitted);
        if (!lock_wait) {
          if (retries > 0) out::error(retry_->exhausted_sentence(retries));
          fail_step(i, cause, done, heads_before, outcome);
        }
        roll_back_attempt(heads_before);
        auto pause = retry_->pause(retries + 1);
        out::warn(fmt::format("{}: lock not available ({}); rolled back, retry {} of {} in {}",
                              step_description(step), cause.db_message.value_or(cause.message), retries + 1,
                              retry_->retries(), format_duration(pause)));
        if (!interrupt::sleep_for(pause)) stop_before(step, done);
      }
      if (replan) {
        // Another process moved the version table between our revisions (SQLite): plan again from where it
        // is.
        plan(map);
        if (!hooks_.empty()) context_ = run_context(facts_, steps_, planned_heads(map), std::nullopt);
        i = static_cast<size_t>(-1);
        continue;
      }
      ++done;
    }
    finish_run(done);
  }

  void finish_run(size_t done) {
    if (options_.dry_run) {
      // after_run too runs inside the dry run's transaction, before it is rolled back.
      if (!hooks_.empty() && hooks_.defines("after_run")) {
        auto ctx = run_context(facts_, steps_, heads_, elapsed_ms(started_));
        hook_calls_->in_hook_transaction([&] { hooks_.call("after_run", {ctx}); },
                                         "the dry run rolled everything back.");
      }
      policy_->end_run();
      out::line(
          fmt::format("Dry run finished: {} step{} ran; everything was rolled back, nothing was changed.",
                      done, done == 1 ? "" : "s"));
      return;
    }
    policy_->end_run();
    if (options_.sql) {
      // As Alembic does offline: a downgrade to base leaves no version table behind.
      if (options_.direction == graph::Direction::Down && heads_.empty() && !steps_.empty())
        conn_->execute(fmt::format("DROP TABLE {}", version_table_->qualified_name()));
      return;
    }
    if (done > 0) verify_lock(true);
    if (done == 0) out::line(fmt::format("Nothing to do: the database is at {}", heads_or_base(heads_)));
  }

  Project& project_;
  MigrateOptions options_;
  std::string phase_;
  std::unique_ptr<db::Connection> conn_;
  db::EchoConnection* echo_ = nullptr;       // set for a dry run: conn_ itself
  std::unique_ptr<db::MigrationLock> lock_;  // destroyed before conn_, which verifies it
  Clock::time_point lock_verified_;
  std::unique_ptr<db::VersionTable> version_table_;
  std::unique_ptr<interrupt::OnStop> on_stop_;  // destroyed before conn_, which it cancels
  std::unique_ptr<RunServices> services_;
  std::unique_ptr<TransactionPolicy> policy_;  // destroyed before conn_: its guard rolls back what is open
  std::unique_ptr<RetryPolicy> retry_;
  std::unique_ptr<HookCalls> hook_calls_;
  Observers observers_;
  std::unique_ptr<luahost::Engine> engine_;
  Hooks hooks_;
  Value context_;
  RunFacts facts_;
  std::unique_ptr<SessionReset> session_;  // reset before each version row
  RunHistory history_{project_, options_};
  std::set<std::string> heads_;
  std::vector<graph::Step> steps_;
  Clock::time_point started_;
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
      throw interrupt::Stopped(sig,
                               fmt::format("stopped by {} {}", interrupt::signal_name(sig), run.phase()));
    }
    throw;
  }
}
}  // namespace luamig::runner
