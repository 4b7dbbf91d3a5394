#include "db/echo_connection.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

#include "dialect/inline_params.hpp"

namespace luamig::db {

namespace {
// A listing, not a script: a statement carrying a whole batch of data (a backfill's arrays) is cut short.
constexpr size_t kShownChars = 1000;

std::string shortened(std::string text) {
  if (text.size() <= kShownChars) return text;
  size_t total = text.size();
  text.resize(kShownChars);
  return text + fmt::format(" ... ({} characters in all)", total);
}
}  // namespace

void EchoConnection::show(const std::string& sql, const std::vector<Param>& params) {
  if (!enabled_) return;
  try {
    sink_(shortened(dialect::script_statement(dialect(), sql, params)));
  } catch (const std::invalid_argument&) {
    sink_(shortened(sql));  // the database will name the missing parameter
  }
}

long long EchoConnection::execute(const std::string& sql, const std::vector<Param>& params) {
  show(sql, params);
  return inner_->execute(sql, params);
}

ResultRows EchoConnection::fetch(const std::string& sql, const std::vector<Param>& params) {
  show(sql, params);
  return inner_->fetch(sql, params);
}

std::unique_ptr<RowStream> EchoConnection::stream(const std::string& sql, const std::vector<Param>& params) {
  show(sql, params);
  return inner_->stream(sql, params);
}

long long EchoConnection::copy_rows(const std::string& table, const std::vector<std::string>& columns,
                                    const std::vector<std::vector<Param>>& rows) {
  if (enabled_)
    sink_(fmt::format("COPY {} ({}) FROM STDIN;  -- {} row{}", table, fmt::join(columns, ", "), rows.size(),
                      rows.size() == 1 ? "" : "s"));
  return inner_->copy_rows(table, columns, rows);
}
}  // namespace luamig::db
