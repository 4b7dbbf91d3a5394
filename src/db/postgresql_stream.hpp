#pragma once
// Rows of PostgreSQL results as RowStreams: through a server-side cursor (PgStream, constant memory) or from
// a result received whole (PgHeldStream). Only db/ includes this (it includes libpqxx).
#include <fmt/format.h>

#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "util/sql_failure.hpp"

namespace luamig::db {

// A column's kind from its PostgreSQL type oid (integers, floats, booleans; anything else is text).
Cell::Kind kind_of(pqxx::oid type);

// Rows of a query through a server-side cursor, FETCH FORWARD `batch` rows at a time: the client holds at
// most one batch, whatever the result's size. A cursor declared inside a transaction dies with it; `epoch`
// (bumped by every COMMIT/ROLLBACK) tells the stream so it never sends CLOSE or FETCH into a later, unrelated
// transaction (where the error would abort that transaction).
class PgStream : public RowStream {
 public:
  // `exec` runs one statement the way the connection runs any (waiting for a statement in flight first, in a
  // savepoint while those are on) and throws SqlFailure.
  using Exec = std::function<pqxx::result(const std::string&)>;
  PgStream(std::string cursor, int batch, const unsigned long& epoch, bool with_hold, Exec exec)
      : cursor_(std::move(cursor)),
        batch_(batch),
        epoch_(epoch),
        created_epoch_(epoch),
        with_hold_(with_hold),
        exec_(std::move(exec)) {}
  ~PgStream() override {
    try {
      if (open_ && alive()) exec_("CLOSE " + cursor_);
    } catch (...) {
    }
  }
  // A WITHOUT HOLD cursor is gone once its transaction ended; a WITH HOLD one lives until CLOSE.
  bool alive() const { return with_hold_ || epoch_ == created_epoch_; }
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
        row[i].text.assign(r[static_cast<pqxx::row::size_type>(i)].c_str(),
                           r[static_cast<pqxx::row::size_type>(i)].size());
      }
    }
    return true;
  }
  void fetch() {
    if (!alive())
      throw SqlFailure(
          "this query's rows can no longer be read: its transaction has ended (read a result within the "
          "revision and transaction that ran the query)",
          "FETCH FORWARD FROM " + cursor_, "34000");
    result_ = exec_(fmt::format("FETCH FORWARD {} FROM {}", batch_, cursor_));
    pos_ = 0;
    if (columns_.empty()) {
      for (pqxx::row::size_type i = 0; i < result_.columns(); ++i) {
        columns_.emplace_back(result_.column_name(i));
        kinds_.push_back(kind_of(result_.column_type(i)));
      }
    }
    if (static_cast<int>(result_.size()) < batch_) {
      done_ = true;
      open_ = false;
      exec_("CLOSE " + cursor_);
    }
  }

 private:
  std::string cursor_;
  int batch_;
  const unsigned long& epoch_;
  unsigned long created_epoch_;
  bool with_hold_;
  Exec exec_;
  pqxx::result result_;
  size_t pos_ = 0;
  bool done_ = false, open_ = true;
  std::vector<std::string> columns_;
  std::vector<Cell::Kind> kinds_;
};

// Rows per FETCH: large enough that round trips do not dominate, small enough that a batch of wide rows stays
// a few MiB.
constexpr int kFetchRows = 2000;

// Rows of a result already received in full (query_all): nothing more to ask the server.
class PgHeldStream : public RowStream {
 public:
  explicit PgHeldStream(const pqxx::result& r)
      : result_(r) {  // a result is a shared handle: copying is cheap
    for (pqxx::row::size_type i = 0; i < result_.columns(); ++i) {
      columns_.emplace_back(result_.column_name(i));
      kinds_.push_back(kind_of(result_.column_type(i)));
    }
  }
  const std::vector<std::string>& columns() const override { return columns_; }
  bool next(std::vector<Cell>& row) override {
    if (pos_ >= result_.size()) return false;
    const auto r = result_[pos_++];
    row.resize(kinds_.size());
    for (size_t i = 0; i < kinds_.size(); ++i) {
      const auto f = r[static_cast<pqxx::row::size_type>(i)];
      if (f.is_null()) {
        row[i].kind = Cell::Null;
        row[i].text.clear();
      } else {
        row[i].kind = kinds_[i];
        row[i].text.assign(f.c_str(), f.size());
      }
    }
    return true;
  }

 private:
  pqxx::result result_;
  size_t pos_ = 0;
  std::vector<std::string> columns_;
  std::vector<Cell::Kind> kinds_;
};

}  // namespace luamig::db
