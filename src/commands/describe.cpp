#include "commands/describe.hpp"

#include <fmt/format.h>

#include "util/output.hpp"

namespace luamig::commands {
namespace {
// Joins escaped values: ids and labels come from files, and a file may hold anything.
std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string text;
  for (size_t i = 0; i < v.size(); ++i) text += (i ? sep : "") + out::escape(v[i]);
  return text;
}
std::string esc(std::string_view s) { return out::escape(s); }

std::string marks(const graph::RevisionMap& map, const graph::Revision& r,
                  const std::set<std::string>& current) {
  std::string m;
  if (map.is_head(r.id)) m += " (head)";
  if (current.count(r.id)) m += " (current)";
  if (map.children(r.id).size() > 1) m += " (branchpoint)";
  if (r.down_revisions.size() > 1) m += " (mergepoint)";
  if (!r.branch_labels.empty()) m += " (" + join(r.branch_labels, ", ") + ")";
  return m;
}
}  // namespace

std::string history_line(const graph::RevisionMap& map, const graph::Revision& r,
                         const std::set<std::string>& current) {
  std::string from = r.down_revisions.empty() ? "<base>" : join(r.down_revisions, ", ");
  return fmt::format("{} -> {}{}, {}", from, esc(r.id), marks(map, r, current), esc(r.message));
}

std::string short_line(const graph::RevisionMap& map, const graph::Revision& r) {
  return esc(r.id) + marks(map, r, {});
}

std::string verbose_entry(const graph::RevisionMap& map, const graph::Revision& r,
                          const std::set<std::string>& current) {
  std::string s = fmt::format("Rev: {}{}\n", esc(r.id), marks(map, r, current));
  if (r.down_revisions.size() > 1)
    s += fmt::format("Merges: {}\n", join(r.down_revisions, ", "));
  else
    s += fmt::format("Parent: {}\n", r.down_revisions.empty() ? "<base>" : esc(r.down_revisions[0]));
  if (!r.depends_on.empty()) s += fmt::format("Also depends on: {}\n", join(r.depends_on, ", "));
  auto children = map.children(r.id);
  if (children.size() > 1) s += fmt::format("Branches into: {}\n", join(children, ", "));
  if (!r.branch_labels.empty()) s += fmt::format("Branch names: {}\n", join(r.branch_labels, ", "));
  s += fmt::format("Path: {}\n\n    {}\n\n    Revision ID: {}\n    Revises: {}\n    Create Date: {}\n",
                   esc(r.path), esc(r.message), esc(r.id), join(r.down_revisions, ", "), esc(r.create_date));
  return s;
}

json::Object revision_json(const graph::RevisionMap& map, const graph::Revision& r,
                           const std::set<std::string>& current) {
  json::Object o;
  o.add("id", r.id)
      .add("down_revisions", r.down_revisions)
      .add("depends_on", r.depends_on)
      .add("branch_labels", r.branch_labels)
      .add("message", r.message)
      .add("path", r.path)
      .add("create_date", r.create_date)
      .add("is_head", map.is_head(r.id))
      .add("is_branchpoint", map.children(r.id).size() > 1)
      .add("is_mergepoint", r.down_revisions.size() > 1)
      .add("is_current", current.count(r.id) > 0);
  return o;
}
}  // namespace luamig::commands
