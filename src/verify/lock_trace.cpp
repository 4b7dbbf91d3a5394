#include "verify/lock_trace.hpp"

#include <fmt/format.h>

#include <atomic>
#include <exception>
#include <map>
#include <set>
#include <thread>

#include "config/url.hpp"
#include "luahost/statement_origin.hpp"

namespace luamig::verify {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string text(const std::optional<std::string>& v) { return v ? *v : ""; }

// User relations of the database: oid -> (name, relfilenode).
struct RelationInfo {
  std::string name;
  std::string filenode;
  bool is_table = false;
  std::string quoted;  // schema-qualified and quoted, for LOCK TABLE
};
using Relations = std::map<std::string, RelationInfo>;

constexpr const char* kRelations =
    "SELECT c.oid::text, CASE WHEN n.nspname = 'public' THEN '' ELSE n.nspname || '.' END || c.relname, "
    "c.relfilenode::text, c.relkind IN ('r', 'p', 'm'), quote_ident(n.nspname) || '.' || "
    "quote_ident(c.relname) "
    "FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm', 'i', 'S') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

constexpr const char* kOwnLocks =
    "SELECT l.relation::text, l.mode FROM pg_catalog.pg_locks l WHERE l.pid = pg_catalog.pg_backend_pid() "
    "AND "
    "l.locktype = 'relation' AND l.granted AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE "
    "datname = "
    "pg_catalog.current_database())";

constexpr const char* kLocksOf =
    "SELECT l.relation::text, l.mode, l.granted FROM pg_catalog.pg_locks l WHERE l.pid = $1::int AND "
    "l.locktype = 'relation'";

constexpr const char* kScans = "SELECT relid::text, seq_scan::text FROM pg_catalog.pg_stat_xact_user_tables";

class TracingConnection : public db::Connection {
 public:
  TracingConnection(std::unique_ptr<db::Connection> inner, TraceRecorder& recorder, std::string url)
      : inner_(std::move(inner)), rec_(recorder), url_(std::move(url)) {}

  const dialect::Dialect& dialect() const override { return inner_->dialect(); }
  void begin() override {
    inner_->begin();
    ++rec_.transactions;
    tx_relations_.reset();
    held_.clear();
  }
  void commit() override {
    inner_->commit();
    end_transaction();
  }
  void rollback() noexcept override {
    inner_->rollback();
    end_transaction();
  }
  bool in_transaction() const override { return inner_->in_transaction(); }
  long long execute(const std::string& sql, const std::vector<Param>& params) override {
    auto origin = luahost::statement_origin();
    if (origin.file.empty()) return inner_->execute(sql, params);
    return traced(sql, params, origin);
  }
  db::ResultRows fetch(const std::string& sql, const std::vector<Param>& params) override {
    return inner_->fetch(sql, params);
  }
  std::unique_ptr<RowStream> stream(const std::string& sql, const std::vector<Param>& params) override {
    return inner_->stream(sql, params);
  }
  std::unique_ptr<RowStream> query_all(const std::string& sql, const std::vector<Param>& params) override {
    return inner_->query_all(sql, params);
  }
  long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                      const std::vector<std::vector<Param>>& rows) override {
    return inner_->copy_rows(table, columns, rows);
  }
  // Sent statements are traced like executed ones: run at once.
  void send(const std::string& sql, const std::vector<Param>& params) override {
    sent_ = execute(sql, params);
  }
  long long wait_sent() override { return sent_; }
  int backend_pid() const override { return inner_->backend_pid(); }
  bool is_open() const override { return inner_->is_open(); }
  void cancel() noexcept override { inner_->cancel(); }
  std::unique_ptr<db::MigrationLock> acquire_migration_lock(const db::LockRequest& request) override {
    return inner_->acquire_migration_lock(request);
  }

 private:
  Relations relations(db::Connection& c) {
    Relations out;
    for (const auto& r : c.fetch(kRelations, {}))
      out[text(r[0])] = {text(r[1]), text(r[2]), text(r[3]) == "t", text(r[4])};
    return out;
  }

  std::map<std::string, long long> scans() {
    std::map<std::string, long long> out;
    for (const auto& r : inner_->fetch(kScans, {})) out[text(r[0])] = std::stoll(text(r[1]));
    return out;
  }

  long long traced(const std::string& sql, const std::vector<Param>& params,
                   const luahost::SourcePosition& origin) {
    StatementTrace st;
    st.sql = sql;
    st.file = origin.file;
    st.line = origin.line;
    st.in_transaction = inner_->in_transaction();
    st.transaction = st.in_transaction ? rec_.transactions : 0;
    long long result = 0;
    if (st.in_transaction) {
      auto before = relations(*inner_);
      if (!tx_relations_) tx_relations_ = before;
      auto scans_before = scans();
      st.lock_timeout =
          text(inner_->fetch("SELECT pg_catalog.current_setting('lock_timeout')", {}).at(0).at(0));
      st.started = Clock::now();
      result = inner_->execute(sql, params);
      st.ms = ms_between(st.started, Clock::now());
      auto after = relations(*inner_);
      for (const auto& r : inner_->fetch(kOwnLocks, {})) {
        std::string oid = text(r[0]);
        auto rel = tx_relations_->find(oid);
        // Tables only: not those created in this transaction, catalogs, or indexes (locked with their table).
        if (rel == tx_relations_->end() || !rel->second.is_table) continue;
        auto [mode, strength] = lock_mode(text(r[1]));
        if (!held_.insert({oid, mode}).second) continue;
        add_lock(st, {rel->second.name, mode, strength, 0});
      }
      for (const auto& [oid, info] : before) {
        auto now = after.find(oid);
        if (!tx_relations_->count(oid) || now == after.end()) continue;
        if (now->second.filenode != info.filenode)
          st.rewrites.push_back(info.is_table ? info.name : "index " + info.name);
      }
      for (const auto& [oid, count] : scans()) {
        auto b = scans_before.find(oid);
        long long was = b == scans_before.end() ? 0 : b->second;
        auto rel = tx_relations_->find(oid);
        if (count > was && rel != tx_relations_->end()) st.scans.push_back(rel->second.name);
      }
    } else {
      result = sampled(st, sql, params);
    }
    rec_.statements.push_back(std::move(st));
    return result;
  }

