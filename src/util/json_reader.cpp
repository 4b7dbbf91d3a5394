// The JSON reader (util/json.hpp): one document into a tree of Values.
#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include "util/json.hpp"

namespace luamig::json {
namespace {
const Value kNull{};

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  Value document() {
    Value v = value(0);
    skip();
    if (i_ != s_.size()) fail("trailing text");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(fmt::format("malformed JSON at offset {}: {}", i_, what));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect_word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) fail("unexpected word");
    i_ += w.size();
  }
  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }
  std::string string_body() {
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      char e = s_[i_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(i_, 2) == "\\u") {
            i_ += 2;
            unsigned lo = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default:
          out += e;
      }
    }
  }
  Value value(int depth) {
    if (depth > 2000) fail("nested too deeply");
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    Value v;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.type = Value::Type::object;
      if (eat('}')) return v;
      do {
        if (!eat('"')) fail("expected a key");
        std::string key = string_body();
        if (!eat(':')) fail("expected ':'");
        v.fields[key] = value(depth + 1);
      } while (eat(','));
      if (!eat('}')) fail("expected '}'");
    } else if (c == '[') {
      ++i_;
      v.type = Value::Type::array;
      if (eat(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (eat(','));
      if (!eat(']')) fail("expected ']'");
    } else if (c == '"') {
      ++i_;
      v.type = Value::Type::string;
      v.text = string_body();
    } else if (c == 't') {
      expect_word("true");
      v.type = Value::Type::boolean;
      v.boolean = true;
    } else if (c == 'f') {
      expect_word("false");
      v.type = Value::Type::boolean;
    } else if (c == 'n') {
      expect_word("null");
    } else {
      size_t start = i_;
      while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                                s_[i_] == '+' || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E'))
        ++i_;
      if (start == i_) fail("unexpected character");
      v.type = Value::Type::number;
      v.text = std::string(s_.substr(start, i_ - start));
      v.number = std::strtod(v.text.c_str(), nullptr);
    }
    return v;
  }

  std::string_view s_;
  size_t i_ = 0;
};
}  // namespace

const Value& Value::operator[](const std::string& key) const {
  if (type != Type::object) return kNull;
  auto it = fields.find(key);
  return it == fields.end() ? kNull : it->second;
}

Value parse(std::string_view text) { return Reader(text).document(); }

}  // namespace luamig::json
