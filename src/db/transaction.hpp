#pragma once
// An RAII transaction on a Connection: rolled back when it goes out of scope without commit(), on any exit
// path (an exception, an early return). Every transaction luamig opens for its own work goes through one.
#include <utility>

#include "db/connection.hpp"

namespace luamig::db {

class Transaction {
 public:
  struct Adopt {};
  static constexpr Adopt adopt{};

  // BEGIN now. Throws what Connection::begin throws.
  explicit Transaction(Connection& conn) : conn_(&conn) { conn.begin(); }
  // Guards a transaction the caller has just opened on `conn` (REQUIRES: conn.in_transaction()).
  Transaction(Connection& conn, Adopt) : conn_(&conn) {}
  Transaction(Transaction&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  Transaction& operator=(Transaction&& other) noexcept {
    if (this != &other) {
      rollback();
      conn_ = std::exchange(other.conn_, nullptr);
    }
    return *this;
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() { rollback(); }

  // COMMIT. On failure (SqlFailure) the guard still owns the transaction and rolls it back when destroyed.
  void commit() {
    if (!conn_) return;
    conn_->commit();
    conn_ = nullptr;
  }
  // ROLLBACK now (never throws); a no-op once committed or rolled back, or when the connection has no
  // transaction open any more (work that commits on its own closed it).
  void rollback() noexcept {
    if (auto* conn = std::exchange(conn_, nullptr); conn && conn->in_transaction()) conn->rollback();
  }
  // Lets go of the transaction without ending it: the caller takes it over (a whole-command transaction that
  // a later phase commits).
  void release() noexcept { conn_ = nullptr; }
  bool active() const { return conn_ != nullptr; }

 private:
  Connection* conn_;
};
}  // namespace luamig::db
