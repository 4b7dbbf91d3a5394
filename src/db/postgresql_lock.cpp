// The migration lock on PostgreSQL: pg_try_advisory_lock(key) on a connection that does nothing else, so that
// per-revision COMMITs and autocommit blocks on the main connection never release it. Polling (rather than a
// blocking pg_advisory_lock) keeps the wait interruptible and lets the time-out message name the holder.
#include "db/postgresql_lock.hpp"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <random>

#include "db/libpq_loader.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/output.hpp"

namespace luamig::db {
namespace {

using Clock = std::chrono::steady_clock;

const char kPoolerAdvice[] =
    "This is what a pooler in transaction mode does (PgBouncer with pool_mode = transaction): it hands one "
    "server session to several clients, while a session advisory lock needs a session of its own. Point "
    "luamig at PostgreSQL directly, or at a pool in session mode.";

std::string two_decimals(double seconds) {
  return format_duration(std::chrono::nanoseconds(static_cast<long long>(seconds * 1e9)));
}

class PgMigrationLock : public MigrationLock {
 public:
  PgMigrationLock(const config::DatabaseUrl& url, Connection& main, const LockRequest& request)
      : main_(main) {
    try {
      load_libpq();
      // TCP keepalives, so that a peer or proxy that vanished is noticed, unless the URL sets them.
      conn_ = std::make_unique<pqxx::connection>(url.conninfo(pg_keepalives()));
    } catch (const std::exception& e) {
      throw RunError(fmt::format("cannot open the lock connection to PostgreSQL ({}): {}", url.describe(),
                                 config::mask_passwords(pg_trim_message(e.what()))));
    }
    // The session sits idle for as long as the longest revision: a server (or role, or database) setting that
    // ends idle sessions would silently release the lock. Off for this session, on any server version that
    // has them.
    exec(
        "SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings WHERE name IN "
        "('idle_session_timeout', 'idle_in_transaction_session_timeout')");
    // The session shows up as "luamig" in pg_stat_activity unless the URL names it.
    auto r = exec(
        "SELECT pg_backend_pid(), current_schema(), CASE WHEN current_setting('application_name') = '' "
        "THEN set_config('application_name', 'luamig', false) ELSE current_setting('application_name') END");
    int first_pid = r[0][0].as<int>();
    std::string schema =
        request.schema.empty() ? (r[0][1].is_null() ? "public" : r[0][1].c_str()) : request.schema;
    name_ = fmt::format("\"{}\".\"{}\"", schema, request.table);
    key_ = migration_lock_key(schema, request.table);
    auto ukey = static_cast<unsigned long long>(key_);
    match_ = fmt::format(
        "locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = "
        "current_database())"
        " AND classid = {}::oid AND objid = {}::oid AND objsubid = 1 AND granted",
        ukey >> 32, ukey & 0xffffffffULL);

    // A session that holds the lock before asking for it is shared with another client.
    r = exec(fmt::format(
        "SELECT pg_backend_pid(), EXISTS (SELECT 1 FROM pg_locks WHERE {} AND pid = pg_backend_pid())",
        match_));
    check_same_session(first_pid, r[0][0].as<int>());
    if (r[0][1].as<bool>())
      throw RunError(fmt::format(
          "the migration lock on {} cannot work: the session luamig just opened already holds it. {}", name_,
          kPoolerAdvice));

    const auto started = Clock::now();
    std::mt19937 rng(std::random_device{}());
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    double pause_ms = 25;
    bool told = false;
    for (;;) {
      r = exec(fmt::format("SELECT pg_backend_pid(), pg_try_advisory_lock({})", key_));
      if (r[0][0].as<int>() != first_pid && r[0][1].as<bool>()) {
        // Taken (perhaps re-entrantly) on some other client's session: give it back, as far as the pooler
        // lets us.
        try {
          exec(fmt::format("SELECT pg_advisory_unlock({})", key_));
        } catch (const std::exception&) {
        }
      }
      check_same_session(first_pid, r[0][0].as<int>());
      if (r[0][1].as<bool>()) {
        pid_ = first_pid;
        return;
      }
      auto waited = Clock::now() - started;
      if (request.timeout.count() > 0 && waited >= request.timeout) {
        std::string holder = describe_holder();
        release();
        throw RunError(
            fmt::format("timed out after {} waiting for the migration lock on {}: it is held by {}. Stop "
                        "that process, or wait longer with --lock-timeout (config: migration_lock_timeout)",
                        format_duration(waited), name_, holder));
      }
      if (!told && request.on_wait) {
        request.on_wait(describe_holder());
        told = true;
      }
      auto pause = std::chrono::milliseconds(static_cast<long long>(pause_ms * jitter(rng)));
      if (request.timeout.count() > 0)
        pause =
            std::min(pause, std::chrono::duration_cast<std::chrono::milliseconds>(request.timeout - waited) +
                                std::chrono::milliseconds(1));
      if (!interrupt::sleep_for(pause)) {
        release();
        interrupt::throw_if_requested("while waiting for the migration lock; nothing was changed");
      }
      pause_ms = std::min(pause_ms * 1.5, 500.0);
    }
  }

