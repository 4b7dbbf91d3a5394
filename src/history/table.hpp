#pragma once
// The luamig_history table: one row per applied or failed step, beside the version table (same schema unless
// history_table_schema says otherwise). The same DDL serves PostgreSQL and SQLite (TEXT, BIGINT, INTEGER).
// Every write happens under the migration lock, so `seq` (the primary key) and the chain are computed from
// the last row without races; two writers that somehow raced would collide on the primary key instead of
// forking the chain.
#include <optional>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "history/record.hpp"

namespace luamig::history {

class HistoryTable {
 public:
  // `schema` "" = the connection's default schema.
  HistoryTable(db::Connection& conn, std::string table, std::string schema);
  bool exists();
  // Creates the table when missing, in the caller's transaction if one is open.
  void ensure();
  std::string create_sql() const;
  // Every row in seq order, with its stored chain. REQUIRES: the table exists.
  std::vector<Row> rows();
  // The same in one query outside a transaction; nullopt when the table does not exist.
  std::optional<std::vector<Row>> rows_if_exists();
  // The highest seq, 0 when the table is empty. REQUIRES: the table exists.
  long long last_seq();
  // Sets r.seq and r.chain from the last row, then inserts it (deferred inside a transaction: see
  // Connection::defer). Returns the row as written.
  Row append(Row r);
  const std::string& qualified_name() const { return qualified_; }

 private:
  // True while nothing this object remembered from the database can have been rolled back since `at`.
  bool still_valid(const std::optional<unsigned long>& at) const;
  db::Connection& conn_;
  std::string table_, schema_, qualified_;
  std::optional<unsigned long> ensured_at_;  // the table is known to exist (Connection::rollbacks() then)
  struct Tail {
    long long seq = 0;  // 0: the table is empty
    std::string chain;
    std::optional<unsigned long> at;  // when it was read (Connection::rollbacks()); nullopt: not known
  };
  Tail tail_;
};
}  // namespace luamig::history
