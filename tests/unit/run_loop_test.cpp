// The run loop (runner/migrate.cpp and its parts) driven in process against a RecordingConnection: no server.
// Each failure sentence the runner composes is checked here, with the statements that ran and what stayed
// committed.
#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>

#include "runner/migrate.hpp"
#include "support/engine.hpp"
#include "support/project.hpp"
#include "support/recording_connection.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

using Catch::Matchers::Contains;
using luamig::Failure;
using luamig::FailureKind;
using luamig::test::RecordingConnection;
using luamig::test::TempProject;
namespace runner = luamig::runner;

namespace {

// A project in a temporary directory (the working directory while it lives), run against a recording
// connection.
struct Loop {
  TempProject proj;
  std::shared_ptr<RecordingConnection::State> db = std::make_shared<RecordingConnection::State>();
  std::filesystem::path previous_cwd = std::filesystem::current_path();

  explicit Loop(const std::string& config = "") {
    proj.write_config(config);
    std::filesystem::current_path(proj.path());
  }
  ~Loop() { std::filesystem::current_path(previous_cwd); }

  void migration(const std::string& rev, std::optional<std::string> down, const std::string& up,
                 const std::string& extra_top = "") {
    std::string text = luamig::test::migration(rev, down, up, "  op.execute('SELECT 1')");
    proj.write("migrations/versions/" + rev + "_msg.lua", extra_top + text);
  }

  // Runs the command; the failure it ended with, if any.
  std::optional<Failure> run(runner::MigrateOptions options = {}) {
    auto opts = luamig::test::project_options(proj, "postgresql://app@db.invalid/app");
    if (options.target.empty()) options.target = "head";
    auto state = db;
    options.open_connection = [state] { return std::make_unique<RecordingConnection>(state); };
    try {
      auto project = runner::Project::open(opts);
      runner::migrate(project, options);
    } catch (const luamig::Error& e) {
      return e.failure;
    }
    return std::nullopt;
  }

  bool committed_contains(const std::string& text) const {
    for (const auto& s : db->committed)
      if (s.find(text) != std::string::npos) return true;
    return false;
  }
  size_t count_in_log(const std::string& text) const {
    size_t n = 0;
    for (const auto& s : db->log)
      if (s.find(text) != std::string::npos) ++n;
    return n;
  }
};

const std::string kCreateT1 = "  op.execute('CREATE TABLE t1 (id int)')";
const std::string kCreateT2 = "  op.execute('CREATE TABLE t2 (id int)')";

}  // namespace

TEST_CASE("run loop: each revision commits on its own", "[unit][runloop]") {
  Loop loop;
  loop.migration("a1", std::nullopt, kCreateT1);
  loop.migration("b2", "a1", kCreateT2);
  REQUIRE_FALSE(loop.run());
  CHECK(loop.db->rows == std::set<std::string>{"b2"});
  CHECK(loop.committed_contains("CREATE TABLE t1"));
  CHECK(loop.committed_contains("CREATE TABLE t2"));
  // The version table in its own transaction, then one BEGIN/COMMIT per revision.
  CHECK(loop.count_in_log("BEGIN") == 3);
  CHECK(loop.count_in_log("COMMIT") == 3);
}

TEST_CASE("run loop: a failing statement rolls its revision back and says where the database is",
          "[unit][runloop]") {
  Loop loop;
  loop.migration("a1", std::nullopt, kCreateT1);
  loop.migration("b2", "a1", kCreateT2);
  RecordingConnection::fail(*loop.db, "CREATE TABLE t2", "42P07", "relation \"t2\" already exists");
  auto f = loop.run();
  REQUIRE(f);
  CHECK(f->kind == FailureKind::Migration);
  CHECK_THAT(f->report, Contains("ERROR: upgrade of revision b2 (msg) failed; the revision was rolled back.\n"
                                 "  at migrations/versions/b2_msg.lua:"));
  CHECK_THAT(f->report, Contains("  error: relation \"t2\" already exists\n  SQLSTATE: 42P07\n"
                                 "  SQL: CREATE TABLE t2 (id int)"));
  CHECK_THAT(f->report, Contains("The database is at a1: 1 of 2 steps applied."));
  CHECK(f->sqlstate == std::optional<std::string>("42P07"));
  CHECK(loop.db->rows == std::set<std::string>{"a1"});
  CHECK_FALSE(loop.committed_contains("CREATE TABLE t2"));
}

