#include "util/json.hpp"

#include <cmath>
#include <cstdio>

namespace luamig::json {

std::string quote(std::string_view in) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(in.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool valid = len > 0 && i + len <= in.size();
    uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; valid && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xc0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (valid && ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                  (len == 4 && (cp < 0x10000 || cp > 0x10ffff))))
      valid = false;
    if (!valid) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (cp <= 0x9f) {  // C1 controls: valid JSON raw, but never useful raw in a terminal or a log
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
  out += '"';
  return out;
}

Object& Object::raw(std::string_view key, std::string_view json) {
  if (!body_.empty()) body_ += ',';
  body_ += quote(key);
  body_ += ':';
  body_ += json;
  return *this;
}

Object& Object::add(std::string_view key, std::string_view value) { return raw(key, quote(value)); }
Object& Object::add(std::string_view key, long long value) { return raw(key, std::to_string(value)); }
Object& Object::add(std::string_view key, double value) {
  if (!std::isfinite(value)) return raw(key, "null");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return raw(key, buf);
}
Object& Object::add(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
Object& Object::add(std::string_view key, const std::vector<std::string>& values) {
  Array a;
  for (const auto& v : values) a.push(v);
  return raw(key, a.str());
}
Object& Object::add(std::string_view key, const Object& value) { return raw(key, value.str()); }
Object& Object::add(std::string_view key, const Array& value) { return raw(key, value.str()); }
Object& Object::add(std::string_view key, const std::optional<std::string>& value) {
  return value ? add(key, std::string_view(*value)) : add_null(key);
}
Object& Object::add_null(std::string_view key) { return raw(key, "null"); }

Array& Array::push(const Object& value) {
  if (!body_.empty()) body_ += ',';
  body_ += value.str();
  return *this;
}
Array& Array::push(std::string_view value) {
  if (!body_.empty()) body_ += ',';
  body_ += quote(value);
  return *this;
}
}  // namespace luamig::json
