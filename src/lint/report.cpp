#include "lint/report.hpp"

#include <fmt/format.h>

#include "util/json.hpp"

namespace luamig::lint {
namespace {
std::string indent(const std::string& text, const char* prefix) {
  std::string out = prefix;
  for (char c : text) {
    out += c;
    if (c == '\n') out += prefix;
  }
  return out;
}

struct Counts {
  size_t errors = 0, warnings = 0, silenced = 0;
};
Counts count(const std::vector<Finding>& findings) {
  Counts c;
  for (const auto& f : findings) {
    if (!f.silenced.empty())
      ++c.silenced;
    else if (f.severity == Severity::error)
      ++c.errors;
    else
      ++c.warnings;
  }
  return c;
}
}  // namespace

std::string format_text(const std::vector<Finding>& findings, size_t revisions_linted) {
  std::string out;
  for (const auto& f : findings) {
    if (!f.silenced.empty()) continue;
    std::string where =
        f.file.empty() ? "" : (f.line ? fmt::format("{}:{}: ", f.file, f.line) : f.file + ": ");
    out += fmt::format("{}{} [{}] {}\n", where, severity_name(f.severity), f.rule, f.message);
    if (!f.revision.empty()) out += fmt::format("  revision: {}\n", f.revision);
    out += fmt::format("  effect: {}\n", f.effect);
    if (!f.statement.empty()) out += fmt::format("  statement: {}\n", f.statement);
    out += "  safe alternative:\n" + indent(f.alternative, "    ") + "\n";
  }
  auto c = count(findings);
  out += fmt::format("{} revision{} linted: {} error{}, {} warning{}", revisions_linted,
                     revisions_linted == 1 ? "" : "s", c.errors, c.errors == 1 ? "" : "s", c.warnings,
                     c.warnings == 1 ? "" : "s");
  if (c.silenced) out += fmt::format(", {} silenced", c.silenced);
  return out + "\n";
}

std::string format_json(const std::vector<Finding>& findings, size_t revisions_linted) {
  std::string out = "{\"findings\": [";
  bool first = true;
  for (const auto& f : findings) {
    out += first ? "\n  " : ",\n  ";
    first = false;
    out += fmt::format(
        "{{\"rule\": {}, \"severity\": {}, \"revision\": {}, \"file\": {}, \"line\": {}, \"message\": {}, "
        "\"effect\": {}, \"statement\": {}, \"alternative\": {}, \"table\": {}, \"column\": {}, \"source\": "
        "{}, "
        "\"silenced\": {}}}",
        json::quote(f.rule), json::quote(severity_name(f.severity)), json::quote(f.revision),
        json::quote(f.file), f.line, json::quote(f.message), json::quote(f.effect), json::quote(f.statement),
        json::quote(f.alternative), json::quote(f.table), json::quote(f.column),
        json::quote(f.from_sql ? "sql" : "op"), f.silenced.empty() ? "null" : json::quote(f.silenced));
  }
  auto c = count(findings);
  out += fmt::format(
      "{}],\n \"summary\": {{\"revisions\": {}, \"errors\": {}, \"warnings\": {}, \"silenced\": {}}}}}\n",
      first ? "" : "\n", revisions_linted, c.errors, c.warnings, c.silenced);
  return out;
}

std::string format_rules() {
  std::string out;
  for (const auto& r : rules()) {
    out += fmt::format("{} ({})\n  {}\n  effect: {}\n  example:\n{}\n  safe:\n{}\n\n", r.id,
                       severity_name(r.severity), r.summary, r.effect, indent(r.bad, "    "),
                       indent(r.good, "    "));
  }
  return out;
}
}  // namespace luamig::lint
