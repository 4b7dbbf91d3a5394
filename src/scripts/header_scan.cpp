#include "scripts/header_scan.hpp"

#include <cctype>

namespace luamig::scripts {
namespace {

struct Cursor {
  std::string_view s;
  size_t i = 0;
  void skip_space() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  bool at_end_or_comment() {
    skip_space();
    return i >= s.size() || s.substr(i, 2) == "--" || s[i] == ';';
  }
};

// A short string literal with simple escapes; nullopt when it is something else.
std::optional<std::string> parse_string(Cursor& c) {
  c.skip_space();
  if (c.i >= c.s.size() || (c.s[c.i] != '"' && c.s[c.i] != '\'')) return std::nullopt;
  char q = c.s[c.i++];
  std::string out;
  while (c.i < c.s.size() && c.s[c.i] != q) {
    if (c.s[c.i] == '\\') return std::nullopt;  // escapes: let Lua decide
    out.push_back(c.s[c.i++]);
  }
  if (c.i >= c.s.size()) return std::nullopt;
  ++c.i;
  return out;
}

// nil | "str" | { "a", "b", } on one line. `is_string` tells a bare string from a list.
bool parse_value(Cursor& c, std::vector<std::string>& out, bool& is_nil, bool& is_string) {
  c.skip_space();
  is_nil = is_string = false;
  if (c.s.substr(c.i, 3) == "nil") {
    c.i += 3;
    is_nil = true;
    return c.at_end_or_comment();
  }
  if (auto str = parse_string(c)) {
    out.push_back(*str);
    is_string = true;
    return c.at_end_or_comment();
  }
  if (c.i < c.s.size() && c.s[c.i] == '{') {
    ++c.i;
    for (;;) {
      c.skip_space();
      if (c.i < c.s.size() && c.s[c.i] == '}') {
        ++c.i;
        return c.at_end_or_comment();
      }
      auto item = parse_string(c);
      if (!item) return false;
      out.push_back(*item);
      c.skip_space();
      if (c.i < c.s.size() && (c.s[c.i] == ',' || c.s[c.i] == ';')) ++c.i;
    }
  }
  return false;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// A top-level global function definition: "function NAME(" or "NAME = function", any blanks in between.
bool defines_function(std::string_view line, std::string_view name) {
  if (starts_with(line, "function") && line.size() > 8 && is_blank(line[8])) {
    size_t i = 8;
    while (i < line.size() && is_blank(line[i])) ++i;
    if (!starts_with(line.substr(i), name)) return false;
    i += name.size();
    while (i < line.size() && is_blank(line[i])) ++i;
    return i < line.size() && line[i] == '(';
  }
  if (!starts_with(line, name)) return false;
  size_t i = name.size();
  while (i < line.size() && is_blank(line[i])) ++i;
  if (i >= line.size() || line[i] != '=' || (i + 1 < line.size() && line[i + 1] == '=')) return false;
  ++i;
  while (i < line.size() && is_blank(line[i])) ++i;
  std::string_view rest = line.substr(i);
  return starts_with(rest, "function") &&
         (rest.size() == 8 || !(std::isalnum(static_cast<unsigned char>(rest[8])) || rest[8] == '_'));
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}
}  // namespace

Header scan_header(std::string_view src) {
  Header h;
  h.complete = true;
  bool seen_code = false, seen_message = false;
  int line_no = 0;
  bool in_long = false;  // inside a --[[ ]] block or [[ ]] string: headers there don't count
  size_t pos = 0;
  bool seen_revision = false;
  while (pos <= src.size()) {
    size_t nl = src.find('\n', pos);
    std::string_view line = src.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    ++line_no;
    pos = (nl == std::string_view::npos) ? src.size() + 1 : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (in_long) {
      if (line.find("]]") != std::string_view::npos) in_long = false;
      continue;
    }
    if (line.find("[[") != std::string_view::npos || line.find("[=") != std::string_view::npos) {
      if (line.find("]]") == std::string_view::npos) in_long = true;
    }
    if (starts_with(line, "--")) {
      std::string text = trim(line.substr(2));
      if (!seen_code && !seen_message && !text.empty() && !starts_with(text, "[[")) {
        h.message = text;
        seen_message = true;
      }
      if (starts_with(text, "Create Date:")) h.create_date = trim(text.substr(12));
      continue;
    }
    std::string t = trim(line);
    if (t.empty()) continue;
    seen_code = true;
    if (defines_function(line, "upgrade")) h.has_upgrade = true;
    if (defines_function(line, "downgrade")) h.has_downgrade = true;
    for (const char* key : {"revision", "down_revision", "branch_labels", "depends_on"}) {
      std::string_view k = key;
      if (!starts_with(line, k)) continue;
      Cursor c{line, k.size()};
      c.skip_space();
      if (c.i >= line.size() || line[c.i] != '=' || (c.i + 1 < line.size() && line[c.i + 1] == '=')) continue;
      ++c.i;
      std::vector<std::string> values;
      bool is_nil, is_string;
      if (!parse_value(c, values, is_nil, is_string)) {
        h.complete = false;
        if (k == "revision") h.revision_line = line_no;
        continue;
      }
      if (k == "revision") {
        if (seen_revision) h.complete = false;  // assigned twice: let Lua say what wins
        seen_revision = true;
        h.revision_line = line_no;
        if (is_string)
          h.revision = values[0];
        else
          h.revision_not_string = true;
      } else if (k == "down_revision") {
        h.down_revisions = values;
        h.down_revision_set = true;
      } else if (k == "branch_labels") {
        h.branch_labels = values;
      } else {
        h.depends_on = values;
      }
    }
  }
  return h;
}
}  // namespace luamig::scripts
