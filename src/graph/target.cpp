#include "graph/target.hpp"

#include <fmt/format.h>

#include <charconv>

namespace luamig::graph {
namespace {

std::set<std::string> as_set(const RevisionMap& map, std::optional<size_t> i) {
  if (!i) return {};
  return {map.at(*i).id};
}

std::set<std::string> single_head(const RevisionMap& map, std::string_view argument) {
  auto heads = map.heads();
  if (heads.size() > 1) throw GraphError(multiple_heads_message(argument, heads));
  return {heads.begin(), heads.end()};
}

// "+N"/"-N" relative to the current heads, optionally restricted to a branch's lineage.
std::optional<size_t> relative_to_current(const RevisionMap& map, const std::set<std::string>& current,
                                          long steps, std::string_view what, const std::vector<char>* lineage,
                                          std::string_view label) {
  auto cur = indices_of(map, current);
  std::vector<size_t> starts;
  for (size_t i : cur)
    if (!lineage || (*lineage)[i]) starts.push_back(i);
  std::string on_branch = label.empty() ? std::string{} : fmt::format(" on branch '{}'", label);
  if (starts.size() > 1) {
    std::vector<std::string> names;
    for (size_t i : starts) names.push_back(map.at(i).id);
    throw GraphError(
        fmt::format("Ambiguous {} '{}' from multiple current revisions{} ({}); relative targets need "
                    "a single current head: name the target revision explicitly{}",
                    steps >= 0 ? "upgrade" : "downgrade", what, on_branch, fmt::join(names, ", "),
                    label.empty() ? " or use '<branch>@" + std::string(what) + "'" : ""));
  }
  if (steps < 0) {
    if (starts.empty())
      throw GraphError(fmt::format(
          "Relative revision '{}' walks past base: the database has no current revision{}", what, on_branch));
    return walk(map, starts.front(), steps, what, nullptr);
  }
  std::optional<size_t> start;
  if (!starts.empty()) {
    start = starts.front();
  } else if (lineage && !cur.empty()) {
    // The branch is not a current head: start from the tip of its applied part (Alembic backtracks the same
    // way).
    auto applied = map.ancestor_mask(cur, true);
    std::vector<size_t> tips;
    for (size_t i = 0; i < applied.size(); ++i) {
      if (!applied[i] || !(*lineage)[i]) continue;
      bool tip = true;
      for (size_t c : map.child_indices(i))
        if (applied[c] && (*lineage)[c]) tip = false;
      if (tip) tips.push_back(i);
    }
    if (tips.size() > 1)
      throw GraphError(
          fmt::format("Ambiguous upgrade '{}': branch '{}' has several applied tips; name the target "
                      "revision explicitly",
                      what, label));
    if (!tips.empty()) start = tips.front();
  }
  return walk(map, start, steps, what, lineage);
}

}  // namespace

size_t branch_anchor(const RevisionMap& map, std::string_view label) {
  if (auto l = map.label_index(label)) return *l;
  return map.require_index(map.resolve_id(label));
}

std::vector<char> lineage_of(const RevisionMap& map, size_t anchor) {
  auto mask = map.ancestor_mask({anchor}, false);
  auto below = map.descendant_mask({anchor}, false);
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = static_cast<char>(mask[i] || below[i]);
  return mask;
}

std::vector<size_t> indices_of(const RevisionMap& map, const std::set<std::string>& ids) {
  std::vector<size_t> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back(map.require_index(id));
  return out;
}

std::string heads_text(const std::set<std::string>& heads) {
  if (heads.empty()) return "(none)";
  return fmt::format("{}", fmt::join(heads, ", "));
}

std::optional<RelativeSpec> parse_relative(std::string_view text) {
  size_t sign = text.find_last_of("+-");
  if (sign == std::string_view::npos || sign + 1 >= text.size()) return std::nullopt;
  std::string_view digits = text.substr(sign + 1);
  for (char c : digits)
    if (c < '0' || c > '9') return std::nullopt;
  long n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || ptr != digits.data() + digits.size())
    throw GraphError(fmt::format("Relative revision '{}': the number is too large", text));
  return RelativeSpec{text.substr(0, sign), text[sign] == '-' ? -n : n};
}

