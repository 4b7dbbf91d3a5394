#include "dialect/inline_params.hpp"

#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

namespace luamig::dialect {
namespace {

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || (c & 0x80);
}
bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80); }

// The dialect's lexical rules (Dialect::lexical_rules), just far enough to know what is code and what is
// quoted.
class Scanner {
 public:
  Scanner(const Dialect& d, std::string_view sql, const std::vector<Param>& params)
      : d_(d), rules_(d.lexical_rules()), s_(sql), params_(params) {}

  InlinedSql run() {
    InlinedSql out;
    std::string& o = out.text;
    o.reserve(s_.size() + 16);
    size_t i = 0;
    bool line_comment = false;
    while (i < s_.size()) {
      char c = s_[i];
      line_comment = false;
      if (c == '\'') {
        // E'...' strings take backslash escapes; the prefix letter was copied already.
        bool escapes = rules_.escape_string_prefix && i > 0 && (s_[i - 1] == 'E' || s_[i - 1] == 'e') &&
                       (i < 2 || !ident_char(s_[i - 2]));
        i = copy_quoted(o, i, '\'', escapes);
      } else if (c == '"') {
        i = copy_quoted(o, i, '"', false);
      } else if (c == '-' && i + 1 < s_.size() && s_[i + 1] == '-') {
        size_t end = s_.find('\n', i);
        if (end == std::string_view::npos) {
          end = s_.size();
          line_comment = true;
        }
        o.append(s_.substr(i, end - i));
        i = end;
      } else if (c == '/' && i + 1 < s_.size() && s_[i + 1] == '*') {
        i = copy_block_comment(o, i);
      } else if (c == '$') {  // identifiers are copied whole below, so this '$' never continues one
        i = dollar(o, i);
      } else if (ident_start(c)) {
        // Copy a whole identifier/keyword so that `a$1` never looks like a placeholder.
        size_t j = i + 1;
        while (j < s_.size() && ident_char(s_[j])) ++j;
        // ...but stop before a quote: E'..' and U&'..' are handled by the quote branch.
        o.append(s_.substr(i, j - i));
        i = j;
      } else {
        o.push_back(c);
        ++i;
      }
    }
    out.ends_in_line_comment = line_comment;
    return out;
  }

 private:
  size_t copy_quoted(std::string& o, size_t i, char q, bool backslash_escapes) {
    size_t j = i + 1;
    while (j < s_.size()) {
      if (backslash_escapes && s_[j] == '\\') {
        j += 2;
        continue;
      }
      if (s_[j] == q) {
        if (j + 1 < s_.size() && s_[j + 1] == q) {
          j += 2;
          continue;
        }
        ++j;
        break;
      }
      ++j;
    }
    if (j > s_.size()) j = s_.size();
    o.append(s_.substr(i, j - i));
    return j;
  }

  size_t copy_block_comment(std::string& o, size_t i) {
    int depth = 0;
    size_t j = i;
    while (j < s_.size()) {
      if (s_[j] == '/' && j + 1 < s_.size() && s_[j + 1] == '*') {
        ++depth;
        j += 2;
      } else if (s_[j] == '*' && j + 1 < s_.size() && s_[j + 1] == '/') {
        j += 2;
        if (--depth == 0 || !rules_.nested_block_comments) break;
      } else {
        ++j;
      }
    }
    o.append(s_.substr(i, j - i));
    return j;
  }

  // At a '$' outside an identifier: a placeholder $n (also right after a number: `9$1` is 9 then $1, as
  // PostgreSQL reads it), a dollar quote $tag$...$tag$, or a lone '$'.
  size_t dollar(std::string& o, size_t i) {
    size_t j = i + 1;
    if (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) {
      while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
      if (params_.empty()) {  // nothing to inline: the text stays as written
        o.append(s_.substr(i, j - i));
        return j;
      }
      std::string digits(s_.substr(i + 1, j - i - 1));
      size_t n = digits.size() > 6 ? 0 : std::stoul(digits);
      if (n == 0 || n > params_.size())
        throw std::invalid_argument(fmt::format("the statement uses ${} but {} parameter{} given", digits,
                                                params_.size(), params_.size() == 1 ? " was" : "s were"));
      const Param& p = params_[n - 1];
      o.append(p ? d_.quote_literal(*p) : std::string("NULL"));
      // NULL followed by an identifier character would read as one longer name (`$1$$` -> `NULL$$`).
      if (!p && j < s_.size() && ident_char(s_[j])) o.push_back(' ');
      return j;
    }
    if (!rules_.dollar_quotes) {
      o.push_back('$');
      return i + 1;
    }
    // $tag$ where tag is empty or an identifier not starting with a digit.
    while (j < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_' || (s_[j] & 0x80)))
      ++j;
    if (j < s_.size() && s_[j] == '$') {
      std::string_view tag = s_.substr(i, j - i + 1);
      size_t close = s_.find(tag, j + 1);
      size_t end = close == std::string_view::npos ? s_.size() : close + tag.size();
      o.append(s_.substr(i, end - i));
      return end;
    }
    o.push_back('$');
    return i + 1;
  }

  const Dialect& d_;
  LexicalRules rules_;
  std::string_view s_;
  const std::vector<Param>& params_;
};
}  // namespace

InlinedSql inline_params(const Dialect& dialect, std::string_view sql, const std::vector<Param>& params) {
  // Without parameters the text goes out as written (PREPARE ... AS SELECT $1 is valid SQL on its own).
  return Scanner(dialect, sql, params).run();
}

std::string script_statement(const Dialect& dialect, std::string_view sql, const std::vector<Param>& params) {
  InlinedSql in = inline_params(dialect, sql, params);
  std::string& t = in.text;
  if (in.ends_in_line_comment) return t + "\n;";
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  if (t.empty() || t.back() != ';') t.push_back(';');
  return t;
}
}  // namespace luamig::dialect