  ~PgMigrationLock() override { release(); }

  void verify() override {
    if (check_) {
      if (!finish_check()) throw lost(name_, pid_);
      return;
    }
    // Between the server's answers, the lock session's own socket: it sits idle, so anything to read there
    // (the FATAL a terminated or timed-out session is sent, the end of the stream) means it may be gone, and
    // the server is asked.
    if (std::exchange(probe_only_, false) && session_quiet()) return;
    ResultRows rows;
    try {
      rows = main_.fetch(held_query());
      asked_ = Clock::now();
    } catch (const std::exception&) {
      return;  // the main connection's own failure is reported by whoever uses it next
    }
    if (rows.empty()) throw lost(name_, pid_);
  }

  // The server is asked (pg_locks) at most every kAskEvery, on the lock's own session and without waiting: it
  // answers beside the main connection's round trips, and the next verify() reads the answer. In between, the
  // next verify() looks at the lock session's socket only.
  void start_verify() override {
    if (check_ || !conn_) return;
    if (Clock::now() - asked_ < kAskEvery) {
      probe_only_ = true;
      return;
    }
    try {
      check_tx_ = std::make_unique<pqxx::nontransaction>(*conn_, "luamig_lock_check");
      check_ = std::make_unique<pqxx::pipeline>(*check_tx_);
      check_->retain(0);
      check_id_ = check_->insert(fmt::format(
          "SELECT pg_backend_pid() = {0} AND EXISTS (SELECT 1 FROM pg_locks WHERE {1} AND pid = {0})", pid_,
          match_));
      asked_ = Clock::now();
    } catch (const std::exception&) {
      drop_check();  // verify() asks again on the main connection
    }
  }

  void release() noexcept override {
    if (!conn_) return;
    if (check_) (void)finish_check();
    try {
      if (pid_) {
        pqxx::nontransaction tx(*conn_, "luamig_unlock");
        auto r = tx.exec(fmt::format("SELECT pg_backend_pid(), pg_advisory_unlock({})", key_));
        if (!r[0][1].as<bool>())
          out::warn(fmt::format(
              "warning: the migration lock on {} was not held by the session that took it (pid {}; "
              "this statement ran on pid {}). {}",
              name_, pid_, r[0][0].c_str(), kPoolerAdvice));
      }
    } catch (...) {
    }
    // Closing the session releases the lock in any case.
    conn_.reset();
    pid_ = 0;
  }

 private:
  pqxx::result exec(const std::string& sql) {
    try {
      pqxx::nontransaction tx(*conn_, "luamig_lock");
      return tx.exec(sql);
    } catch (const std::exception& e) {
      throw RunError(fmt::format("migration lock: {} (statement: {})", pg_trim_message(e.what()), sql));
    }
  }

  void check_same_session(int expected, int actual) {
    if (expected != actual)
      throw RunError(
          fmt::format("the migration lock on {} cannot work: the lock connection's server session "
                      "changed between two statements (pid {} then {}). {}",
                      name_, expected, actual, kPoolerAdvice));
  }

