#include "runner/session_reset.hpp"

#include <fmt/format.h>

namespace luamig::runner {

std::string pinned_schema(db::Connection& conn, const std::string& configured) {
  std::string schema = configured;
  if (!schema.empty()) return schema;
  if (auto sql = conn.dialect().current_schema_query(); !sql.empty()) {
    auto rows = conn.fetch(sql);
    if (!rows.empty() && !rows[0].empty() && rows[0][0]) schema = *rows[0][0];
  }
  return schema;
}

void SessionReset::snapshot() {
  if (conn_.offline()) return;
  const auto& d = conn_.dialect();
  restore_ = d.reset_session();
  if (restore_.empty()) return;
  const bool echoing = echo_ && echo_->enabled();
  if (echo_) echo_->set_enabled(false);
  auto rows = conn_.fetch(d.session_settings_query());
  if (echo_) echo_->set_enabled(echoing);
  std::string sets;
  for (const auto& row : rows) {
    if (row.size() < 2 || !row[0] || !row[1]) continue;
    const std::string& name = *row[0];
    if (name == "lock_timeout" || name == "statement_timeout" || name.rfind("transaction_", 0) == 0) continue;
    sets += fmt::format("{}pg_catalog.set_config({}, {}, false)", sets.empty() ? "SELECT " : ", ",
                        d.quote_literal(name), d.quote_literal(*row[1]));
  }
  if (!sets.empty()) restore_.push_back(sets);
}

// Deferred (Connection::defer): the reset travels with the version row, the history row and the lock check.
void SessionReset::reset() {
  if (conn_.offline() || restore_.empty()) return;
  const bool echoing = echo_ && echo_->enabled();
  if (echo_) echo_->set_enabled(false);
  for (const auto& sql : restore_) conn_.defer(sql, {}, false, {});
  if (echo_) echo_->set_enabled(echoing);
}
}  // namespace luamig::runner
