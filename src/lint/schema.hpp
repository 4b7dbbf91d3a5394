#pragma once
// What the linter knows of the schema as it walks the revisions in order: which tables exist and in which
// revision each was created (a table created in the revision being linted is empty, so locking it costs
// nothing), the column types earlier revisions gave, and the validated `col IS NOT NULL` checks.
#include <map>
#include <set>
#include <string>

namespace luamig::lint {

class Schema {
 public:
  static constexpr int kBefore = -1;  // existed before the first linted revision (or in the database)

  void create_table(const std::string& table, int revision) { tables_[table] = Table{revision, {}, {}}; }
  void drop_table(const std::string& table) { tables_.erase(table); }
  void rename_table(const std::string& from, const std::string& to);
  void set_column_type(const std::string& table, const std::string& column, const std::string& type);
  void rename_column(const std::string& table, const std::string& from, const std::string& to);
  void add_not_null_check(const std::string& table, const std::string& column, int revision);

  // True when `table` was created by revision number `revision` itself (then it is new and empty). Tables
  // never seen are taken to exist already: created outside the linted revisions.
  bool created_in(const std::string& table, int revision) const;
  // The column's type as an earlier op gave it ("" when unknown).
  std::string column_type(const std::string& table, const std::string& column) const;
  // A CHECK (column IS NOT NULL) validated before revision number `revision`.
  bool has_validated_not_null(const std::string& table, const std::string& column, int revision) const;

 private:
  struct Table {
    int created = kBefore;
    std::map<std::string, std::string> types;
    std::map<std::string, int> not_null_checks;  // column -> revision that validated it
  };
  std::map<std::string, Table> tables_;
};
}  // namespace luamig::lint
