// Running luamig from container entrypoints: many processes at once, a server that is not up yet, signals,
// kill -9, lost connections, lock_not_available retries, and `check`. Real PostgreSQL
// (tests/support/pg_server.hpp).
//
// Over 600 lines, on purpose: every entrypoint situation (concurrency, waiting, signals, poolers) side by
// side.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "db/postgresql_lock.hpp"
#include "support/cli.hpp"
#include "support/pg_server.hpp"
#include "support/project.hpp"
#include "support/run.hpp"
#include "support/text.hpp"

using namespace luamig::test;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;
using Clock = std::chrono::steady_clock;

namespace {

std::string rev_id(int n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "r%02d", n);
  return buf;
}

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// r01 creates the audit table; every revision inserts its id into it and sleeps `sleep` in SQL. Revision
// `failing` (0 = none) raises an error instead.
void audit_project(const TempProject& proj, int count, const std::string& sleep, int failing = 0) {
  proj.write_config();
  for (int i = 1; i <= count; ++i) {
    std::string body;
    if (i == 1) body += "  op.execute(\"CREATE TABLE audit (rev text NOT NULL, backend int NOT NULL)\")\n";
    if (i == failing) body += "  error(\"revision " + rev_id(i) + " is broken\")\n";
    body +=
        "  op.execute(\"INSERT INTO audit (rev, backend) VALUES ('" + rev_id(i) + "', pg_backend_pid())\")\n";
    body += "  op.execute(\"SELECT pg_sleep(" + sleep + ")\")";
    proj.write_migration(rev_id(i), i == 1 ? std::nullopt : std::optional(rev_id(i - 1)), body, "",
                         "audit " + rev_id(i));
  }
}

// r01 creates table t; revision i adds column c<i>. The schema says exactly which revisions ran.
void column_project(const TempProject& proj, int count, const std::string& sleep) {
  proj.write_config();
  for (int i = 1; i <= count; ++i) {
    std::string body;
    if (i == 1) body += "  op.execute(\"CREATE TABLE t (id int)\")\n";
    body += "  op.execute(\"ALTER TABLE t ADD COLUMN c" + std::to_string(i) + " int\")\n";
    body += "  op.execute(\"SELECT pg_sleep(" + sleep + ")\")";
    proj.write_migration(rev_id(i), i == 1 ? std::nullopt : std::optional(rev_id(i - 1)), body,
                         "  op.execute(\"ALTER TABLE t DROP COLUMN c" + std::to_string(i) + "\")",
                         "col " + rev_id(i));
  }
}

// Replaces column_project's revision `n` with another body.
void replace_revision(const TempProject& proj, int n, const std::string& body) {
  proj.remove("migrations/versions/" + rev_id(n) + "_" + slugify("col " + rev_id(n)) + ".lua");
  proj.write_migration(rev_id(n), n == 1 ? std::nullopt : std::optional(rev_id(n - 1)), body, "",
                       "replaced " + rev_id(n));
}

// Columns that revisions up to `version` must have added.
Strings expected_columns(const Strings& version_rows) {
  if (version_rows.empty()) return {};
  int n = std::stoi(version_rows.at(0).substr(1));
  Strings cols{"id"};
  for (int i = 1; i <= n; ++i) cols.push_back(std::string("c").append(std::to_string(i)));
  return cols;
}

