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

std::string message_slug(const std::string& message) {
  constexpr size_t kMax = 40;
  std::string s;
  bool in_word = false;
  for (unsigned char c : message) {
    bool word = std::isalnum(c) || c == '_' || c >= 0x80;
    if (word) {
      if (!in_word && !s.empty()) s.push_back('_');
      s.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    }
    in_word = word;
  }
  if (s.size() <= kMax) return s;
  s.resize(kMax);
  size_t start = s.size();
  while (start > 0 && (static_cast<unsigned char>(s[start - 1]) & 0xC0) == 0x80) --start;
  if (start > 0 && static_cast<unsigned char>(s[start - 1]) >= 0xC0) {
    unsigned char lead = static_cast<unsigned char>(s[start - 1]);
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (s.size() - (start - 1) < need) s.resize(start - 1);
  }
  if (auto us = s.rfind('_'); us != std::string::npos) s.resize(us);
  return s + "_";
}

}  // namespace luamig::importer