TEST_CASE("run loop: one transaction for the command rolls every step back", "[unit][runloop]") {
  Loop loop("transaction_per_migration = false");
  loop.migration("a1", std::nullopt, kCreateT1);
  loop.migration("b2", "a1", "  error('b2 breaks')");
  auto f = loop.run();
  REQUIRE(f);
  CHECK_THAT(f->report, Contains("ERROR: upgrade of revision b2 (msg) failed; every step of this command was "
                                 "rolled back.\n  at migrations/versions/b2_msg.lua:"));
  CHECK_THAT(f->report, Contains("  error: b2 breaks"));
  CHECK_THAT(f->report, Contains("The database is at its state before this command: 0 of 2 steps applied."));
  CHECK_FALSE(loop.committed_contains("CREATE TABLE t1"));
  CHECK_FALSE(loop.committed_contains("alembic_version"));
  CHECK_FALSE(loop.db->table);  // the version table's creation went with it
}

TEST_CASE("run loop: a failed COMMIT of the whole command applies nothing", "[unit][runloop]") {
  Loop loop("transaction_per_migration = false");
  loop.migration("a1", std::nullopt, kCreateT1);
  RecordingConnection::fail(*loop.db, "COMMIT", "40001", "could not serialize access");
  auto f = loop.run();
  REQUIRE(f);
  CHECK(f->report.empty());
  CHECK(f->message == "COMMIT failed: could not serialize access (SQLSTATE 40001); nothing was applied");
  CHECK(luamig::failure_text(*f) ==
        "ERROR: COMMIT failed: could not serialize access (SQLSTATE 40001); nothing was applied");
  CHECK(loop.db->committed.empty());
}

TEST_CASE("run loop: a lock timeout is retried as configured, then reported", "[unit][runloop]") {
  SECTION("retries left: the revision runs again from the start and commits") {
    Loop loop("lock_retries = 3\nlock_retry_delay = '1ms'");
    loop.migration("a1", std::nullopt, kCreateT1);
    RecordingConnection::fail(*loop.db, "CREATE TABLE t1", "55P03", "canceling statement due to lock timeout",
                              2);
    REQUIRE_FALSE(loop.run());
    CHECK(loop.count_in_log("CREATE TABLE t1") == 3);
    CHECK(loop.count_in_log("ROLLBACK") == 2);
    CHECK(loop.db->rows == std::set<std::string>{"a1"});
  }
  SECTION("retries used up: reported like any failure") {
    Loop loop("lock_retries = 1\nlock_retry_delay = '1ms'");
    loop.migration("a1", std::nullopt, kCreateT1);
    RecordingConnection::fail(*loop.db, "CREATE TABLE t1", "55P03", "canceling statement due to lock timeout",
                              5);
    auto f = loop.run();
    REQUIRE(f);
    CHECK(loop.count_in_log("CREATE TABLE t1") == 2);
    CHECK_THAT(f->report,
               Contains("ERROR: upgrade of revision a1 (msg) failed; the revision was rolled back."));
    CHECK_THAT(f->report, Contains("  SQLSTATE: 55P03"));
    CHECK_THAT(f->report, Contains("The database is at base (no revision applied): 0 of 1 step applied."));
  }
  SECTION("one transaction for the command: never retried") {
    Loop loop("lock_retries = 3\nlock_retry_delay = '1ms'\ntransaction_per_migration = false");
    loop.migration("a1", std::nullopt, kCreateT1);
    RecordingConnection::fail(*loop.db, "CREATE TABLE t1", "55P03", "canceling statement due to lock timeout",
                              1);
    REQUIRE(loop.run());
    CHECK(loop.count_in_log("CREATE TABLE t1") == 1);
  }
}

