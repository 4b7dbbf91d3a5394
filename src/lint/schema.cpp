#include "lint/schema.hpp"

namespace luamig::lint {

void Schema::rename_table(const std::string& from, const std::string& to) {
  auto it = tables_.find(from);
  if (it == tables_.end()) return;
  auto t = std::move(it->second);
  tables_.erase(it);
  tables_[to] = std::move(t);
}

void Schema::set_column_type(const std::string& table, const std::string& column, const std::string& type) {
  tables_[table].types[column] = type;
}

void Schema::rename_column(const std::string& table, const std::string& from, const std::string& to) {
  auto it = tables_.find(table);
  if (it == tables_.end()) return;
  auto& types = it->second.types;
  if (auto c = types.find(from); c != types.end()) {
    types[to] = c->second;
    types.erase(from);
  }
}

void Schema::add_not_null_check(const std::string& table, const std::string& column, int revision) {
  tables_[table].not_null_checks[column] = revision;
}

bool Schema::created_in(const std::string& table, int revision) const {
  auto it = tables_.find(table);
  return it != tables_.end() && it->second.created == revision;
}

std::string Schema::column_type(const std::string& table, const std::string& column) const {
  auto it = tables_.find(table);
  if (it == tables_.end()) return "";
  auto c = it->second.types.find(column);
  return c == it->second.types.end() ? "" : c->second;
}

bool Schema::has_validated_not_null(const std::string& table, const std::string& column, int revision) const {
  auto it = tables_.find(table);
  if (it == tables_.end()) return false;
  auto c = it->second.not_null_checks.find(column);
  return c != it->second.not_null_checks.end() && c->second < revision;
}
}  // namespace luamig::lint
