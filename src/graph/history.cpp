#include "graph/history.hpp"

#include <fmt/format.h>

#include "graph/target.hpp"

namespace luamig::graph {
namespace {

// "-N" from every head of the map; results reaching base are dropped.
std::vector<size_t> down_from_heads(const RevisionMap& map, long steps, std::string_view what) {
  std::set<size_t> out;
  for (size_t h : map.head_indices())
    if (auto r = walk(map, h, steps, what)) out.insert(*r);
  return {out.begin(), out.end()};
}

std::vector<size_t> resolve_side(const RevisionMap& map, std::string_view text, bool is_lower,
                                 const std::vector<size_t>& lower, const std::set<std::string>& current) {
  if (text.empty()) return is_lower ? std::vector<size_t>{} : map.head_indices();
  if (text == "current") return indices_of(map, current);
  if (is_lower && text == "base") return {};
  if (!map.index_of(text) && !map.label_index(text)) {
    if (auto rel = parse_relative(text); rel && rel->base.empty()) {
      if (rel->steps < 0) return down_from_heads(map, rel->steps, text);
      std::optional<size_t> start;
      if (!is_lower) {
        if (lower.size() > 1)
          throw GraphError(
              fmt::format("Relative revision '{}' is ambiguous: the start of the range has several "
                          "revisions",
                          text));
        if (!lower.empty()) start = lower.front();
      }
      auto r = walk(map, start, rel->steps, text);
      return r ? std::vector<size_t>{*r} : std::vector<size_t>{};
    }
  }
  return indices_of(map, resolve_target(map, text, current));
}

}  // namespace

std::vector<const Revision*> history_range(const RevisionMap& map, std::string_view range,
                                           const std::set<std::string>& current_heads) {
  auto colon = range.find(':');
  if (colon == std::string_view::npos || range.find(':', colon + 1) != std::string_view::npos)
    throw GraphError(
        fmt::format("History range requires [start]:[end], [start]:, or :[end]; got '{}'", range));
  std::string_view lower_text = range.substr(0, colon), upper_text = range.substr(colon + 1);
  auto lower = resolve_side(map, lower_text, true, {}, current_heads);
  auto upper = resolve_side(map, upper_text, false, lower, current_heads);

  auto wanted = map.ancestor_mask(upper, true);
  for (size_t l : lower)
    if (!wanted[l])
      throw GraphError(fmt::format("Revision '{}' (start of the range '{}') is not an ancestor of '{}'",
                                   map.at(l).id, range, upper_text.empty() ? "heads" : upper_text));
  if (!lower.empty()) {
    auto below = map.ancestor_mask(lower, true);
    auto above = map.descendant_mask(lower, false);
    for (size_t l : lower) below[l] = 0;
    for (size_t i = 0; i < wanted.size(); ++i)
      wanted[i] = static_cast<char>(wanted[i] && !below[i] && above[i]);
  }
  std::vector<const Revision*> out;
  for (size_t i = wanted.size(); i-- > 0;)
    if (wanted[i]) out.push_back(&map.at(i));
  return out;
}

}  // namespace luamig::graph
