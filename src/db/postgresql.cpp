// PostgreSQL through libpqxx 6.4. Statements go through one pqxx::nontransaction; the engine sends
// BEGIN/COMMIT itself so that autocommit blocks, SET LOCAL and per-revision transactions stay under its
// control.
#include "dialect/postgresql.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <utility>

#include "config/url.hpp"
#include "db/connection.hpp"
#include "db/libpq_loader.hpp"
#include "db/postgresql_lock.hpp"
#include "db/postgresql_stream.hpp"
#include "db/statement_shape.hpp"
#include "dialect/inline_params.hpp"
#include "util/error.hpp"
#include "util/sql_failure.hpp"

namespace luamig::db {

std::string pg_trim_message(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.rfind("ERROR:  ", 0) == 0) s = s.substr(8);
  // PostgreSQL appends "LINE 1: ..." and a caret; the statement is reported on its own.
  if (auto nl = s.find('\n'); nl != std::string::npos) s = s.substr(0, nl);
  return s;
}

namespace {
std::string trim_message(std::string s) { return pg_trim_message(std::move(s)); }

// A URL component as text: the few characters that would change how it reads are percent-encoded.
std::string url_part(const char* text) {
  std::string r;
  for (const char* p = text ? text : ""; *p; ++p) {
    if (std::strchr("@:/?#%[] ,&=", *p))
      r += fmt::format("%{:02X}", static_cast<unsigned char>(*p));
    else
      r.push_back(*p);
  }
  return r;
}

// "postgresql://app@db:5432/app" from what libpq resolved (its environment, service file and defaults
// applied).
std::string resolved_target(pqxx::connection& conn) {
  std::string host = conn.hostname() ? conn.hostname() : "";
  std::string port = conn.port() ? conn.port() : "";
  std::string text = "postgresql://" + url_part(conn.username()) + "@";
  bool socket = !host.empty() && host[0] == '/';
  if (!socket) text += host.find(':') != std::string::npos ? "[" + host + "]" : url_part(host.c_str());
  if (!port.empty()) text += ":" + port;
  text += "/" + url_part(conn.dbname());
  if (socket) text += "?host=" + host;
  return text;
}

std::string lost_connection_message(const std::string& detail) {
  std::string text =
      "the connection to the server was lost (the server closed it: the session was terminated, "
      "or the server shut down or became unreachable)";
  std::string d = trim_message(detail);
  // libpqxx 6 reports a connection dropped mid-statement as a failure to read the client encoding: no news.
  if (!d.empty() && d.find("client encoding") == std::string::npos) text += ": " + d;
  return text;
}

// stream_to writes tuple-like rows only (it walks them with std::get): rows of N columns go out as
// std::array<Param, N>, instantiated for N = 1..kMaxCopyColumns.
constexpr size_t kMaxCopyColumns = 32;

template <size_t N>
void write_rows(pqxx::stream_to& copy, const std::vector<std::vector<Param>>& rows) {
  std::array<Param, N> fields;
  for (const auto& row : rows) {
    for (size_t i = 0; i < N; ++i) fields[i] = row[i];
    copy << fields;
  }
}

template <size_t... I>
void write_rows_n(size_t n, pqxx::stream_to& copy, const std::vector<std::vector<Param>>& rows,
                  std::index_sequence<I...>) {
  ((n == I + 1 ? write_rows<I + 1>(copy, rows) : void()), ...);
}

class PgConnection : public Connection {
 public:
  explicit PgConnection(const config::DatabaseUrl& url)
      : url_(url),
        conn_(url.conninfo(pg_keepalives())),
        ntx_(conn_, "luamig"),
        target_(resolved_target(conn_)) {}

  std::string target() const override { return target_; }

  const dialect::Dialect& dialect() const override { return dialect_; }

  // BEGIN travels with the transaction's first statement (one round trip for both, see run_direct): a
  // revision costs the round trips of its statements, its version update and COMMIT. A transaction in which
  // nothing ran is never sent at all.
  void begin() override {
    settle();
    begin_pending_ = true;
    in_tx_ = true;
  }
  void commit() override {
    settle();
    ++epoch_;
    if (begin_pending_) {
      begin_pending_ = false;
      in_tx_ = false;
      return;
    }
    try {
      run_direct("COMMIT", {});
    } catch (...) {
      ++rollbacks_;  // a COMMIT that failed ended the transaction without its work
      in_tx_ = false;
      throw;
    }
    in_tx_ = false;
  }

  std::optional<unsigned long> rollbacks() const override { return rollbacks_; }

  // Held until the next statement or COMMIT, then sent with the others through one pqxx::pipeline (one simple
  // query, one round trip; the parameters inlined as quoted literals, as send() does).
  void defer(const std::string& sql, const std::vector<Param>& params, bool want_rows, Check check) override {
    if (!in_tx_) {
      Connection::defer(sql, params, want_rows, std::move(check));
      return;
    }
    if (pipeline_) wait_sent();
    std::string text = inlined(sql, params);
    deferred_.push_back(Deferred{std::move(text), sql, want_rows, std::move(check)});
  }