std::optional<size_t> walk(const RevisionMap& map, std::optional<size_t> start, long steps,
                           std::string_view what, const std::vector<char>* lineage) {
  std::optional<size_t> cur = start;
  const unsigned long count =
      steps < 0 ? 0UL - static_cast<unsigned long>(steps) : static_cast<unsigned long>(steps);
  // Every iteration either moves strictly along the graph or throws, so this ends within size()+2 iterations.
  for (unsigned long k = 0; k < count; ++k) {
    if (steps > 0) {
      const auto& all = cur ? map.child_indices(*cur) : map.base_indices();
      std::vector<size_t> next;
      for (size_t c : all)
        if (!lineage || (*lineage)[c]) next.push_back(c);
      if (next.empty()) {
        if (!cur) throw GraphError(fmt::format("Relative revision '{}': there are no revisions", what));
        throw GraphError(
            fmt::format("Relative revision '{}' didn't produce {} migrations: {} is a head after {} "
                        "step(s)",
                        what, count, describe(map.at(*cur)), k));
      }
      if (next.size() > 1) {
        std::vector<std::string> names;
        for (size_t c : next) names.push_back(map.at(c).id);
        throw GraphError(
            fmt::format("Ambiguous walk for '{}': {} ({}); name the target revision explicitly", what,
                        cur ? describe(map.at(*cur)) + " has several children" : "there are several bases",
                        fmt::join(names, ", ")));
      }
      cur = next.front();
    } else {
      if (!cur)
        throw GraphError(fmt::format(
            "Relative revision '{}' walks past base (only {} step(s) down are possible)", what, k));
      const auto& parents = map.parent_indices(*cur);
      if (parents.size() > 1) {
        std::vector<std::string> names;
        for (size_t p : parents) names.push_back(map.at(p).id);
        throw GraphError(
            fmt::format("Ambiguous walk for '{}': {} is a merge point of {}; name the target revision "
                        "explicitly",
                        what, describe(map.at(*cur)), fmt::join(names, ", ")));
      }
      cur = parents.empty() ? std::nullopt : std::optional<size_t>(parents.front());
    }
  }
  return cur;
}

std::set<std::string> resolve_target(const RevisionMap& map, std::string_view target,
                                     const std::set<std::string>& current_heads) {
  if (target.empty()) throw GraphError("Empty target revision");
  if (target == "heads") {
    auto heads = map.heads();
    return {heads.begin(), heads.end()};
  }
  if (target == "head") return single_head(map, target);
  if (target == "base") return {};
  if (map.index_of(target) || map.label_index(target)) return {map.resolve_id(target)};

  if (auto at = target.find('@'); at != std::string_view::npos && target.substr(at + 1) == "heads") {
    auto below = map.descendant_mask({branch_anchor(map, target.substr(0, at))}, false);
    std::set<std::string> out;
    for (size_t h : map.head_indices())
      if (below[h]) out.insert(map.at(h).id);
    return out;
  }

  if (auto rel = parse_relative(target)) {
    std::string_view base = rel->base;
    if (base.empty())
      return as_set(map, relative_to_current(map, current_heads, rel->steps, target, nullptr, {}));
    if (base.back() == '@') {
      std::string_view label = base.substr(0, base.size() - 1);
      if (label.empty() || label.find('@') != std::string_view::npos)
        throw GraphError(fmt::format("Invalid target '{}'", target));
      auto lineage = lineage_of(map, branch_anchor(map, label));
      return as_set(map, relative_to_current(map, current_heads, rel->steps, target, &lineage, label));
    }
    std::optional<size_t> start;
    if (base == "head") {
      auto h = single_head(map, target);
      if (!h.empty()) start = map.require_index(*h.begin());
    } else if (base == "base") {
      if (rel->steps < 0) throw GraphError(fmt::format("Relative revision '{}' walks past base", target));
    } else if (base == "heads" || base == "current") {
      throw GraphError(
          fmt::format("Invalid target '{}': '{}' cannot be used with a relative step", target, base));
    } else {
      start = map.require_index(map.resolve_id(base));
    }
    return as_set(map, walk(map, start, rel->steps, target, nullptr));
  }
  return {map.resolve_id(target)};
}

}  // namespace luamig::graph
