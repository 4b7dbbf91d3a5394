#include "commands/describe.hpp"

#include <fmt/format.h>

namespace luamig::commands {
namespace {
std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string marks(const graph::RevisionMap& map, const graph::Revision& r, const std::set<std::string>& current) {
  std::string m;
  if (map.is_head(r.id)) m += " (head)";
  if (current.count(r.id)) m += " (current)";
  if (map.children(r.id).size() > 1) m += " (branchpoint)";
  if (r.down_revisions.size() > 1) m += " (mergepoint)";
  if (!r.branch_labels.empty()) m += " (" + join(r.branch_labels, ", ") + ")";
  return m;
}
}  // namespace

std::string history_line(const graph::RevisionMap& map, const graph::Revision& r, const std::set<std::string>& current) {
  std::string from = r.down_revisions.empty() ? "<base>" : join(r.down_revisions, ", ");
  return fmt::format("{} -> {}{}, {}", from, r.id, marks(map, r, current), r.message);
}

std::string short_line(const graph::RevisionMap& map, const graph::Revision& r) {
  return r.id + marks(map, r, {});
}

std::string verbose_entry(const graph::RevisionMap& map, const graph::Revision& r, const std::set<std::string>& current) {
  std::string s = fmt::format("Rev: {}{}\n", r.id, marks(map, r, current));
  if (r.down_revisions.size() > 1)
    s += fmt::format("Merges: {}\n", join(r.down_revisions, ", "));
  else
    s += fmt::format("Parent: {}\n", r.down_revisions.empty() ? "<base>" : r.down_revisions[0]);
  if (!r.depends_on.empty()) s += fmt::format("Also depends on: {}\n", join(r.depends_on, ", "));
  auto children = map.children(r.id);
  if (children.size() > 1) s += fmt::format("Branches into: {}\n", join(children, ", "));
  if (!r.branch_labels.empty()) s += fmt::format("Branch names: {}\n", join(r.branch_labels, ", "));
  s += fmt::format("Path: {}\n\n    {}\n\n    Revision ID: {}\n    Revises: {}\n    Create Date: {}\n", r.path, r.message,
                   r.id, join(r.down_revisions, ", "), r.create_date);
  return s;
}
}  // namespace luamig::commands
