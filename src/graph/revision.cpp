#include "graph/revision.hpp"

#include <fmt/format.h>

namespace luamig::graph {
namespace {

bool is_reserved(std::string_view s) { return s == "head" || s == "heads" || s == "base" || s == "current"; }

// Reason for the first forbidden character of `s`, or "".
std::string bad_char(std::string_view s, std::string_view forbidden) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u == ' ' || u == '\t' || u == '\n' || u == '\r' || u == '\v' || u == '\f')
      return "contains whitespace";
    if (u < 0x20 || u == 0x7f) return "contains a control character";
    if (forbidden.find(c) != std::string_view::npos) return fmt::format("contains '{}'", c);
  }
  return {};
}

}  // namespace

std::string revision_id_problem(std::string_view id) {
  if (id.empty()) return "is empty";
  if (id.size() > kMaxRevisionIdLength)
    return fmt::format("is longer than {} characters", kMaxRevisionIdLength);
  if (auto why = bad_char(id, "@-+:"); !why.empty()) return why;
  if (is_reserved(id)) return "is a reserved word";
  return {};
}

std::string branch_label_problem(std::string_view label) {
  if (label.empty()) return "is empty";
  if (auto why = bad_char(label, "@+:"); !why.empty()) return why;
  if (is_reserved(label)) return "is a reserved word";
  return {};
}

std::string location(const Revision& rev) {
  if (rev.path.empty()) return {};
  if (rev.line > 0) return fmt::format("{}:{}", rev.path, rev.line);
  return rev.path;
}

std::string describe(const Revision& rev) {
  auto loc = location(rev);
  if (loc.empty()) return fmt::format("'{}'", rev.id);
  return fmt::format("'{}' ({})", rev.id, loc);
}

std::string multiple_heads_message(std::string_view argument, const std::vector<std::string>& heads) {
  return fmt::format(
      "Multiple head revisions are present for given argument '{}': {}. Please specify a specific target "
      "revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads (e.g. `luamig "
      "upgrade "
      "heads`), or create a merge revision with `luamig merge heads`",
      argument, fmt::join(heads, ", "));
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += '\'';
    out += s;
    out += '\'';
  }
  return out;
}

}  // namespace luamig::graph
