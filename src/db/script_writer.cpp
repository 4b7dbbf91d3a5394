#include "db/script_writer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dialect/inline_params.hpp"
#include "util/error.hpp"

namespace luamig::db {
namespace {

// COPY's text format: backslash escapes for the characters that would end a field or a row.
std::string copy_field(const Param& p) {
  if (!p) return "\\N";
  std::string out;
  out.reserve(p->size());
  for (char c : *p) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

class ScriptWriter : public Connection {
 public:
  ScriptWriter(std::unique_ptr<dialect::Dialect> d, std::function<void(const std::string&)> sink)
      : dialect_(std::move(d)), sink_(std::move(sink)) {}

  const dialect::Dialect& dialect() const override { return *dialect_; }
  void begin() override {
    sink_(dialect_->begin() + ";");
    in_tx_ = true;
  }
  void commit() override {
    sink_("COMMIT;");
    in_tx_ = false;
  }
  // Only reached after a failure: the script stops there, no ROLLBACK is needed in it.
  void rollback() noexcept override { in_tx_ = false; }
  bool in_transaction() const override { return in_tx_; }
  bool offline() const override { return true; }
  bool is_open() const override { return true; }
  void cancel() noexcept override {}
  // Offline runs take no lock: they change nothing.
  std::unique_ptr<MigrationLock> acquire_migration_lock(const LockRequest&) override {
    throw RunError("--sql mode has no database connection to take the migration lock on");
  }

  long long execute(const std::string& sql, const std::vector<Param>& params) override {
    try {
      sink_(dialect::script_statement(*dialect_, sql, params));
    } catch (const std::invalid_argument& e) {
      throw RunError(
          fmt::format("cannot write this statement into the SQL script: {}\n  SQL: {}", e.what(), sql));
    }
    return -1;
  }
  ResultRows fetch(const std::string& sql, const std::vector<Param>&) override {
    throw RunError(fmt::format("--sql mode has no database connection, so it cannot read rows ({})", sql));
  }
  std::unique_ptr<RowStream> stream(const std::string&, const std::vector<Param>&) override {
    throw RunError(
        "op.query needs a live database to read rows, but --sql (offline) mode only prints SQL and has no "
        "connection; run this migration online (without --sql)");
  }
  long long copy_rows(const std::string& table, const std::vector<std::string>& columns,
                      const std::vector<std::vector<Param>>& rows) override {
    std::string text = fmt::format("COPY {} ({}) FROM stdin;\n", table, fmt::join(columns, ", "));
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) text.push_back('\t');
        text += copy_field(row[i]);
      }
      text.push_back('\n');
    }
    text += "\\.";
    sink_(text);
    return static_cast<long long>(rows.size());
  }

 private:
  std::unique_ptr<dialect::Dialect> dialect_;
  std::function<void(const std::string&)> sink_;
  bool in_tx_ = false;
};
}  // namespace

std::unique_ptr<Connection> script_writer(std::unique_ptr<dialect::Dialect> dialect,
                                          std::function<void(const std::string&)> sink) {
  return std::make_unique<ScriptWriter>(std::move(dialect), std::move(sink));
}
}  // namespace luamig::db
