#pragma once
// JSON for luamig: a small writer for --json output and a compact reader.
// Writer: objects and arrays built in order, strings escaped as RFC 8259 requires (quote, backslash, control
// characters as \n, \t or \u00XX); valid UTF-8 passes through unchanged, and a byte that is not valid UTF-8
// becomes U+FFFD so that the output is always valid JSON.
// Reader: one document into a tree of Values (libpg_query's parse trees, the JSON fields of recorded op
// plans). It reads what the writer and those producers write; it is not a validator (a number is any run of
// digits, signs, '.', 'e'; an unknown escape stands for its character).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::json {
// `s` as a JSON string literal, quotes included.
std::string quote(std::string_view s);

class Array;

class Object {
 public:
  Object& add(std::string_view key, std::string_view value);
  Object& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  Object& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
  Object& add(std::string_view key, long long value);
  Object& add(std::string_view key, int value) { return add(key, static_cast<long long>(value)); }
  Object& add(std::string_view key, size_t value) { return add(key, static_cast<long long>(value)); }
  Object& add(std::string_view key, double value);
  Object& add(std::string_view key, bool value);
  Object& add(std::string_view key, const std::vector<std::string>& values);
  Object& add(std::string_view key, const Object& value);
  Object& add(std::string_view key, const Array& value);
  // A string, or null when absent.
  Object& add(std::string_view key, const std::optional<std::string>& value);
  Object& add_null(std::string_view key);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  Object& raw(std::string_view key, std::string_view json);
  std::string body_;
};

class Array {
 public:
  Array& push(const Object& value);
  Array& push(std::string_view value);
  std::string str() const { return "[" + body_ + "]"; }

 private:
  std::string body_;
};

// A parsed JSON value.
struct Value {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string text;                     // string value; for a number, the digits as written
  std::vector<Value> items;             // array
  std::map<std::string, Value> fields;  // object

  bool is_null() const { return type == Type::null; }
  bool is_string() const { return type == Type::string; }
  bool is_array() const { return type == Type::array; }
  bool is_object() const { return type == Type::object; }
  // The member `key` of an object, or a null value (also for non-objects). Never throws.
  const Value& operator[](const std::string& key) const;
  // The string value, or `fallback` for anything else.
  std::string str(const std::string& fallback = "") const { return type == Type::string ? text : fallback; }
  // false for null and false, true for anything else.
  bool truthy() const { return type == Type::boolean ? boolean : type != Type::null; }
};

// Parses one JSON document. Throws std::runtime_error naming the offset on malformed text ("malformed JSON at
// offset N: ...").
Value parse(std::string_view text);
}  // namespace luamig::json