TEST_CASE("run loop: what a failure leaves behind is named", "[unit][runloop]") {
  SECTION("transactional = false") {
    Loop loop;
    loop.migration("a1", std::nullopt, kCreateT1 + "\n" + kCreateT2, "transactional = false\n");
    RecordingConnection::fail(*loop.db, "CREATE TABLE t2", "42601", "syntax error");
    auto f = loop.run();
    REQUIRE(f);
    CHECK_THAT(f->report,
               Contains("failed; it declares `transactional = false`, so the statements it ran before "
                        "the failure were committed and stay; the version table was not updated."));
    CHECK(loop.committed_contains("CREATE TABLE t1"));
    CHECK(loop.db->rows.empty());
  }
  SECTION("work committed by an autocommit block") {
    Loop loop;
    loop.migration(
        "a1", std::nullopt,
        "  op.autocommit_block(function() op.execute('CREATE INDEX i1 ON t (c)') end)\n" + kCreateT2);
    RecordingConnection::fail(*loop.db, "CREATE TABLE t2", "42601", "syntax error");
    auto f = loop.run();
    REQUIRE(f);
    CHECK_THAT(f->report,
               Contains("failed; its open transaction was rolled back, but the work it committed "
                        "(autocommit_block, op.transaction) stays; the version table was not updated."));
    CHECK(loop.committed_contains("CREATE INDEX i1"));
    CHECK_FALSE(loop.committed_contains("CREATE TABLE t2"));
  }
}

TEST_CASE("run loop: a lost connection is told as such", "[unit][runloop]") {
  Loop loop;
  loop.migration("a1", std::nullopt, kCreateT1);
  RecordingConnection::fail(*loop.db, "CREATE TABLE t1", "08006", "server closed the connection unexpectedly",
                            1, true);
  auto f = loop.run();
  REQUIRE(f);
  CHECK_THAT(f->report,
             Contains("The connection to the database was lost during revision a1. The server rolls "
                      "back a transaction whose connection is gone"));
  CHECK_THAT(f->report, Contains("0 of 1 step applied. Run the command again once the server is reachable."));
}

TEST_CASE("run loop: hook failures name the hook, its file and line", "[unit][runloop]") {
  SECTION("before_migration, inside the revision's transaction") {
    Loop loop("hooks = {'hooks/guard.lua'}");
    loop.proj.write("migrations/hooks/guard.lua",
                    "function before_migration(step, ctx)\n  error('no')\nend\n");
    loop.migration("a1", std::nullopt, kCreateT1);
    auto f = loop.run();
    REQUIRE(f);
    CHECK_THAT(f->report, Contains("ERROR: upgrade of revision a1 (msg) failed in hook before_migration of "
                                   "migrations/hooks/guard.lua; the revision was rolled back.\n"
                                   "  at migrations/hooks/guard.lua:2 (in before_migration)\n  error: "));
    CHECK(loop.db->rows.empty());
  }
  SECTION("before_run: nothing was changed") {
    Loop loop("hooks = {'hooks/guard.lua'}");
    loop.proj.write("migrations/hooks/guard.lua", "function before_run(ctx)\n  error('closed')\nend\n");
    loop.migration("a1", std::nullopt, kCreateT1);
    auto f = loop.run();
    REQUIRE(f);
    CHECK_THAT(f->report, Contains("ERROR: hook before_run of migrations/hooks/guard.lua failed; nothing was "
                                   "changed.\n  at migrations/hooks/guard.lua:2 (in before_run)"));
    CHECK(loop.count_in_log("CREATE TABLE t1") == 0);
  }
  SECTION("on_error sees the revision's error, in its own committed transaction") {
    Loop loop("hooks = {'hooks/guard.lua'}");
    loop.proj.write(
        "migrations/hooks/guard.lua",
        "function on_error(step, err, ctx)\n"
        "  op.execute('INSERT INTO log VALUES (' .. step.revision .. err.sqlstate .. ')')\nend\n");
    loop.migration("a1", std::nullopt, kCreateT1);
    RecordingConnection::fail(*loop.db, "CREATE TABLE t1", "42P07", "exists");
    REQUIRE(loop.run());
    CHECK(loop.committed_contains("INSERT INTO log VALUES (a142P07)"));
  }
}

