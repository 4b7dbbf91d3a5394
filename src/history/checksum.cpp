#include "history/checksum.hpp"

#include "util/sha256.hpp"

namespace luamig::history {
namespace {
bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// At text[i] == '[': the level of a long bracket "[==[" (number of '='), or -1 when there is none.
int long_bracket_level(std::string_view text, size_t i) {
  size_t j = i + 1;
  while (j < text.size() && text[j] == '=') ++j;
  if (j < text.size() && text[j] == '[') return static_cast<int>(j - i - 1);
  return -1;
}

// The index just past the "]==]" closing a long bracket of `level` that opened before `from`.
size_t long_bracket_end(std::string_view text, size_t from, int level) {
  // Built piecewise: g++ 12 warns (-Wrestrict, a false positive) on "]" + std::string temporaries.
  std::string close(static_cast<size_t>(level) + 2, '=');
  close.front() = ']';
  close.back() = ']';
  auto at = text.find(close, from);
  return at == std::string_view::npos ? text.size() : at + close.size();
}
}  // namespace

std::string normalise_line_endings(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string normalise_lua(std::string_view raw) {
  std::string norm = normalise_line_endings(raw);
  std::string_view text = norm;
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  if (!text.empty() && text[0] == '#') {
    i = text.find('\n');
    if (i == std::string_view::npos) i = text.size();
  }
  bool gap = false;           // whitespace or a comment since the last token character
  bool after_string = false;  // the last thing emitted was a string literal
  // A string literal cannot merge with its neighbours, so the whitespace around one is dropped.
  auto emit = [&](std::string_view s, bool string) {
    if (s.empty()) return;
    if (gap && !out.empty() && !string && !after_string) {
      char a = out.back(), b = s.front();
      bool digit_dot = (a >= '0' && a <= '9' && b == '.') || (a == '.' && b >= '0' && b <= '9');
      if (is_word(a) == is_word(b) || digit_dot) out += ' ';
    }
    gap = false;
    after_string = string;
    out.append(s);
  };
  while (i < text.size()) {
    char c = text[i];
    if (is_space(c)) {
      gap = true;
      ++i;
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      gap = true;
      size_t j = i + 2;
      int level = j < text.size() && text[j] == '[' ? long_bracket_level(text, j) : -1;
      if (level >= 0) {
        i = long_bracket_end(text, j + static_cast<size_t>(level) + 2, level);
      } else {
        auto nl = text.find('\n', j);
        i = nl == std::string_view::npos ? text.size() : nl;
      }
    } else if (c == '[' && long_bracket_level(text, i) >= 0) {
      int level = long_bracket_level(text, i);
      size_t end = long_bracket_end(text, i + static_cast<size_t>(level) + 2, level);
      emit(text.substr(i, end - i), true);
      i = end;
    } else if (c == '"' || c == '\'') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != c) {
        if (text[j] == '\\' && j + 1 < text.size()) ++j;
        if (text[j] == '\n' && text[j - 1] != '\\') break;  // unterminated: the compiler rejects it
        ++j;
      }
      if (j < text.size()) ++j;
      emit(text.substr(i, j - i), true);
      i = j;
    } else {
      emit(text.substr(i, 1), false);
      ++i;
    }
  }
  return out;
}

FileChecksums checksums_of(std::string_view text) {
  return {sha256_hex(normalise_line_endings(text)), sha256_hex(normalise_lua(text))};
}
}  // namespace luamig::history
