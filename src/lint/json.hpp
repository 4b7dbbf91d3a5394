#pragma once
// A compact JSON reader for the lint code: libpg_query's parse trees and the JSON fields of the recorded op
// plan. Reads RFC 8259 text into a tree of Json values; never writes.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::lint {

struct Json {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string text;                    // string value; for a number, the digits as written
  std::vector<Json> items;             // array
  std::map<std::string, Json> fields;  // object

  bool is_null() const { return type == Type::null; }
  bool is_string() const { return type == Type::string; }
  bool is_array() const { return type == Type::array; }
  bool is_object() const { return type == Type::object; }
  // The member `key` of an object, or a null value (also for non-objects). Never throws.
  const Json& operator[](const std::string& key) const;
  // The string value, or `fallback` for anything else.
  std::string str(const std::string& fallback = "") const { return type == Type::string ? text : fallback; }
  bool truthy() const { return type == Type::boolean ? boolean : type != Type::null; }
};

// Parses one JSON document. Throws std::runtime_error naming the offset on malformed text.
Json parse_json(std::string_view text);

// Writes `s` as a JSON string literal (with quotes).
std::string json_quote(std::string_view s);
}  // namespace luamig::lint
