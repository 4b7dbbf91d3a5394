#include "importer/lua_text.hpp"

#include <cctype>
#include <cstdio>
#include <set>

namespace luamig::importer {

std::string lua_quote(std::string_view s) {
  bool multiline = s.find('\n') != std::string_view::npos;
  bool plain = true;
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) plain = false;
  if (multiline && plain && s.find('\r') == std::string_view::npos) {
    // The first closing bracket in text + closer must be the closer itself.
    std::string text(s), eq;
    for (;;) {
      std::string closer = "]" + eq + "]";
      std::string probe = text;
      probe += closer;
      if (probe.find(closer) == text.size()) break;
      eq += "=";
    }
    // A long bracket drops a newline right after the opening bracket, so one is added when the text starts
    // with one.
    std::string out = "[";
    out += eq;
    out += "[";
    if (text.front() == '\n') out += "\n";
    out += text;
    out += "]";
    out += eq;
    out += "]";
    return out;
  }
  std::string out = "\"";
  for (unsigned char c : s) {
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
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\%03d", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

std::string lua_key(std::string_view key) {
  static const std::set<std::string_view> reserved = {
      "and", "break", "do",  "else", "elseif", "end",    "false",  "for",  "function", "goto",  "if",
      "in",  "local", "nil", "not",  "or",     "repeat", "return", "then", "true",     "until", "while"};
  bool ident = !key.empty() && (std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_');
  for (unsigned char c : key) ident = ident && (std::isalnum(c) || c == '_');
  if (ident && !reserved.count(key)) return std::string(key);
  std::string out = "[";
  out += lua_quote(key);
  out += "]";
  return out;
}

}  // namespace luamig::importer
