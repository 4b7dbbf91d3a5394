#pragma once
// A plain copy of a Lua value, for data that crosses from Lua into C++ (config files, headers).
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace luamig::luahost {
struct Value;
using Table = std::vector<std::pair<Value, Value>>;  // in the order Lua's next() gave them
struct Value {
  std::variant<std::monostate, bool, double, std::string, std::shared_ptr<Table>> v;
  bool is_nil() const { return v.index() == 0; }
  bool is_bool() const { return v.index() == 1; }
  bool is_number() const { return v.index() == 2; }
  bool is_string() const { return v.index() == 3; }
  bool is_table() const { return v.index() == 4; }
  const std::string& str() const { return std::get<std::string>(v); }
  double num() const { return std::get<double>(v); }
  bool boolean() const { return std::get<bool>(v); }
  const Table& table() const { return *std::get<std::shared_ptr<Table>>(v); }
  // Looks up a string key in a table value; nullptr when absent or not a table.
  const Value* get(const std::string& key) const;
  // The values at keys 1..n of a table, or {*this} for a string, or {} for nil.
  std::vector<std::string> string_list() const;
  const char* type_name() const;

  // Builders, for values handed to Lua (hook arguments).
  static Value text(std::string s) { return Value{std::move(s)}; }
  static Value number(double n) { return Value{n}; }
  static Value flag(bool b) { return Value{b}; }
  // A Lua sequence {items[1], items[2], ...}.
  static Value list(const std::vector<Value>& items);
  static Value list(const std::vector<std::string>& items);
  // A Lua table with string keys; nil fields are left out.
  static Value record(const std::vector<std::pair<std::string, Value>>& fields);
};
}  // namespace luamig::luahost