  void flush() override { settle(); }
  void rollback() noexcept override {
    ++epoch_;
    ++rollbacks_;
    in_tx_ = false;
    pipeline_.reset();  // a statement still in flight is abandoned with the transaction
    deferred_.clear();  // and what waited to be sent
    if (begin_pending_) {
      begin_pending_ = false;
      return;
    }
    // Twice when the first attempt fails on a live connection: a cancel sent for the statement before may
    // land on the first ROLLBACK instead.
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        ntx_.exec("ROLLBACK");
        return;
      } catch (...) {
        if (!conn_.is_open()) return;
      }
    }
  }
  bool in_transaction() const override { return in_tx_; }

  long long execute(const std::string& sql, const std::vector<Param>& params) override {
    return run(sql, params).affected_rows();
  }

  ResultRows fetch(const std::string& sql, const std::vector<Param>& params) override {
    return rows_of(run(sql, params));
  }

  static ResultRows rows_of(const pqxx::result& r) {
    ResultRows rows;
    rows.reserve(r.size());
    for (const auto& row : r) {
      std::vector<std::optional<std::string>> out;
      for (const auto& f : row) {
        if (f.is_null())
          out.emplace_back(std::nullopt);
        else
          out.emplace_back(std::string(f.c_str(), f.size()));
      }
      rows.push_back(std::move(out));
    }
    return rows;
  }

  std::unique_ptr<RowStream> query_all(const std::string& sql, const std::vector<Param>& params) override {
    return std::make_unique<PgHeldStream>(run(sql, params));
  }

  // In flight through a pqxx::pipeline (libpqxx 6.4 has no asynchronous parameterised call): the parameters
  // are inlined as quoted literals, which the server parses as it would bound text parameters.
  void send(const std::string& sql, const std::vector<Param>& params) override {
    settle();
    if (savepoints_ && in_tx_) {
      // A savepoint around a statement in flight would cost the overlap it is for: run it now.
      sent_count_ = execute(sql, params);
      return;
    }
    std::string text = inlined(sql, params);
    try {
      flush_begin();
      pipeline_ = std::make_unique<pqxx::pipeline>(ntx_);
      pipeline_->retain(0);
      pending_id_ = pipeline_->insert(text);
      pending_sql_ = sql;
    } catch (const pqxx::sql_error& e) {
      pipeline_.reset();
      throw SqlFailure(trim_message(e.what()), sql, e.sqlstate());
    }
  }

  long long wait_sent() override {
    if (!pipeline_) return sent_count_;
    auto pipeline = std::move(pipeline_);
    try {
      pqxx::result r = pipeline->retrieve(pending_id_);
      pipeline->complete();
      sent_count_ = r.affected_rows();
      return sent_count_;
    } catch (const pqxx::sql_error& e) {
      throw SqlFailure(trim_message(e.what()), pending_sql_, e.sqlstate());
    } catch (const pqxx::broken_connection& e) {
      throw SqlFailure(lost_connection_message(e.what()), pending_sql_, "08006");
    }
  }

  std::unique_ptr<RowStream> stream(const std::string& sql, const std::vector<Param>& params) override {
    // A cursor only where DECLARE takes the statement (a read-only query); anything else (SHOW, EXPLAIN,
    // INSERT/UPDATE/DELETE ... RETURNING, WITH ... INSERT) runs as a plain statement and its result is held.
    if (!statement_shape(sql).cursor_allowed) return std::make_unique<PgHeldStream>(run(sql, params));
    std::string cursor = fmt::format("luamig_cursor_{}", ++cursor_seq_);
    bool own_tx = !in_tx_;
    // A cursor without HOLD lives in a transaction; outside one it is declared WITH HOLD.
    try {
      run(fmt::format("DECLARE {} NO SCROLL CURSOR {} FOR {}", cursor, own_tx ? "WITH HOLD" : "WITHOUT HOLD",
                      sql),
          params);
    } catch (const SqlFailure& e) {
      throw SqlFailure(e.message(), sql, e.sqlstate());  // the statement as the migration wrote it
    }
    auto s = std::make_unique<PgStream>(cursor, kFetchRows, epoch_, own_tx,
                                        [this](const std::string& statement) { return run(statement, {}); });
    s->fetch();
    return s;
  }

  int backend_pid() const override { return conn_.backendpid(); }

  long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                      const std::vector<std::vector<Param>>& rows) override {
    settle();
    std::string statement = fmt::format("COPY {} ({}) FROM STDIN", table, fmt::join(columns, ", "));
    if (columns.empty() || columns.size() > kMaxCopyColumns)
      throw RunError(fmt::format("COPY takes 1 to {} columns here, not {}", kMaxCopyColumns, columns.size()));
    for (const auto& row : rows)
      if (row.size() != columns.size())
        throw std::logic_error(
            fmt::format("COPY row has {} values for {} columns", row.size(), columns.size()));
    flush_begin();
    in_savepoint([&] {
      try {
        // stream_to pastes the table and column names as given: the caller quoted them.
        pqxx::stream_to copy(ntx_, table, columns);
        write_rows_n(columns.size(), copy, rows, std::make_index_sequence<kMaxCopyColumns>{});
        copy.complete();
      } catch (const pqxx::sql_error& e) {
        throw SqlFailure(trim_message(e.what()), statement, e.sqlstate());
      } catch (const pqxx::broken_connection& e) {
        throw SqlFailure(lost_connection_message(e.what()), statement, "08006");
      }
      return 0;
    });
    return static_cast<long long>(rows.size());
  }

  bool is_open() const override { return conn_.is_open(); }

  void set_statement_savepoints(bool on) override { savepoints_ = on; }

  void cancel() noexcept override {
    try {
      if (conn_.is_open()) conn_.cancel_query();
    } catch (...) {
    }
  }

  std::unique_ptr<MigrationLock> acquire_migration_lock(const LockRequest& request) override {
    return acquire_postgresql_lock(url_, *this, request);
  }

 private:
  // The statement with its parameters inlined as quoted literals, for the simple-query protocol a
  // pqxx::pipeline uses (send, defer). A wrong number of parameters is SQLSTATE 07001, as when bound.
  std::string inlined(const std::string& sql, const std::vector<Param>& params) const {
    if (size_t takes = statement_shape(sql).max_placeholder; takes != params.size())
      throw SqlFailure(parameter_count_message(takes, params.size()), sql, "07001");
    try {
      return params.empty() ? sql : dialect::inline_params(dialect_, sql, params).text;
    } catch (const std::invalid_argument&) {
      throw SqlFailure(parameter_count_message(statement_shape(sql).max_placeholder, params.size()), sql,
                       "07001");
    }
  }

  // Any statement first waits for the one in flight (a failure of that one surfaces here), then sends what
  // defer() held.
  void settle() {
    if (pipeline_) wait_sent();
    if (!deferred_.empty()) send_deferred();
  }

  // One round trip for every held statement (and a pending BEGIN). Results are read in order: the first
  // failing statement ends it (the server ran none after it) and is reported with its own SQL; the checks run
  // once every result is in.
  void send_deferred() {
    auto items = std::move(deferred_);
    deferred_.clear();
    std::vector<pqxx::result> results;
    results.reserve(items.size());
    size_t at = 0;
    try {
      pqxx::pipeline pipeline(ntx_);
      pipeline.retain(static_cast<int>(items.size()) + 1);
      std::optional<pqxx::pipeline::query_id> begin;
      if (begin_pending_) {
        begin_pending_ = false;
        begin = pipeline.insert("BEGIN");
      }
      std::vector<pqxx::pipeline::query_id> ids;
      ids.reserve(items.size());
      for (const auto& item : items) ids.push_back(pipeline.insert(item.text));
      pipeline.resume();
      if (begin) pipeline.retrieve(*begin);
      for (; at < items.size(); ++at) results.push_back(pipeline.retrieve(ids[at]));
      pipeline.complete();
    } catch (const pqxx::sql_error& e) {
      throw SqlFailure(trim_message(e.what()), items[std::min(at, items.size() - 1)].sql, e.sqlstate());
    } catch (const pqxx::broken_connection& e) {
      throw SqlFailure(lost_connection_message(e.what()), items[std::min(at, items.size() - 1)].sql, "08006");
    }
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].check) continue;
      Checked checked;
      checked.affected = results[i].affected_rows();
      if (items[i].want_rows) checked.rows = rows_of(results[i]);
      items[i].check(checked);
    }
  }

  pqxx::result run(const std::string& sql, const std::vector<Param>& params) {
    settle();
    if (!savepoints_ || !in_tx_ || statement_shape(sql).transaction_control) return run_direct(sql, params);
    return in_savepoint([&] { return run_direct(sql, params); });
  }

  // Runs `body` (one statement) in a savepoint of its own while those are on and a transaction is open: on a
  // failure only that statement is undone and the transaction stays usable. (A statement that moves the
  // transaction itself, SAVEPOINT or RELEASE, is never wrapped: see run().)
  template <class Body>
  auto in_savepoint(Body&& body) -> decltype(body()) {
    if (!savepoints_ || !in_tx_) return body();
    run_direct("SAVEPOINT luamig_statement", {});
    try {
      auto result = body();
      run_direct("RELEASE SAVEPOINT luamig_statement", {});
      return result;
    } catch (...) {
      try {
        if (conn_.is_open())
          run_direct("ROLLBACK TO SAVEPOINT luamig_statement; RELEASE SAVEPOINT luamig_statement", {});
      } catch (...) {
        // The connection is gone or the statement's own failure says more: report that one.
      }
      throw;
    }
  }

  // Sends a BEGIN that begin() left pending, on its own.
  void flush_begin() {
    if (!begin_pending_) return;
    begin_pending_ = false;
    run_direct("BEGIN", {});
  }

  pqxx::result run_direct(const std::string& sql, const std::vector<Param>& params) {
    try {
      if (begin_pending_) {
        begin_pending_ = false;
        // A statement without parameters goes in one simple query behind the BEGIN (its result is the last,
        // so row counts and rows are the statement's); with parameters (extended protocol, one statement per
        // message) the BEGIN goes first on its own. A failure is the statement's: BEGIN itself cannot fail on
        // a live connection outside a transaction.
        if (params.empty()) return ntx_.exec("BEGIN;\n" + sql);
        ntx_.exec("BEGIN");
      }
      if (params.empty()) return ntx_.exec(sql);
      return ntx_.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    } catch (const pqxx::sql_error& e) {
      if (auto miscount = parameter_miscount(e.what(), e.sqlstate(), sql, params))
        throw SqlFailure(*miscount, sql, "07001");
      throw SqlFailure(trim_message(e.what()), sql, e.sqlstate());
    } catch (const pqxx::broken_connection& e) {
      // libpqxx 6 reports the server's 08P01 for a miscounted bind as a broken connection; the connection is
      // fine.
      if (auto miscount = parameter_miscount(e.what(), "08P01", sql, params); miscount)
        throw SqlFailure(*miscount, sql, "07001");
      throw SqlFailure(lost_connection_message(e.what()), sql, "08006");
    } catch (const pqxx::in_doubt_error& e) {
      throw SqlFailure(lost_connection_message(e.what()), sql, "08006");
    }
  }

  // The server's answer to a statement given the wrong number of bound values ("bind message supplies 1
  // parameters, but prepared statement "" requires 2", SQLSTATE 08P01, or "there is no parameter $1" without
  // any) as one plain message: 08P01 would otherwise read as a protocol failure of the connection.
  static std::optional<std::string> parameter_miscount(const std::string& text, const std::string& sqlstate,
                                                       const std::string& sql,
                                                       const std::vector<Param>& params) {
    if (sqlstate == "08P01") {
      unsigned long given = 0, takes = 0;
      auto at = text.find("bind message supplies ");
      auto req = text.find(" requires ", at == std::string::npos ? 0 : at);
      if (at != std::string::npos && req != std::string::npos &&
          std::sscanf(text.c_str() + at, "bind message supplies %lu", &given) == 1 &&
          std::sscanf(text.c_str() + req, " requires %lu", &takes) == 1)
        return parameter_count_message(takes, given);
    }
    if (sqlstate == "42P02" && params.empty() && text.find("there is no parameter $") != std::string::npos)
      return parameter_count_message(statement_shape(sql).max_placeholder, 0);
    return std::nullopt;
  }

  config::DatabaseUrl url_;
  pqxx::connection conn_;
  pqxx::nontransaction ntx_;
  std::string target_;
  dialect::PostgreSQL dialect_;
  bool in_tx_ = false;
  bool begin_pending_ = false;  // begin() was called; BEGIN goes out with the next statement
  bool savepoints_ = false;
  int cursor_seq_ = 0;
  unsigned long epoch_ = 0;
  std::unique_ptr<pqxx::pipeline> pipeline_;  // the statement in flight (send), if any
  pqxx::pipeline::query_id pending_id_ = 0;
  std::string pending_sql_;
  struct Deferred {
    std::string text, sql;  // as sent (parameters inlined), as written
    bool want_rows;
    Check check;
  };
  std::vector<Deferred> deferred_;  // defer(): sent with the next statement or COMMIT
  unsigned long rollbacks_ = 0;
  long long sent_count_ = 0;  // bumped at every COMMIT/ROLLBACK: cursors of an ended transaction are gone
};
}  // namespace

std::unique_ptr<Connection> connect_postgresql(const config::DatabaseUrl& url) {
  load_libpq();
  try {
    return std::make_unique<PgConnection>(url);
  } catch (const pqxx::broken_connection& e) {
    throw RunError(fmt::format("cannot connect to PostgreSQL ({}): {}", url.describe(),
                               config::mask_passwords(trim_message(e.what()))));
  } catch (const std::exception& e) {
    throw RunError(fmt::format("cannot connect to PostgreSQL ({}): {}", url.describe(),
                               config::mask_passwords(trim_message(e.what()))));
  }
}

}  // namespace luamig::db