TEST_CASE("run loop: a dry run rolls everything back, on failure too", "[unit][runloop]") {
  SECTION("success") {
    Loop loop;
    loop.migration("a1", std::nullopt, kCreateT1);
    runner::MigrateOptions o;
    o.dry_run = true;
    REQUIRE_FALSE(loop.run(o));
    CHECK(loop.count_in_log("CREATE TABLE t1") == 1);
    CHECK(loop.db->committed.empty());
  }
  SECTION("failure") {
    Loop loop;
    loop.migration("a1", std::nullopt, kCreateT1);
    RecordingConnection::fail(*loop.db, "CREATE TABLE t1", "42P07", "exists");
    runner::MigrateOptions o;
    o.dry_run = true;
    auto f = loop.run(o);
    REQUIRE(f);
    CHECK_THAT(f->report,
               Contains("failed; the dry run stopped and rolled everything back; nothing was changed."));
    CHECK_THAT(f->report, !Contains("The database is at"));
    CHECK(loop.db->committed.empty());
  }
  SECTION("a `transactional = false` revision stops it without a failure") {
    Loop loop;
    loop.migration("a1", std::nullopt, kCreateT1);
    loop.migration("b2", "a1", kCreateT2, "transactional = false\n");
    runner::MigrateOptions o;
    o.dry_run = true;
    REQUIRE_FALSE(loop.run(o));
    CHECK(loop.count_in_log("CREATE TABLE t2") == 0);
    CHECK(loop.db->committed.empty());
  }
}

TEST_CASE("run loop: an --sql script stops before a revision it cannot write", "[unit][runloop]") {
  Loop loop;
  loop.migration("a1", std::nullopt, "  error('needs the database')");
  runner::MigrateOptions o;
  o.sql = true;
  auto f = loop.run(o);
  REQUIRE(f);
  CHECK_THAT(f->report, Contains("ERROR: upgrade of revision a1 (msg) failed; it cannot be written as an SQL "
                                 "script; the script above stops before it."));
  CHECK_THAT(f->report, !Contains("The database is at"));
  CHECK(loop.db->log.empty());  // offline: the connection is never opened
}

TEST_CASE("run loop: a step observer hears every step and the failure", "[unit][runloop]") {
  struct Recorder : runner::StepObserver {
    std::vector<std::string> events;
    void on_step_start(const luamig::graph::Step& s) override { events.push_back("start " + s.revision->id); }
    void on_step_end(const luamig::graph::Step& s, std::chrono::nanoseconds) override {
      events.push_back("end " + s.revision->id);
    }
    void on_failure(const luamig::graph::Step& s, const Failure& f) override {
      events.push_back("failure " + s.revision->id + " " + f.sqlstate.value_or(""));
    }
  } recorder;
  Loop loop;
  loop.migration("a1", std::nullopt, kCreateT1);
  loop.migration("b2", "a1", kCreateT2);
  RecordingConnection::fail(*loop.db, "CREATE TABLE t2", "42P07", "exists");
  runner::MigrateOptions o;
  o.observer = &recorder;
  REQUIRE(loop.run(o));
  CHECK(recorder.events == std::vector<std::string>{"start a1", "end a1", "start b2", "failure b2 42P07"});
}
