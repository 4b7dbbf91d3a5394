#include "scripts/header_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace luamig::scripts {
namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Calls fn(name, line) for every line that starts (column 0) with `name =` (not `==`), outside long strings
// and block comments.
template <typename F>
void for_each_top_assignment(std::string_view src, F&& fn) {
  int line_no = 0;
  bool in_long = false;
  size_t pos = 0;
  while (pos <= src.size()) {
    size_t nl = src.find('\n', pos);
    std::string_view line = src.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    ++line_no;
    pos = nl == std::string_view::npos ? src.size() + 1 : nl + 1;
    if (in_long) {
      if (line.find("]]") != std::string_view::npos || line.find("]=") != std::string_view::npos)
        in_long = false;
      continue;
    }
    if ((line.find("[[") != std::string_view::npos || line.find("[=") != std::string_view::npos) &&
        line.find("]]") == std::string_view::npos && line.find("]=") == std::string_view::npos)
      in_long = true;
    if (line.empty() || !ident_start(line[0])) continue;
    size_t i = 1;
    while (i < line.size() && ident_char(line[i])) ++i;
    std::string_view name = line.substr(0, i);
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] != '=' || (i + 1 < line.size() && line[i + 1] == '=')) continue;
    fn(name, line_no);
  }
}

const char* type_name(const luahost::Value& v) {
  if (v.is_nil()) return "nil";
  if (v.is_bool()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  return "table";
}

}  // namespace

const std::vector<std::string>& header_names() {
  static const std::vector<std::string> names = {"revision",   "down_revision", "branch_labels",
                                                 "depends_on", "transactional", "time_limit",
                                                 "upgrade",    "downgrade"};
  return names;
}

std::string header_value_error(std::string_view key, const luahost::Value& v) {
  if (key == "revision") {
    if (!v.is_string()) return fmt::format("must be a string (got {})", type_name(v));
    if (v.str().empty()) return "must not be empty";
    return "";
  }
  if (v.is_nil()) return "";
  const char* expected = "must be a string, a list of strings or nil";
  if (v.is_string()) return v.str().empty() ? fmt::format("{} (got an empty string)", expected) : "";
  if (!v.is_table()) return fmt::format("{} (got a {})", expected, type_name(v));
  size_t n = v.table().size();
  for (size_t i = 1; i <= n; ++i) {
    const luahost::Value* item = nullptr;
    for (const auto& [k, val] : v.table())
      if (k.is_number() && k.num() == static_cast<double>(i)) item = &val;
    if (!item) return fmt::format("{} (the list has a key that is not 1..{})", expected, n);
    if (!item->is_string()) return fmt::format("{} (item {} is a {})", expected, i, type_name(*item));
    if (item->str().empty()) return fmt::format("{} (item {} is an empty string)", expected, i);
  }
  return "";
}

int assignment_line(std::string_view source, std::string_view key) {
  int found = 0;
  for_each_top_assignment(source, [&](std::string_view name, int line) {
    if (!found && name == key) found = line;
  });
  return found;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::vector<MisspelledHeader> misspelled_headers(std::string_view source) {
  std::vector<MisspelledHeader> out;
  for_each_top_assignment(source, [&](std::string_view name, int line) {
    if (name.size() > 64) return;
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string best;
    size_t best_distance = SIZE_MAX;
    for (const auto& h : header_names()) {
      if (h == name) return;
      size_t d = lower == h ? 0 : edit_distance(lower, h);
      // Short names need a closer match: `revisions` is a typo, `version` is a variable.
      size_t allowed = h.size() >= 10 ? 3 : h.size() >= 7 ? 2 : 1;
      if (d <= allowed && d < best_distance) {
        best_distance = d;
        best = h;
      }
    }
    if (!best.empty()) out.push_back({std::string(name), line, best});
  });
  return out;
}
}  // namespace luamig::scripts
