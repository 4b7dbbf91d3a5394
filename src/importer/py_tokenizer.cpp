#include "importer/py_tokenizer.hpp"

#include <cctype>

namespace luamig::importer {
namespace {

bool name_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool name_char(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the backslash escapes of a non-raw string body.
std::string unescape(std::string_view s, int line) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\' || i + 1 == s.size()) {
      out.push_back(c);
      continue;
    }
    char e = s[++i];
    auto hex = [&](size_t n) {
      if (i + n >= s.size()) throw SyntaxError(line, "truncated escape in a string");
      for (size_t k = 1; k <= n;
           ++k)  // exactly n hex digits, as Python requires (stoul would take "+1" or "1z")
        if (!std::isxdigit(static_cast<unsigned char>(s[i + k])))
          throw SyntaxError(line, "invalid \\x, \\u or \\U escape in a string");
      unsigned long v = std::stoul(std::string(s.substr(i + 1, n)), nullptr, 16);
      i += n;
      return v;
    };
    switch (e) {
      case '\n':
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        int v = 0, n = 0;
        while (n < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') {
          v = v * 8 + (s[i] - '0');
          ++i;
          ++n;
        }
        --i;
        append_utf8(out, static_cast<unsigned long>(v));
        break;
      }
      case 'x':
        append_utf8(out, hex(2));
        break;
      case 'u':
        append_utf8(out, hex(4));
        break;
      case 'U':
        append_utf8(out, hex(8));
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case '\\':
      case '\'':
      case '"':
        out.push_back(e);
        break;
      default:
        out.push_back('\\');
        out.push_back(e);  // Python keeps unknown escapes as written
    }
  }
  return out;
}

}  // namespace

std::vector<Token> tokenize(std::string_view src) {
  std::vector<Token> toks;
  std::vector<int> indents{0};
  int depth = 0;  // open brackets: newlines inside are not logical line ends
  int line = 1;
  size_t i = 0, n = src.size();
  bool at_line_start = true;
  auto push = [&](Tok k, std::string text, int l, int el = 0) {
    Token t;
    t.kind = k;
    t.text = std::move(text);
    t.line = l;
    t.end_line = el ? el : l;
    toks.push_back(std::move(t));
  };
  while (i < n) {
    if (at_line_start && depth == 0) {
      // Measure indentation; blank and comment-only lines do not count.
      int col = 0;
      size_t j = i;
      while (j < n && (src[j] == ' ' || src[j] == '\t' || src[j] == '\f')) {
        col = src[j] == '\t' ? (col / 8 + 1) * 8 : col + 1;
        ++j;
      }
      if (j < n && (src[j] == '#' || src[j] == '\n' || src[j] == '\r')) {
        while (j < n && src[j] != '\n') ++j;
        if (j < n) ++j;
        ++line;
        i = j;
        continue;
      }
      if (j >= n) {
        i = j;
        break;
      }
      if (src[j] == '\\' && j + 1 < n && src[j + 1] == '\n') {
        i = j;
        at_line_start = false;
        continue;
      }
      if (col > indents.back()) {
        indents.push_back(col);
        push(Tok::Indent, "", line);
      } else {
        while (col < indents.back()) {
          indents.pop_back();
          push(Tok::Dedent, "", line);
        }
        if (col != indents.back())
          throw SyntaxError(line, "unindent does not match any outer indentation level");
      }
      i = j;
      at_line_start = false;
    }
    char c = src[i];
    if (c == ' ' || c == '\t' || c == '\f' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < n && src[i] != '\n') ++i;
      continue;
    }
    if (c == '\\' && i + 1 < n &&
        (src[i + 1] == '\n' || (src[i + 1] == '\r' && i + 2 < n && src[i + 2] == '\n'))) {
      i += src[i + 1] == '\n' ? 2 : 3;
      ++line;
      continue;
    }
    if (c == '\n') {
      if (depth == 0) {
        if (!toks.empty() && toks.back().kind != Tok::Newline) push(Tok::Newline, "", line);
        at_line_start = true;
      }
      ++line;
      ++i;
      continue;
    }
    // String, with an optional prefix.
    size_t p = i;
    bool raw = false, fstr = false, bytes = false;
    while (p < n && p - i < 3 && std::string_view("rRbBuUfF").find(src[p]) != std::string_view::npos) {
      char u = static_cast<char>(std::tolower(static_cast<unsigned char>(src[p])));
      if (u == 'r') raw = true;
      if (u == 'f') fstr = true;
      if (u == 'b') bytes = true;
      ++p;
    }
    if (p < n && (src[p] == '"' || src[p] == '\'')) {
      char q = src[p];
      bool triple = p + 2 < n && src[p + 1] == q && src[p + 2] == q;
      size_t body = p + (triple ? 3 : 1);
      size_t k = body;
      int start_line = line;
      for (;;) {
        if (k >= n) throw SyntaxError(start_line, "unterminated string");
        if (src[k] == '\\') {
          if (k + 1 < n && src[k + 1] == '\n') ++line;
          k += 2;
          continue;
        }
        if (src[k] == '\n') {
          if (!triple) throw SyntaxError(start_line, "unterminated string");
          ++line;
        }
        if (src[k] == q && (!triple || (k + 2 < n && src[k + 1] == q && src[k + 2] == q))) break;
        ++k;
      }
      std::string_view text = src.substr(body, k - body);
      std::string value = raw ? std::string(text) : unescape(text, start_line);
      push(Tok::String, std::move(value), start_line, line);
      toks.back().fstring = fstr;
      toks.back().bytes = bytes;
      i = k + (triple ? 3 : 1);
      continue;
    }
    if (name_start(static_cast<unsigned char>(c))) {
      size_t k = i;
      while (k < n && name_char(static_cast<unsigned char>(src[k]))) ++k;
      push(Tok::Name, std::string(src.substr(i, k - i)), line);
      i = k;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(src[i + 1])))) {
      size_t k = i;
      while (k < n && (std::isalnum(static_cast<unsigned char>(src[k])) || src[k] == '.' || src[k] == '_' ||
                       ((src[k] == '+' || src[k] == '-') && (src[k - 1] == 'e' || src[k - 1] == 'E') &&
                        !(src[i] == '0' && i + 1 < n && (src[i + 1] == 'x' || src[i + 1] == 'X')))))
        ++k;
      std::string num;
      for (size_t m = i; m < k; ++m)
        if (src[m] != '_') num.push_back(src[m]);
      push(Tok::Number, num, line);
      i = k;
      continue;
    }
    static const char* const ops3[] = {"**=", "//=", ">>=", "<<=", "...", nullptr};
    static const char* const ops2[] = {"==", "!=", "<=", ">=", "->", "**", "//", "<<", ">>", "+=",
                                       "-=", "*=", "/=", "%=", "&=", "|=", "^=", ":=", "@=", nullptr};
    size_t len = 1;
    for (const char* const* o = ops3; *o && len == 1; ++o)
      if (src.substr(i, 3) == *o) len = 3;
    for (const char* const* o = ops2; *o && len == 1; ++o)
      if (src.substr(i, 2) == *o) len = 2;
    std::string op(src.substr(i, len));
    if (op == "(" || op == "[" || op == "{") ++depth;
    if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
    push(Tok::Op, op, line);
    i += op.size();
  }
  if (!toks.empty() && toks.back().kind != Tok::Newline) push(Tok::Newline, "", line);
  while (indents.size() > 1) {
    indents.pop_back();
    push(Tok::Dedent, "", line);
  }
  push(Tok::End, "", line);
  return toks;
}

}  // namespace luamig::importer
