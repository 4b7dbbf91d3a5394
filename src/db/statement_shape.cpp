#include "db/statement_shape.hpp"

#include <fmt/format.h>

#include <cctype>
#include <string>
#include <vector>

namespace luamig::db {
namespace {

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || (c & 0x80);
}
bool word_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80); }

// Index just past the quoted text that starts at s[i] (the quote character), doubled quotes included.
size_t skip_quoted(std::string_view s, size_t i, char q, bool backslash_escapes) {
  size_t j = i + 1;
  while (j < s.size()) {
    if (backslash_escapes && s[j] == '\\') {
      j += 2;
      continue;
    }
    if (s[j] == q) {
      if (j + 1 < s.size() && s[j + 1] == q) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    ++j;
  }
  return s.size();
}

size_t skip_block_comment(std::string_view s, size_t i) {
  int depth = 0;
  size_t j = i;
  while (j < s.size()) {
    if (s[j] == '/' && j + 1 < s.size() && s[j + 1] == '*') {
      ++depth;
      j += 2;
    } else if (s[j] == '*' && j + 1 < s.size() && s[j + 1] == '/') {
      j += 2;
      if (--depth == 0) return j;
    } else {
      ++j;
    }
  }
  return s.size();
}
}  // namespace

StatementShape statement_shape(std::string_view s) {
  StatementShape shape;
  std::vector<std::string> words;  // keywords and bare identifiers, lower-cased, in order
  bool seen_code = false;          // anything but '(' before the first word
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      size_t end = s.find('\n', i);
      i = end == std::string_view::npos ? s.size() : end;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      i = skip_block_comment(s, i);
    } else if (c == '\'') {
      bool escapes = i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') && (i < 2 || !word_char(s[i - 2]));
      i = skip_quoted(s, i, '\'', escapes);
      seen_code = true;
    } else if (c == '"') {
      i = skip_quoted(s, i, '"', false);
      seen_code = true;
    } else if (c == '$') {
      size_t j = i + 1;
      if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        std::string digits(s.substr(i + 1, j - i - 1));
        size_t n = digits.size() > 6 ? 999999 : std::stoul(digits);
        if (n > shape.max_placeholder) shape.max_placeholder = n;
        i = j;
      } else {
        while (j < s.size() &&
               (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || (s[j] & 0x80)))
          ++j;
        if (j < s.size() && s[j] == '$') {
          std::string_view tag = s.substr(i, j - i + 1);
          size_t close = s.find(tag, j + 1);
          i = close == std::string_view::npos ? s.size() : close + tag.size();
        } else {
          i = i + 1;
        }
      }
      seen_code = true;
    } else if (word_start(c)) {
      size_t j = i + 1;
      while (j < s.size() && word_char(s[j])) ++j;
      std::string w(s.substr(i, j - i));
      for (auto& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (words.empty() && seen_code) words.emplace_back("");  // the statement does not start with a word
      words.push_back(std::move(w));
      i = j;
    } else {
      if (c != '(') seen_code = true;
      ++i;
    }
  }
  if (words.empty()) return shape;
  const std::string& first = words.front();
  for (const char* w : {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"})
    if (first == w) shape.transaction_control = true;
  if (first != "select" && first != "values" && first != "table" && first != "with") return shape;
  for (size_t k = 0; k < words.size(); ++k) {
    const std::string& w = words[k];
    if (w == "insert" || w == "update" || w == "delete" || w == "merge" || w == "into") return shape;
    if (w == "for" && k + 1 < words.size() &&
        (words[k + 1] == "share" || words[k + 1] == "key" || words[k + 1] == "no"))
      return shape;
  }
  shape.cursor_allowed = true;
  return shape;
}

std::string parameter_count_message(size_t takes, size_t given) {
  return fmt::format("wrong number of bound parameters: the statement takes {} parameter{}, {} {} given",
                     takes, takes == 1 ? "" : "s", given, given == 1 ? "was" : "were");
}
}  // namespace luamig::db
