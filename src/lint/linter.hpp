#pragma once
// Internal to the linter: the Linter that walks each revision's plan, shared by the rule files.
// - rules.cpp: the walk (records expanded, raw SQL parsed, findings added with their severity) and the rules
//   about a revision as a whole (lock_timeout, DDL with backfill, autocommit mixed with DDL, missing
//   downgrade, incomplete plan, revision id length; multiple heads in lint()).
// - rules_tables.cpp: the rules per record on tables, indexes and constraints, and the dispatch by kind.
// - rules_columns.cpp: the rules on columns (add_column, alter_column: types, NOT NULL; renames).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lint/finding.hpp"
#include "lint/lint.hpp"
#include "lint/schema.hpp"
#include "luahost/plan.hpp"
#include "util/json.hpp"

namespace luamig::lint::detail {
using luahost::OpField;
using luahost::OpRecord;

// A record to check: an op call's record, or one parsed from a statement of op.execute.
struct Item {
  OpRecord rec;
  bool from_sql = false;
  bool in_autocommit = false;  // inside op.autocommit_block
  std::string file;
  int line = 0;       // the statement's line (the op call's for op records)
  int call_line = 0;  // the op call's line
  std::string statement;
};

// rules.cpp
bool truthy(const OpRecord& r, const char* field);
std::string lower(std::string s);
// A type as an op gives it (string, op.text, or a generic type) as SQL text.
std::string type_of(const OpField* f);
const OpField* field(const OpRecord& r, const char* name);
std::string type_from_json(const json::Value& t);
// A column spec without options is exported as a list { name, type }: make it an object.
json::Value column_object(const json::Value& c);
const std::set<std::string>& volatile_functions();
std::string lua_quote(const std::string& s);

class Linter {
 public:
  Linter(const Context& ctx, const Options& opts) : ctx_(ctx), opts_(opts) {}

  // rules.cpp
  void revision(const RevisionInput& rev, int index);
  void set_downgrade_line(int line) { downgrade_line_ = line; }
  std::vector<Finding>& findings() { return findings_; }
  const std::vector<std::string>* source_lines_ = nullptr;
  std::vector<int> call_lines_;

 private:
  // rules.cpp
  static bool is_ddl(const std::string& k);
  static bool takes_exclusive(const OpRecord& r);
  static std::string describe(const std::string& k);
  std::vector<Item> expand(const RevisionInput& rev);
  // op.execute([[<newline>...: Lua drops the newline after [[, so the string's first line is the next one.
  int long_bracket_shift(const OpRecord& r);
  std::string size_note(const std::string& table) const;
  double rows_of(const std::string& table) const;
  void add(const Item& it, const char* rule, std::string message, std::string alternative,
           const std::string& table, const std::string& column = "",
           std::optional<Severity> severity = std::nullopt);

  // rules_tables.cpp
  void check(const Item& it, bool existing, bool utc);
  static std::string not_null_column(const std::string& cond);
  static std::string columns_lua(const std::string& text);
  static std::string columns_sql(const std::string& text);

  // rules_columns.cpp
  void add_column(const Item& it, const std::string& t, bool existing);
  void alter_column(const Item& it, const std::string& t, bool existing, bool utc);
  void rename_column(const Item& it, const std::string& t, const std::string& from, const std::string& to);

  const Context& ctx_;
  const Options& opts_;
  Schema schema_;
  const RevisionInput* rev_ = nullptr;
  int index_ = 0;
  int downgrade_line_ = 0;
  std::map<std::string, std::pair<std::string, std::string>> pending_checks_;
  std::vector<Finding> findings_;
};
}  // namespace luamig::lint::detail
