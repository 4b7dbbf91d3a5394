#pragma once
// A small JSON writer for --json output: objects and arrays built in order, strings escaped as RFC 8259
// requires (quote, backslash, control characters as \n, \t or \u00XX); valid UTF-8 passes through unchanged,
// and a byte that is not valid UTF-8 becomes U+FFFD so that the output is always valid JSON.
#include <cstdint>
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
}  // namespace luamig::json
