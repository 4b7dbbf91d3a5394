#pragma once
// A connection that shows every statement it runs (dry runs): forwards to the real connection and, while
// enabled, hands each statement, parameters inlined as literals, to a sink first.
#include <functional>
#include <memory>
#include <string>

#include "db/connection.hpp"

namespace luamig::db {

class EchoConnection : public Connection {
 public:
  EchoConnection(std::unique_ptr<Connection> inner, std::function<void(const std::string&)> sink)
      : inner_(std::move(inner)), sink_(std::move(sink)) {}
  void set_enabled(bool on) { enabled_ = on; }
  bool enabled() const { return enabled_; }

  const dialect::Dialect& dialect() const override { return inner_->dialect(); }
  void begin() override { inner_->begin(); }
  void commit() override { inner_->commit(); }
  void rollback() noexcept override { inner_->rollback(); }
  bool in_transaction() const override { return inner_->in_transaction(); }
  long long execute(const std::string& sql, const std::vector<Param>& params) override;
  ResultRows fetch(const std::string& sql, const std::vector<Param>& params) override;
  std::unique_ptr<RowStream> stream(const std::string& sql, const std::vector<Param>& params) override;
  long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                      const std::vector<std::vector<Param>>& rows) override;
  int backend_pid() const override { return inner_->backend_pid(); }
  std::string target() const override { return inner_->target(); }
  std::unique_ptr<RowStream> query_all(const std::string& sql, const std::vector<Param>& params) override {
    show(sql, params);
    return inner_->query_all(sql, params);
  }
  void send(const std::string& sql, const std::vector<Param>& params) override {
    show(sql, params);
    inner_->send(sql, params);
  }
  long long wait_sent() override { return inner_->wait_sent(); }
  void defer(const std::string& sql, const std::vector<Param>& params, bool want_rows, Check check) override {
    show(sql, params);
    inner_->defer(sql, params, want_rows, std::move(check));
  }
  void flush() override { inner_->flush(); }
  std::optional<unsigned long> rollbacks() const override { return inner_->rollbacks(); }
  void set_statement_savepoints(bool on) override { inner_->set_statement_savepoints(on); }
  bool is_open() const override { return inner_->is_open(); }
  void cancel() noexcept override { inner_->cancel(); }
  std::unique_ptr<MigrationLock> acquire_migration_lock(const LockRequest& request) override {
    return inner_->acquire_migration_lock(request);
  }

 private:
  void show(const std::string& sql, const std::vector<Param>& params);
  std::unique_ptr<Connection> inner_;
  std::function<void(const std::string&)> sink_;
  bool enabled_ = false;
};
}  // namespace luamig::db