// Runs luamig with `args` in `n` processes, released together: each polls for a file the test creates (a FIFO
// would leave a process that opens it late blocked for good).
std::vector<Spawned> start_together(const TempProject& proj, const TempDb& db, int n, const Strings& args) {
  std::string cmd = "while [ ! -e go ]; do sleep 0.005; done; exec \"$0\"";
  for (const auto& a : args) cmd += " '" + a + "'";
  std::vector<Spawned> procs;
  for (int i = 0; i < n; ++i)
    procs.emplace_back(Strings{"sh", "-c", cmd, luamig_bin()}, with_db(proj, db.url()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  proj.write("go", "");
  return procs;
}

// Polls `sql` on the database until it returns a row with a non-null first column; returns it ("" on
// time-out).
std::string wait_for_value(const TempDb& db, const std::string& sql, int timeout_ms = 15000) {
  auto t0 = Clock::now();
  while (ms_since(t0) < timeout_ms) {
    auto rows = db.query_column(sql);
    if (!rows.empty() && rows[0] != "<null>") return rows[0];
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

std::string lock_holder_sql() {
  long long key = luamig::db::migration_lock_key("public", "alembic_version");
  auto u = static_cast<unsigned long long>(key);
  return "SELECT pid::text FROM pg_locks WHERE locktype = 'advisory' AND classid = " +
         std::to_string(u >> 32) + "::oid AND objid = " + std::to_string(u & 0xffffffffULL) +
         "::oid AND objsubid = 1 AND granted";
}

}  // namespace

TEST_CASE("entrypoint: 16 processes upgrading at once apply each revision exactly once", "[entrypoint]") {
  TempDb db;
  TempProject proj;
  audit_project(proj, 50, "0.02");
  auto t0 = Clock::now();
  auto procs = start_together(proj, db, 16, {"upgrade", "head"});
  std::string all;
  int ran = 0, nothing = 0;
  for (auto& p : procs) {
    auto r = p.wait();
    INFO(r.describe());
    CHECK(r.status == 0);
    all += r.err;
    if (r.err.find("Running upgrade") != std::string::npos) ++ran;
    if (r.err.find("Nothing to do: the database is at r50") != std::string::npos) ++nothing;
  }
  WARN("16 processes, 50 revisions: " << ms_since(t0) << " ms; " << ran << " process(es) ran revisions, "
                                      << nothing << " found nothing to do");
  CHECK(db.query_value("SELECT count(*) FROM audit") == "50");
  CHECK(db.query_value("SELECT count(DISTINCT rev) FROM audit") == "50");
  CHECK(db.version_rows() == Strings{"r50"});
  CHECK(count_of(all, "Running upgrade") == 50);
  CHECK(ran + nothing == 16);
  // Nobody holds the lock afterwards.
  CHECK(db.query_column(lock_holder_sql()).empty());
}

TEST_CASE("entrypoint: 8 processes and a failing revision all stop at the same revision", "[entrypoint]") {
  TempDb db;
  TempProject proj;
  audit_project(proj, 50, "0.02", 30);
  auto procs = start_together(proj, db, 8, {"upgrade", "head"});
  for (auto& p : procs) {
    auto r = p.wait();
    INFO(r.describe());
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("revision r30"));
    CHECK_THAT(r.err, Contains("revision r30 is broken"));
    CHECK_THAT(r.err, Contains("The database is at r29"));
  }
  CHECK(db.version_rows() == Strings{"r29"});
  CHECK(db.query_value("SELECT count(*) FROM audit") == "29");
  CHECK(db.query_value("SELECT count(DISTINCT rev) FROM audit") == "29");
}

TEST_CASE("entrypoint: kill -9 at random moments leaves the database at a revision boundary",
          "[entrypoint]") {
  TempProject proj;
  column_project(proj, 50, "0.005");
  // Calibrate: how long a full run takes here.
  long long full_ms;
  {
    TempDb db;
    auto t0 = Clock::now();
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    full_ms = ms_since(t0);
    REQUIRE(r.status == 0);
    REQUIRE(db.columns("t") == expected_columns({"r50"}));
  }
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<long long> when(0, full_ms);
  std::map<std::string, int> stopped_at;
  for (int trial = 0; trial < 30; ++trial) {
    TempDb db;
    Spawned p(Strings{luamig_bin(), "upgrade", "head"}, with_db(proj, db.url()));
    auto delay = when(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    p.kill(SIGKILL);
    auto r = p.wait();
    auto rows = db.version_rows();
    INFO("trial " << trial << ", killed after " << delay << " ms, version "
                  << (rows.empty() ? "none" : rows[0]));
    CHECK(rows.size() <= 1);
    CHECK(db.columns("t") == expected_columns(rows));
    stopped_at[rows.empty() ? "base" : rows[0]]++;
    auto again = luamig_in(proj, db.url(), {"upgrade", "head"});
    INFO(again.describe());
    CHECK(again.status == 0);
    CHECK(db.version_rows() == Strings{"r50"});
    CHECK(db.columns("t") == expected_columns({"r50"}));
  }
  std::string dist;
  for (const auto& [k, v] : stopped_at) dist += k + "x" + std::to_string(v) + " ";
  WARN("full run " << full_ms << " ms; kill -9 left the database at: " << dist);
  CHECK(stopped_at.size() >= 3);  // the kills did land at different moments
}

TEST_CASE("entrypoint: the server closing the connection mid-revision fails clearly and is not retried",
          "[entrypoint]") {
  TempDb db;
  TempProject proj;
  column_project(proj, 3, "0");
  replace_revision(
      proj, 2, "  op.execute(\"ALTER TABLE t ADD COLUMN c2 int\")\n  op.execute(\"SELECT pg_sleep(20)\")");
  auto t0 = Clock::now();
  Spawned p(Strings{luamig_bin(), "upgrade", "head"}, with_db(proj, db.url()));
  auto pid = wait_for_value(
      db,
      "SELECT pid::text FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%' AND state = 'active'");
  REQUIRE(!pid.empty());
  db.exec("SELECT pg_terminate_backend(" + pid + ")");
  auto r = p.wait();
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK(ms_since(t0) < 15000);
  CHECK_THAT(r.err, Contains("revision r02"));
  CHECK_THAT(r.err, Contains("The connection to the database was lost during revision r02"));
  CHECK_THAT(r.err, Contains("does not rerun a half-run revision"));
  CHECK_THAT(r.err, Contains("The database is at r01"));
  // r02 was announced before it ran, and never finished.
  CHECK(count_of(r.all(), "Running upgrade r01 -> r02") == 1);
  {
    std::string all = r.all();
    auto header = all.find("Running upgrade r01 -> r02");
    auto next_line = all.find('\n', header);
    CHECK(all.compare(next_line + 1, 6, "  done") != 0);
  }
  CHECK(db.version_rows() == Strings{"r01"});
  CHECK(db.columns("t") == expected_columns({"r01"}));
  CHECK(db.query_column(lock_holder_sql()).empty());
}

TEST_CASE("entrypoint: a lost migration lock stops the run before the next revision", "[entrypoint]") {
  TempDb db;
  TempProject proj;
  column_project(proj, 3, "0");
  // r02 waits at a gate the test holds until the lock is gone.
  db.exec("CREATE TABLE gate (id int)");
  replace_revision(
      proj, 2,
      "  op.execute(\"ALTER TABLE t ADD COLUMN c2 int\")\n  op.execute(\"LOCK TABLE gate IN SHARE MODE\")");
  auto gate = db.connect();
  pqxx::nontransaction gtx(gate);
  gtx.exec("BEGIN");
  gtx.exec("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE");
  Spawned p(Strings{luamig_bin(), "upgrade", "head"}, with_db(proj, db.url()));
  REQUIRE(!wait_for_value(db,
                          "SELECT pid::text FROM pg_stat_activity WHERE query LIKE 'LOCK TABLE gate%' AND "
                          "wait_event_type = 'Lock'")
               .empty());
  auto holder = wait_for_value(db, lock_holder_sql());
  REQUIRE(!holder.empty());
  // What a pooler in transaction mode, or a reset session, does to a session lock.
  db.exec("SELECT pg_terminate_backend(" + holder + ")");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // verification is at most every 200 ms
  gtx.exec("COMMIT");
  auto r = p.wait();
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("the migration lock on \"public\".\"alembic_version\" was lost"));
  CHECK_THAT(r.err, Contains("PgBouncer"));
  CHECK(db.version_rows() == Strings{"r02"});
  CHECK(db.columns("t") == expected_columns({"r02"}));
}

TEST_CASE("entrypoint: --wait-for-db waits for a server that starts later", "[entrypoint]") {
  PgServer& pg = PgServer::shared();
  if (pg.external()) {
    WARN("skipped: needs the test's own server (stop/start)");
    return;
  }
  TempDb db;
  TempProject proj;
  column_project(proj, 3, "0");
  pg.stop();
  auto t0 = Clock::now();
  Spawned p(Strings{luamig_bin(), "--wait-for-db", "30s", "upgrade", "head"}, with_db(proj, db.url()));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  pg.start();
  auto r = p.wait();
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK(ms_since(t0) >= 3000);
  CHECK_THAT(r.err,
             Contains("Database not reachable yet: cannot connect to PostgreSQL (host 127.0.0.1, port " +
                      std::to_string(pg.port())));
  CHECK_THAT(r.err, Contains("retrying in"));
  CHECK(count_of(r.err, "Database not reachable yet") >= 3);
  CHECK(db.version_rows() == Strings{"r03"});
}

TEST_CASE("entrypoint: no server: fails at once or after --wait-for-db and never shows the password",
          "[entrypoint]") {
  TempProject proj;
  column_project(proj, 1, "0");
  std::string url = "postgresql://app:s3cr3t-pw@127.0.0.1:" + std::to_string(unused_tcp_port()) + "/appdb";
  RunOptions opts;
  opts.cwd = proj.path();
  opts.env = {{"DATABASE_URL", url}};

  auto t0 = Clock::now();
  auto r = luamig::test::luamig({"upgrade", "head"}, opts);
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK(ms_since(t0) < 2000);
  CHECK_THAT(r.err, Contains("cannot connect to PostgreSQL (host 127.0.0.1, port"));
  CHECK_THAT(r.err, Contains("database appdb, user app"));
  CHECK_THAT(r.err, !Contains("s3cr3t"));
  CHECK_THAT(r.err, !Contains("retrying"));

  t0 = Clock::now();
  r = luamig::test::luamig({"--wait-for-db", "2s", "upgrade", "head"}, opts);
  auto took = ms_since(t0);
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK(took >= 2000);
  CHECK(took < 5000);
  CHECK(count_of(r.err, "Database not reachable yet") >= 3);
  CHECK_THAT(r.err, Contains("gave up waiting for the database after 2"));
  CHECK_THAT(r.all(), !Contains("s3cr3t"));

  // A container stopped while it waits for its database.
  Spawned waiting(Strings{luamig_bin(), "--wait-for-db", "30s", "upgrade", "head"}, opts);
  REQUIRE(waiting.wait_for_output("Database not reachable yet", 10000));
  waiting.kill(SIGTERM);
  r = waiting.wait(5000);
  INFO(r.describe());
  CHECK(r.status == 143);
  CHECK_THAT(r.err, Contains("stopped by SIGTERM while waiting for the database; nothing was changed"));
}

TEST_CASE("entrypoint: SIGTERM during a long revision rolls back and releases the lock and exits 143",
          "[entrypoint]") {
  TempDb db;
  TempProject proj;
  column_project(proj, 3, "0");
  replace_revision(proj, 2,
                   "  op.execute(\"ALTER TABLE t ADD COLUMN c2 int\")\n"
                   "  op.execute(\"SELECT pg_sleep(\" .. (context.x.sleep or \"0\") .. \")\")");
  Spawned a(Strings{luamig_bin(), "-x", "sleep=60", "upgrade", "head"}, with_db(proj, db.url()));
  REQUIRE(!wait_for_value(db,
                          "SELECT pid::text FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' "
                          "AND state = 'active'")
               .empty());
  Spawned b(Strings{luamig_bin(), "upgrade", "head"}, with_db(proj, db.url()));
  REQUIRE(b.wait_for_output("Waiting for the migration lock, held by pid", 10000));
  auto t0 = Clock::now();
  a.kill(SIGTERM);
  auto ra = a.wait();
  auto stop_ms = ms_since(t0);
  INFO(ra.describe());
  CHECK(ra.status == 143);
  CHECK(stop_ms < 3000);
  CHECK_THAT(ra.err, Contains("Stopped by SIGTERM during the upgrade of revision r02"));
  CHECK_THAT(ra.err, Contains("its transaction was rolled back"));
  CHECK_THAT(ra.err, Contains("The database is at r01: 1 of 3 steps applied"));
  CHECK_THAT(ra.err, Contains("The migration lock was released"));
  auto rb = b.wait();
  INFO(rb.describe());
  CHECK(rb.status == 0);
  CHECK_THAT(rb.err, Contains("Running upgrade r01 -> r02"));
  CHECK(db.version_rows() == Strings{"r03"});
  WARN("SIGTERM to exit: " << stop_ms << " ms");
}

TEST_CASE("entrypoint: SIGINT interrupts a Lua loop and exits 130", "[entrypoint]") {
  TempDb db;
  TempProject proj;
  column_project(proj, 2, "0");
  replace_revision(proj, 2,
                   "  op.execute(\"ALTER TABLE t ADD COLUMN c2 int\")\n"
                   "  log.info(\"spinning\")\n"
                   "  local swallowed = pcall(function() while true do end end)\n"
                   "  while true do end");
  Spawned a(Strings{luamig_bin(), "upgrade", "head"}, with_db(proj, db.url()));
  REQUIRE(a.wait_for_output("spinning", 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto t0 = Clock::now();
  a.kill(SIGINT);
  auto r = a.wait();
  INFO(r.describe());
  CHECK(r.status == 130);
  CHECK(ms_since(t0) < 3000);
  CHECK_THAT(r.err, Contains("Stopped by SIGINT during the upgrade of revision r02"));
  CHECK(db.version_rows() == Strings{"r01"});
  CHECK(db.columns("t") == expected_columns({"r01"}));
  CHECK(db.query_column(lock_holder_sql()).empty());
}

TEST_CASE("entrypoint: waiting for the lock times out naming the holder", "[entrypoint]") {
  TempDb db;
  TempProject proj;
  column_project(proj, 2, "0");
  auto holder = db.connect();
  pqxx::nontransaction tx(holder);
  tx.exec("SET application_name = 'blocker'");
  long long key = luamig::db::migration_lock_key("public", "alembic_version");
  tx.exec("SELECT pg_advisory_lock(" + std::to_string(key) + ")");
  int holder_pid = holder.backendpid();

  auto t0 = Clock::now();
  auto r = luamig_in(proj, db.url(), {"upgrade", "head", "--lock-timeout", "1s"});
  auto took = ms_since(t0);
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK(took >= 1000);
  CHECK(took < 4000);
  CHECK_THAT(r.err, Contains("Waiting for the migration lock, held by pid " + std::to_string(holder_pid)));
  CHECK_THAT(r.err, Contains("timed out after 1"));
  CHECK_THAT(r.err, Contains("held by pid " + std::to_string(holder_pid) + " (application_name 'blocker'"));
  CHECK_THAT(r.err, Contains("--lock-timeout"));
  // The lock comes before anything else: not even the version table was created.
  CHECK_FALSE(db.table_exists("alembic_version"));

  // A stop while waiting: nothing was changed.
  {
    Spawned waiting(Strings{luamig_bin(), "upgrade", "head"}, with_db(proj, db.url()));
    REQUIRE(waiting.wait_for_output("Waiting for the migration lock", 10000));
    waiting.kill(SIGINT);
    auto w = waiting.wait(5000);
    INFO(w.describe());
    CHECK(w.status == 130);
    CHECK_THAT(w.err,
               Contains("stopped by SIGINT while waiting for the migration lock; nothing was changed"));
  }

  // The config key does the same.
  proj.write_config("migration_lock_timeout = \"500ms\"");
  r = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("timed out after 5"));

  // stamp and downgrade take the lock too.
  r = luamig_in(proj, db.url(), {"stamp", "head", "--lock-timeout", "300ms"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("waiting for the migration lock"));
  r = luamig_in(proj, db.url(), {"downgrade", "base", "--lock-timeout", "300ms"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("waiting for the migration lock"));

  // Another version table is another lock: a second project in the same database is not blocked.
  TempProject other;
  other.write_config("version_table = \"other_version\"\nmigration_lock_timeout = \"300ms\"");
  other.write_migration("r01", std::nullopt, "  op.execute(\"CREATE TABLE other_t (id int)\")", "", "other");
  r = luamig_in(other, db.url(), {"upgrade", "head"});
  INFO(r.describe());
  CHECK(r.status == 0);
  CHECK(db.version_rows("other_version") == Strings{"r01"});

  tx.exec("SELECT pg_advisory_unlock(" + std::to_string(key) + ")");
  r = luamig_in(proj, db.url(), {"upgrade", "head"});
  CHECK(r.status == 0);
  CHECK(db.version_rows() == Strings{"r02"});
}

TEST_CASE("entrypoint: lock_not_available is retried and fails once retries are spent", "[entrypoint]") {
  TempDb db;
  TempProject proj;
  db.exec("CREATE TABLE hot (id int)");
  proj.write_migration("r01", std::nullopt, "  op.execute(\"CREATE TABLE audit (n int)\")", "", "first");
  proj.write_migration("r02", "r01",
                       "  op.execute(\"INSERT INTO audit VALUES (2)\")\n"
                       "  op.execute(\"SET LOCAL lock_timeout = '100ms'\")\n"
                       "  op.execute(\"ALTER TABLE hot ADD COLUMN x int\")",
                       "", "touch hot");

  SECTION("the lock is released during the retries: success") {
    proj.write_config("lock_retries = 5\nlock_retry_delay = \"300ms\"");
    auto blocker = db.connect();
    pqxx::nontransaction tx(blocker);
    tx.exec("BEGIN");
    tx.exec("LOCK TABLE hot IN ACCESS EXCLUSIVE MODE");
    Spawned p(Strings{luamig_bin(), "upgrade", "head"}, with_db(proj, db.url()));
    REQUIRE(p.wait_for_output("retry 2 of 5", 20000));
    tx.exec("COMMIT");
    auto r = p.wait();
    INFO(r.describe());
    CHECK(r.status == 0);
    CHECK_THAT(r.err,
               Contains("Running upgrade r01 -> r02, touch hot: lock not available (canceling statement due "
                        "to lock timeout); rolled back, retry 1 of 5 in"));
    CHECK(db.version_rows() == Strings{"r02"});
    CHECK(db.columns("hot") == Strings{"id", "x"});
    // The rolled-back attempts left nothing behind.
    CHECK(db.query_value("SELECT count(*) FROM audit") == "1");
  }
  SECTION("held throughout: fails after the last retry") {
    proj.write_config("lock_retries = 2\nlock_retry_delay = \"100ms\"");
    auto blocker = db.connect();
    pqxx::nontransaction tx(blocker);
    tx.exec("BEGIN");
    tx.exec("LOCK TABLE hot IN ACCESS EXCLUSIVE MODE");
    auto r = luamig_in(proj, db.url(), {"upgrade", "head"});
    tx.exec("ROLLBACK");
    INFO(r.describe());
    CHECK(r.status == 1);
    CHECK(count_of(r.err, "lock not available") == 2);
    CHECK_THAT(r.err, Contains("retry 2 of 2"));
    CHECK_THAT(r.err, Contains("The lock was still not available after 2 retries (lock_retries = 2)"));
    CHECK_THAT(r.err, Contains("SQLSTATE: 55P03"));
    CHECK_THAT(r.err, Contains("The database is at r01"));
    CHECK(db.version_rows() == Strings{"r01"});
    CHECK(db.query_value("SELECT count(*) FROM audit") == "0");
  }
}

TEST_CASE("entrypoint: check and check --wait", "[entrypoint]") {
  TempDb db;
  TempProject proj;
  column_project(proj, 3, "0");

  auto r = luamig_in(proj, db.url(), {"check"});
  INFO(r.describe());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("Not at head: the database is at base; head is r03 (3 revisions to apply)"));
  CHECK_FALSE(db.table_exists("alembic_version"));  // check never creates it

  REQUIRE(luamig_in(proj, db.url(), {"upgrade", "r02"}).status == 0);
  r = luamig_in(proj, db.url(), {"check"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("the database is at r02; head is r03 (1 revision to apply)"));

  // check takes no lock: it answers while another process holds it.
  {
    auto holder = db.connect();
    pqxx::nontransaction tx(holder);
    tx.exec("SELECT pg_advisory_lock(" +
            std::to_string(luamig::db::migration_lock_key("public", "alembic_version")) + ")");
    auto t0 = Clock::now();
    CHECK(luamig_in(proj, db.url(), {"check"}).status == 1);
    CHECK(ms_since(t0) < 2000);
  }

  r = luamig_in(proj, db.url(), {"check", "--wait", "1s"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("Not at head after waiting 1"));

  // A replica waits while another process migrates.
  Spawned waiter(Strings{luamig_bin(), "check", "--wait", "30s"}, with_db(proj, db.url()));
  REQUIRE(waiter.wait_for_output("Waiting up to 30", 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CHECK(waiter.running());
  REQUIRE(luamig_in(proj, db.url(), {"upgrade", "head"}).status == 0);
  auto w = waiter.wait(10000);
  INFO(w.describe());
  CHECK(w.status == 0);
  CHECK_THAT(w.err, Contains("At head: r03"));

  r = luamig_in(proj, db.url(), {"check"});
  CHECK(r.status == 0);
  CHECK_THAT(r.err, Contains("At head: r03"));

  // A revision unknown to these files (a newer release migrated the database).
  db.exec("UPDATE alembic_version SET version_num = 'zz99'");
  r = luamig_in(proj, db.url(), {"check"});
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Contains("zz99, which no revision file here defines"));
}

TEST_CASE("entrypoint: lock keys and settings", "[entrypoint]") {
  using luamig::db::migration_lock_key;
  CHECK(migration_lock_key("public", "alembic_version") == migration_lock_key("public", "alembic_version"));
  CHECK(migration_lock_key("public", "alembic_version") != migration_lock_key("app", "alembic_version"));
  CHECK(migration_lock_key("public", "alembic_version") != migration_lock_key("public", "other_version"));
  CHECK(migration_lock_key("a.b", "c") != migration_lock_key("a", "b.c"));

  TempProject proj;
  column_project(proj, 1, "0");
  RunOptions opts;
  opts.cwd = proj.path();
  opts.env = {{"DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none"}};
  auto r = luamig::test::luamig({"--lock-timeout", "soon", "upgrade", "head"}, opts);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("--lock-timeout: 'soon' is not a duration"));
  r = luamig::test::luamig({"check", "--wait", "x"}, opts);
  CHECK(r.status == 2);
  proj.write_config("lock_retries = -1");
  r = luamig::test::luamig({"upgrade", "head"}, opts);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("'lock_retries' must be a whole number"));
  proj.write_config("wait_for_db = \"forever\"");
  r = luamig::test::luamig({"upgrade", "head"}, opts);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Contains("wait_for_db"));
  proj.write_config(
      "migration_lock_timeout = \"2min\"\nlock_retry_delay = \"50ms\"\nlock_retries = 0\nwait_for_db = "
      "\"0\"");
  r = luamig::test::luamig({"upgrade", "head"}, opts);
  CHECK(r.status == 1);  // valid settings; no server at port 1
  CHECK_THAT(r.err, Contains("cannot connect to PostgreSQL"));
}

TEST_CASE("entrypoint: PgBouncer in transaction pooling mode is detected", "[entrypoint]") {
  const char* bouncer = "/usr/sbin/pgbouncer";
  PgServer& pg = PgServer::shared();
  if (::access(bouncer, X_OK) != 0 || pg.external()) {
    WARN("skipped: needs " << bouncer << " (Debian package pgbouncer) and the test's own server");
    return;
  }
  TempDb db;
  TempProject proj;
  column_project(proj, 12, "0");
  // r02 waits at a gate the test holds, so the second process surely arrives while the first holds the lock;
  // the ten revisions after it leave the second process the pooler's one server session between their
  // transactions long enough to see the lock it shares.
  db.exec("CREATE TABLE gate (id int)");
  replace_revision(
      proj, 2,
      "  op.execute(\"ALTER TABLE t ADD COLUMN c2 int\")\n  op.execute(\"LOCK TABLE gate IN SHARE MODE\")");
  // One server session for every client: what transaction pooling does under load, made certain.
  TempProject dir;
  int port = unused_tcp_port();
  dir.write("users.txt", "\"postgres\" \"\"\n");
  dir.write("pgbouncer.ini",
            "[databases]\n* = host=127.0.0.1 port=" + std::to_string(pg.port()) +
                "\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " + std::to_string(port) +
                "\nunix_socket_dir =\nauth_type = trust\nauth_file = " + dir.path("users.txt").string() +
                "\nadmin_users = postgres\npool_mode = transaction\ndefault_pool_size = 1\n");
  ::chmod(dir.path().c_str(), 0755);
  RunOptions bopts;
  if (::geteuid() == 0)
    bopts.run_as_user = std::getenv("LUAMIG_TEST_PG_USER") ? std::getenv("LUAMIG_TEST_PG_USER") : "nobody";
  Spawned pgb(Strings{bouncer, dir.path("pgbouncer.ini").string()}, bopts);
  const std::string base = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/";
  RunOptions opts;
  opts.cwd = proj.path();
  opts.env = {{"DATABASE_URL", base + db.name()}};
  // Clients waiting for the single server session, from the pooler's admin console (psql: libpqxx refuses
  // it).
  auto clients_waiting = [&]() -> int {
    auto r = run({pg.bin_dir() + "/psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "postgres",
                  "-d", "pgbouncer", "-At", "-c", "SHOW POOLS"});
    if (r.status != 0) return -1;
    // database|user|cl_active|cl_waiting|...
    size_t pos = 0;
    while (pos < r.out.size()) {
      auto eol = r.out.find('\n', pos);
      std::string line = r.out.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
      pos = eol == std::string::npos ? r.out.size() : eol + 1;
      if (line.rfind(db.name() + "|", 0) != 0) continue;
      Strings fields;
      for (size_t b = 0, e; b <= line.size(); b = e + 1) {
        e = line.find('|', b);
        if (e == std::string::npos) e = line.size();
        fields.push_back(line.substr(b, e - b));
      }
      return fields.size() > 3 ? std::stoi(fields[3]) : -1;
    }
    return 0;  // no pool yet: nobody waiting
  };
  auto t0 = Clock::now();
  while (clients_waiting() < 0 && ms_since(t0) < 10000)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));

  auto gate = db.connect();
  pqxx::nontransaction gtx(gate);
  gtx.exec("BEGIN");
  gtx.exec("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE");
  Spawned a(Strings{luamig_bin(), "upgrade", "head"}, opts);
  bool a_at_gate =
      !wait_for_value(db,
                      "SELECT pid::text FROM pg_stat_activity WHERE query LIKE 'LOCK TABLE gate%' AND "
                      "wait_event_type = 'Lock'")
           .empty();
  INFO("first process: " << a.out_so_far() << a.err_so_far() << "\npgbouncer: " << pgb.err_so_far());
  REQUIRE(a_at_gate);
  // stamp always takes the lock: `upgrade head` could answer "nothing to do" from the version table without
  // it once the first process has finished.
  Spawned b(Strings{luamig_bin(), "stamp", "r12", "--lock-timeout", "10s"}, opts);
  t0 = Clock::now();
  while (clients_waiting() < 1 && ms_since(t0) < 20000)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(clients_waiting() >= 1);
  gtx.exec("COMMIT");

  auto rb = b.wait();
  INFO(rb.describe());
  CHECK(rb.status == 1);
  CHECK_THAT(rb.err, Contains("already holds it"));
  CHECK_THAT(rb.err, Contains("PgBouncer with pool_mode = transaction"));
  auto ra = a.wait();
  INFO(ra.describe());
  CHECK(ra.status == 0);
  CHECK(db.version_rows() == Strings{"r12"});
  CHECK(db.columns("t") == expected_columns({"r12"}));
}
