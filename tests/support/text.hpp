// Small text helpers shared by the tests: reading luamig's output and files, and writing Lua and SQL source.
//
//   first_line(r.err)                      // up to the first newline
//   count_of(r.out, "applied")             // occurrences of a needle (count_of(s, "\n"): lines)
//   line_of(proj.read(rel), "--!")         // 1-based line of the first line holding a needle; 0 when absent
//   lua_long_string("a'b")                 // [[a'b]]
//   lua_string("a\"b\n")                   // "a\034b\010" (every byte that needs it as a decimal escape)
//   sql_string("it's"), sql_ident("a\"b")  // 'it''s', "a""b"
#pragma once

#include <cstdio>
#include <sstream>
#include <string>

namespace luamig::test {

inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Non-overlapping-start occurrences of `needle` in `text` (each position counted once).
inline size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// Line number (1-based) of the first line of `text` containing `needle`; 0 when absent.
inline int line_of(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find(needle) != std::string::npos) return n;
  return 0;
}

// A Lua long-bracket string literal of `s` (s must not contain "]]").
inline std::string lua_long_string(const std::string& s) { return "[[" + s + "]]"; }

// A Lua string literal holding `s` exactly (decimal escapes for every byte that needs one).
inline std::string lua_string(const std::string& s) {
  std::string out = "\"";
  char buf[8];
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c < 32 || c >= 127) {
      std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
      out.append(buf);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

// An SQL string literal: 'text' with quotes doubled.
inline std::string sql_string(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// An SQL quoted identifier: "name" with quotes doubled.
inline std::string sql_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace luamig::test