  // "pid 42 (application_name 'luamig', client 10.0.0.3, holding it for 3.20 s)"
  std::string describe_holder() {
    pqxx::result r;
    try {
      r =
          exec(fmt::format("SELECT l.pid, a.application_name, host(a.client_addr),"
                           " extract(epoch FROM now() - a.backend_start)::float8,"
                           " extract(epoch FROM now() - a.query_start)::float8,"
                           " a.state = 'idle' AND a.query ILIKE '%advisory_lock%'"
                           " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                           " WHERE {} AND l.pid <> pg_backend_pid()",
                           match_));
    } catch (const std::exception&) {
      return "another session";
    }
    if (r.empty()) return "another session (which has just released it)";
    const auto row = r[0];
    std::string text =
        fmt::format("pid {} (application_name '{}'", row[0].c_str(), row[1].is_null() ? "" : row[1].c_str());
    if (!row[2].is_null()) text += fmt::format(", client {}", row[2].c_str());
    if (!row[5].is_null() && row[5].as<bool>() && !row[4].is_null())
      text += fmt::format(", holding it for {}", two_decimals(row[4].as<double>()));
    else if (!row[3].is_null())
      text += fmt::format(", connected for {}", two_decimals(row[3].as<double>()));
    return text + ")";
  }

  // True when the lock session has nothing to read: it is still connected as far as its socket knows.
  bool session_quiet() const {
    pollfd p{conn_->sock(), POLLIN, 0};
    return p.fd >= 0 && ::poll(&p, 1, 0) == 0;
  }

  // The answer of the check start_verify() sent: false when the lock is not held or its session is gone.
  bool finish_check() noexcept {
    bool held = false;
    try {
      auto r = check_->retrieve(check_id_);
      check_->complete();
      held = !r.empty() && r[0][0].as<bool>();
    } catch (const std::exception&) {
      held = false;
    }
    drop_check();
    return held;
  }
  void drop_check() noexcept {
    try {
      check_.reset();
      check_tx_.reset();
    } catch (...) {
    }
  }

  std::string held_query() const {
    return fmt::format("SELECT 1 FROM pg_locks WHERE {} AND pid = {}", match_, pid_);
  }
  static RunError lost(const std::string& name, int pid) {
    return RunError(
        fmt::format("the migration lock on {} was lost: its session (pid {}) no longer holds it (the "
                    "lock connection was closed or reset, e.g. terminated by an administrator, a server "
                    "timeout or a proxy). Stopping before anything more is committed: another luamig may "
                    "be migrating now. If luamig connects through a pooler: {}",
                    name, pid, kPoolerAdvice));
  }

  Connection& main_;
  std::unique_ptr<pqxx::connection> conn_;
  static constexpr std::chrono::seconds kAskEvery{1};
  Clock::time_point asked_ = Clock::now();          // when pg_locks was last asked (taking the lock counts)
  bool probe_only_ = false;                         // start_verify() left the next verify() to the socket
  std::unique_ptr<pqxx::nontransaction> check_tx_;  // start_verify()'s check in flight, if any
  std::unique_ptr<pqxx::pipeline> check_;
  pqxx::pipeline::query_id check_id_ = 0;
  long long key_ = 0;
  int pid_ = 0;
  std::string name_, match_;
};
}  // namespace

const std::vector<std::pair<std::string, std::string>>& pg_keepalives() {
  static const std::vector<std::pair<std::string, std::string>> k = {{"keepalives", "1"},
                                                                     {"keepalives_idle", "30"},
                                                                     {"keepalives_interval", "10"},
                                                                     {"keepalives_count", "3"}};
  return k;
}

long long migration_lock_key(const std::string& schema, const std::string& table) {
  std::string text = std::string("luamig") + '\0' + schema + '\0' + table;
  unsigned long long h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<long long>(h);
}

std::unique_ptr<MigrationLock> acquire_postgresql_lock(const config::DatabaseUrl& url, Connection& main,
                                                       const LockRequest& request) {
  return std::make_unique<PgMigrationLock>(url, main, request);
}
}  // namespace luamig::db
