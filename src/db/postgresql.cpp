// PostgreSQL through libpqxx 6.4. Statements go through one pqxx::nontransaction; the engine sends BEGIN/COMMIT
// itself so that autocommit blocks, SET LOCAL and per-revision transactions stay under its control.
#include <fmt/format.h>

#include <pqxx/pqxx>

#include "config/url.hpp"
#include "db/connection.hpp"
#include "db/postgresql_lock.hpp"
#include "dialect/postgresql.hpp"
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

Cell::Kind kind_of(pqxx::oid type) {
  switch (type) {
    case 20: case 21: case 23: case 26: return Cell::Integer;   // int8 int2 int4 oid
    case 700: case 701: return Cell::Float;                     // float4 float8
    case 16: return Cell::Boolean;
    default: return Cell::Text;
  }
}

std::string lost_connection_message(const std::string& detail) {
  std::string text = "the connection to the server was lost (the server closed it: the session was terminated, "
                     "or the server shut down or became unreachable)";
  std::string d = trim_message(detail);
  // libpqxx 6 reports a connection dropped mid-statement as a failure to read the client encoding: no news.
  if (!d.empty() && d.find("client encoding") == std::string::npos) text += ": " + d;
  return text;
}

class PgStream : public RowStream {
 public:
  PgStream(pqxx::transaction_base& tx, std::string cursor, int batch) : tx_(tx), cursor_(std::move(cursor)), batch_(batch) {}
  ~PgStream() override {
    try {
      if (open_) tx_.exec("CLOSE " + cursor_);
    } catch (...) {
    }
  }
  const std::vector<std::string>& columns() const override { return columns_; }
  bool next(std::vector<Cell>& row) override {
    if (pos_ >= result_.size()) {
      if (done_) return false;
      fetch();
      if (result_.empty()) return false;
    }
    const auto r = result_[pos_++];
    row.resize(kinds_.size());
    for (size_t i = 0; i < kinds_.size(); ++i) {
      if (r[static_cast<pqxx::row::size_type>(i)].is_null()) {
        row[i].kind = Cell::Null;
        row[i].text.clear();
      } else {
        row[i].kind = kinds_[i];
        row[i].text.assign(r[static_cast<pqxx::row::size_type>(i)].c_str(), r[static_cast<pqxx::row::size_type>(i)].size());
      }
    }
    return true;
  }
  void fetch() {
    try {
      result_ = tx_.exec(fmt::format("FETCH FORWARD {} FROM {}", batch_, cursor_));
    } catch (const pqxx::sql_error& e) {
      throw SqlFailure(trim_message(e.what()), e.query(), e.sqlstate());
    }
    pos_ = 0;
    if (columns_.empty()) {
      for (pqxx::row::size_type i = 0; i < result_.columns(); ++i) {
        columns_.emplace_back(result_.column_name(i));
        kinds_.push_back(kind_of(result_.column_type(i)));
      }
    }
    if (static_cast<int>(result_.size()) < batch_) {
      done_ = true;
      tx_.exec("CLOSE " + cursor_);
      open_ = false;
    }
  }

 private:
  pqxx::transaction_base& tx_;
  std::string cursor_;
  int batch_;
  pqxx::result result_;
  size_t pos_ = 0;
  bool done_ = false, open_ = true;
  std::vector<std::string> columns_;
  std::vector<Cell::Kind> kinds_;
};

class PgConnection : public Connection {
 public:
  explicit PgConnection(const config::DatabaseUrl& url) : url_(url), conn_(url.raw), ntx_(conn_, "luamig") {}

  const dialect::Dialect& dialect() const override { return dialect_; }

  void begin() override {
    execute("BEGIN", {});
    in_tx_ = true;
  }
  void commit() override {
    execute("COMMIT", {});
    in_tx_ = false;
  }
  void rollback() noexcept override {
    in_tx_ = false;
    // Twice when the first attempt fails on a live connection: a cancel sent for the statement before may land on
    // the first ROLLBACK instead.
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
    pqxx::result r = run(sql, params);
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

  std::unique_ptr<RowStream> stream(const std::string& sql, const std::vector<Param>& params) override {
    std::string cursor = fmt::format("luamig_cursor_{}", ++cursor_seq_);
    bool own_tx = !in_tx_;
    // A cursor without HOLD lives in a transaction; outside one it is declared WITH HOLD.
    run(fmt::format("DECLARE {} NO SCROLL CURSOR {} FOR {}", cursor, own_tx ? "WITH HOLD" : "WITHOUT HOLD", sql),
        params);
    auto s = std::make_unique<PgStream>(ntx_, cursor, 2000);
    s->fetch();
    return s;
  }

  int backend_pid() const override { return conn_.backendpid(); }

  bool is_open() const override { return conn_.is_open(); }

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
  pqxx::result run(const std::string& sql, const std::vector<Param>& params) {
    try {
      if (params.empty()) return ntx_.exec(sql);
      return ntx_.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    } catch (const pqxx::sql_error& e) {
      throw SqlFailure(trim_message(e.what()), sql, e.sqlstate());
    } catch (const pqxx::broken_connection& e) {
      throw SqlFailure(lost_connection_message(e.what()), sql, "08006");
    } catch (const pqxx::in_doubt_error& e) {
      throw SqlFailure(lost_connection_message(e.what()), sql, "08006");
    }
  }

  config::DatabaseUrl url_;
  pqxx::connection conn_;
  pqxx::nontransaction ntx_;
  dialect::PostgreSQL dialect_;
  bool in_tx_ = false;
  int cursor_seq_ = 0;
};
}  // namespace

std::unique_ptr<Connection> connect_postgresql(const config::DatabaseUrl& url) {
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