  // Outside a transaction the statement's locks are gone when it returns: a second connection samples them
  // while it runs.
  long long sampled(StatementTrace& st, const std::string& sql, const std::vector<Param>& params) {
    if (!monitor_) monitor_ = db::connect(config::parse_url(url_));
    auto before = relations(*monitor_);
    st.lock_timeout =
        text(inner_->fetch("SELECT pg_catalog.current_setting('lock_timeout')", {}).at(0).at(0));
    st.sampled = true;
    const std::string pid = std::to_string(inner_->backend_pid());
    // A barrier, so that sampling cannot miss a quick statement: the second connection holds ACCESS EXCLUSIVE
    // on every table until it sees the statement wait for its first lock (pg_locks shows the mode it asks
    // for), then lets it go and samples the locks it takes after that. Only on the throwaway database: nobody
    // else waits.
    std::string tables;
    for (const auto& [oid, info] : before)
      if (info.is_table) tables += (tables.empty() ? "" : ", ") + info.quoted;
    if (!tables.empty()) {
      monitor_->begin();
      monitor_->execute("LOCK TABLE " + tables + " IN ACCESS EXCLUSIVE MODE", {});
    }
    std::atomic<bool> done{false};
    std::exception_ptr failure;
    long long result = 0;
    st.started = Clock::now();
    std::thread worker([&] {
      try {
        result = inner_->execute(sql, params);
      } catch (...) {
        failure = std::current_exception();
      }
      done = true;
    });
    std::set<std::pair<std::string, std::string>> seen;
    while (!done) {
      try {
        for (const auto& r : monitor_->fetch(kLocksOf, {Param{pid}})) {
          seen.insert({text(r[0]), text(r[1])});
          // Seen waiting behind the barrier: let it go on.
          if (text(r[2]) != "t" && monitor_->in_transaction()) monitor_->rollback();
        }
      } catch (...) {
        break;
      }
    }
    worker.join();
    if (monitor_->in_transaction()) monitor_->rollback();
    st.ms = ms_between(st.started, Clock::now());
    if (failure) std::rethrow_exception(failure);
    for (const auto& [oid, pg_mode] : seen) {
      auto rel = before.find(oid);
      if (rel == before.end() || !rel->second.is_table) continue;
      auto [mode, strength] = lock_mode(pg_mode);
      add_lock(st, {rel->second.name, mode, strength, st.ms});
    }
    auto after = relations(*monitor_);
    for (const auto& [oid, info] : before) {
      auto now = after.find(oid);
      if (now != after.end() && now->second.filenode != info.filenode)
        st.rewrites.push_back(info.is_table ? info.name : "index " + info.name);
    }
    return result;
  }

  // A statement's strongest lock on each table is the one reported (ALTER TABLE takes SHARE, then ACCESS
  // EXCLUSIVE).
  static void add_lock(StatementTrace& st, RelationLock lock) {
    for (auto& l : st.locks) {
      if (l.relation != lock.relation) continue;
      if (lock.strength > l.strength) l = lock;
      return;
    }
    st.locks.push_back(std::move(lock));
  }

  // Every lock a statement of the ending transaction took was held until now.
  void end_transaction() noexcept {
    auto now = Clock::now();
    for (auto& st : rec_.statements)
      if (st.in_transaction && st.transaction == rec_.transactions)
        for (auto& l : st.locks) l.held_ms = ms_between(st.started, now);
    held_.clear();
    tx_relations_.reset();
  }

  std::unique_ptr<db::Connection> inner_;
  TraceRecorder& rec_;
  std::string url_;
  std::unique_ptr<db::Connection> monitor_;
  std::optional<Relations> tx_relations_;  // user relations when the transaction's first traced statement ran
  std::set<std::pair<std::string, std::string>> held_;  // (oid, mode) held in this transaction
  long long sent_ = 0;
};
}  // namespace

std::pair<std::string, int> lock_mode(const std::string& m) {
  static const std::map<std::string, std::pair<std::string, int>> modes = {
      {"AccessShareLock", {"ACCESS SHARE", 1}},
      {"RowShareLock", {"ROW SHARE", 2}},
      {"RowExclusiveLock", {"ROW EXCLUSIVE", 3}},
      {"ShareUpdateExclusiveLock", {"SHARE UPDATE EXCLUSIVE", 4}},
      {"ShareLock", {"SHARE", 5}},
      {"ShareRowExclusiveLock", {"SHARE ROW EXCLUSIVE", 6}},
      {"ExclusiveLock", {"EXCLUSIVE", 7}},
      {"AccessExclusiveLock", {"ACCESS EXCLUSIVE", 8}},
  };
  auto it = modes.find(m);
  return it == modes.end() ? std::pair{m, 0} : it->second;
}

std::unique_ptr<db::Connection> tracing_connection(std::unique_ptr<db::Connection> inner,
                                                   TraceRecorder& recorder, std::string url) {
  return std::make_unique<TracingConnection>(std::move(inner), recorder, std::move(url));
}
}  // namespace luamig::verify
