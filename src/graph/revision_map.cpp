#include "graph/revision_map.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_set>

#include "util/output.hpp"

namespace luamig::graph {
namespace {

// " in path:line" or "" for messages.
std::string in_file(const Revision& rev) {
  auto loc = location(rev);
  return loc.empty() ? std::string{} : " in " + loc;
}

template <class T>
void dedupe(std::vector<T>& v) {
  if (v.size() < 2) return;
  std::vector<T> out;
  out.reserve(v.size());
  for (auto& x : v)
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(std::move(x));
  v = std::move(out);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

RevisionMap::RevisionMap(std::vector<Revision> input) {
  const size_t n = input.size();

  // 1. Ids and labels are well-formed; ids are unique.
  Index ids;
  ids.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    Revision& r = input[i];
    if (auto why = revision_id_problem(r.id); !why.empty())
      throw GraphError(
          fmt::format("Invalid revision id '{}'{}: the id {} (ids must be 1-{} characters, without "
                      "whitespace or any of '@', '-', '+', ':')",
                      r.id, in_file(r), why, kMaxRevisionIdLength));
    dedupe(r.branch_labels);
    for (const auto& label : r.branch_labels)
      if (auto why = branch_label_problem(label); !why.empty())
        throw GraphError(
            fmt::format("Invalid branch label '{}' of revision {}: the label {}", label, describe(r), why));
    auto [it, inserted] = ids.emplace(r.id, i);
    if (!inserted)
      throw GraphError(
          fmt::format("Duplicate revision id '{}': defined in {} and in {}", r.id,
                      location(input[it->second]).empty() ? "<unknown file>" : location(input[it->second]),
                      location(r).empty() ? "<unknown file>" : location(r)));
  }

  // 2. Branch labels are unique and do not shadow ids.
  Index labels;
  for (size_t i = 0; i < n; ++i) {
    for (const auto& label : input[i].branch_labels) {
      if (auto it = ids.find(label); it != ids.end())
        throw GraphError(fmt::format("Branch label '{}' of revision {} is also the id of revision {}", label,
                                     describe(input[i]), describe(input[it->second])));
      auto [it, inserted] = labels.emplace(label, i);
      if (!inserted)
        throw GraphError(fmt::format("Branch label '{}' is used by two revisions: {} and {}", label,
                                     describe(input[it->second]), describe(input[i])));
    }
  }

  // 3. References exist.
  std::vector<std::vector<size_t>> parents(n), deps(n);
  for (size_t i = 0; i < n; ++i) {
    Revision& r = input[i];
    dedupe(r.down_revisions);
    for (const auto& d : r.down_revisions) {
      auto it = ids.find(d);
      if (it == ids.end())
        throw GraphError(fmt::format("Revision '{}'{} has down_revision '{}', but no revision '{}' exists",
                                     r.id, in_file(r), d, d));
      parents[i].push_back(it->second);
    }
    for (auto& d : r.depends_on) {
      std::optional<size_t> target;
      if (auto it = ids.find(d); it != ids.end())
        target = it->second;
      else if (auto lt = labels.find(d); lt != labels.end())
        target = lt->second;
      if (!target)
        throw GraphError(
            fmt::format("Revision '{}'{} depends_on '{}', but no revision or branch label '{}' exists", r.id,
                        in_file(r), d, d));
      d = input[*target].id;
    }
    dedupe(r.depends_on);
    for (const auto& d : r.depends_on) deps[i].push_back(ids.find(d)->second);
  }

  // 4. Kahn's algorithm; the smallest available id goes first.
  std::vector<std::vector<size_t>> next(n);  // prerequisite -> revisions needing it (unique edges)
  std::vector<size_t> indegree(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t p : parents[i]) next[p].push_back(i);
    indegree[i] = parents[i].size();
    for (size_t d : deps[i])
      if (std::find(parents[i].begin(), parents[i].end(), d) == parents[i].end()) {
        next[d].push_back(i);
        ++indegree[i];
      }
  }
  auto greater_id = [&](size_t a, size_t b) { return input[a].id > input[b].id; };
  std::priority_queue<size_t, std::vector<size_t>, decltype(greater_id)> ready(greater_id);
  for (size_t i = 0; i < n; ++i)
    if (indegree[i] == 0) ready.push(i);
  std::vector<size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t c : next[i])
      if (--indegree[c] == 0) ready.push(c);
  }

  if (order.size() != n) {
    // Every remaining revision has a remaining prerequisite: follow them from the smallest remaining id until
    // one repeats.
    std::optional<size_t> start;
    for (size_t i = 0; i < n; ++i)
      if (indegree[i] > 0 && (!start || input[i].id < input[*start].id)) start = i;
    std::vector<size_t> path;
    std::unordered_map<size_t, size_t> pos_in_path;
    size_t cur = *start;
    while (!pos_in_path.count(cur)) {
      pos_in_path[cur] = path.size();
      path.push_back(cur);
      size_t nxt = cur;
      bool found = false;
      for (size_t p : parents[cur])
        if (indegree[p] > 0) {
          nxt = p;
          found = true;
          break;
        }
      if (!found)
        for (size_t p : deps[cur])
          if (indegree[p] > 0) {
            nxt = p;
            found = true;
            break;
          }
      cur = nxt;
    }
    std::vector<size_t> cycle(path.begin() + static_cast<std::ptrdiff_t>(pos_in_path[cur]), path.end());
    auto smallest = std::min_element(cycle.begin(), cycle.end(),
                                     [&](size_t a, size_t b) { return input[a].id < input[b].id; });
    std::rotate(cycle.begin(), smallest, cycle.end());
    std::string chain, details;
    for (size_t k = 0; k < cycle.size(); ++k) {
      const Revision& a = input[cycle[k]];
      const Revision& b = input[cycle[(k + 1) % cycle.size()]];
      chain += a.id + " -> ";
      bool versioned =
          std::find(a.down_revisions.begin(), a.down_revisions.end(), b.id) != a.down_revisions.end();
      auto loc = location(a);
      details += fmt::format("\n  {} ({}) {} '{}'", a.id, loc.empty() ? "<unknown file>" : loc,
                             versioned ? "has down_revision" : "depends_on", b.id);
    }
    chain += input[cycle.front()].id;
    throw GraphError(fmt::format("Cycle in the revision graph: {}{}", chain, details));
  }

  // 5. Store everything in topological order.
  std::vector<size_t> new_index(n);
  for (size_t k = 0; k < n; ++k) new_index[order[k]] = k;
  revs_.reserve(n);
  parents_.resize(n);
  deps_.resize(n);
  children_.resize(n);
  dependents_.resize(n);
  for (size_t k = 0; k < n; ++k) {
    size_t old = order[k];
    revs_.push_back(std::move(input[old]));
    for (size_t p : parents[old]) parents_[k].push_back(new_index[p]);
    for (size_t d : deps[old]) deps_[k].push_back(new_index[d]);
  }
  for (size_t k = 0; k < n; ++k) {  // ascending k keeps children/dependents sorted
    for (size_t p : parents_[k]) children_[p].push_back(k);
    for (size_t d : deps_[k]) dependents_[d].push_back(k);
  }
  for (size_t k = 0; k < n; ++k) {
    if (children_[k].empty()) heads_.push_back(k);
    if (parents_[k].empty()) bases_.push_back(k);
  }
  compute_intervals();
  for (auto& entry : ids) entry.second = new_index[entry.second];
  ids_ = std::move(ids);
  for (auto& entry : labels) entry.second = new_index[entry.second];
  labels_ = std::move(labels);
}

void RevisionMap::compute_intervals() {
  const size_t n = revs_.size();
  post_.assign(n, 0);
  low_.assign(n, 0);
  std::vector<char> seen(n, 0);
  // Iterative DFS; each frame is (node, next edge to look at), edges = children then dependents.
  std::vector<std::pair<size_t, size_t>> stack;
  size_t rank = 0;
  for (size_t root = 0; root < n; ++root) {
    if (seen[root]) continue;
    seen[root] = 1;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [node, edge] = stack.back();
      const auto& kids = children_[node];
      const auto& deps = dependents_[node];
      if (edge < kids.size() + deps.size()) {
        size_t next = edge < kids.size() ? kids[edge] : deps[edge - kids.size()];
        ++edge;
        if (!seen[next]) {
          seen[next] = 1;
          stack.emplace_back(next, 0);  // invalidates node/edge references; they are not used again
        }
      } else {
        post_[node] = rank++;
        stack.pop_back();
      }
    }
  }
  for (size_t i = n; i-- > 0;) {  // descendants have larger indices
    size_t low = post_[i];
    for (size_t c : children_[i]) low = std::min(low, low_[c]);
    for (size_t c : dependents_[i]) low = std::min(low, low_[c]);
    low_[i] = low;
  }
}

bool RevisionMap::is_ancestor(size_t ancestor, size_t descendant) const {
  auto may_reach = [&](size_t a) { return low_[a] <= low_[descendant] && post_[descendant] <= post_[a]; };
  if (ancestor == descendant) return true;
  if (ancestor > descendant || !may_reach(ancestor)) return false;
  std::unordered_set<size_t> seen{ancestor};
  std::vector<size_t> stack{ancestor};
  auto visit = [&](size_t x) {
    if (x == descendant) return true;
    if (x < descendant && may_reach(x) && seen.insert(x).second) stack.push_back(x);
    return false;
  };
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    for (size_t c : children_[i])
      if (visit(c)) return true;
    for (size_t c : dependents_[i])
      if (visit(c)) return true;
  }
  return false;
}

std::optional<size_t> RevisionMap::index_of(std::string_view id) const {
  auto it = ids_.find(id);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

size_t RevisionMap::require_index(std::string_view id) const {
  auto i = index_of(id);
  if (!i) throw GraphError(fmt::format("Can't locate revision identified by '{}'", out::escape(id)));
  return *i;
}

std::optional<size_t> RevisionMap::label_index(std::string_view label) const {
  auto it = labels_.find(label);
  if (it == labels_.end()) return std::nullopt;
  return it->second;
}

const Revision* RevisionMap::find(std::string_view id) const {
  auto i = index_of(id);
  return i ? &revs_[*i] : nullptr;
}

const Revision& RevisionMap::get(std::string_view id) const { return revs_[require_index(id)]; }

std::vector<std::string> RevisionMap::heads() const {
  std::vector<std::string> out;
  out.reserve(heads_.size());
  for (size_t i : heads_) out.push_back(revs_[i].id);
  return out;
}

std::vector<std::string> RevisionMap::bases() const {
  std::vector<std::string> out;
  out.reserve(bases_.size());
  for (size_t i : bases_) out.push_back(revs_[i].id);
  return out;
}

std::vector<const Revision*> RevisionMap::ordered() const {
  std::vector<const Revision*> out;
  out.reserve(revs_.size());
  for (const auto& r : revs_) out.push_back(&r);
  return out;
}

size_t RevisionMap::size() const { return revs_.size(); }

std::vector<char> RevisionMap::ancestor_mask(const std::vector<size_t>& start,
                                             bool include_dependencies) const {
  std::vector<char> mask(revs_.size(), 0);
  std::vector<size_t> stack;
  for (size_t s : start)
    if (!mask[s]) {
      mask[s] = 1;
      stack.push_back(s);
    }
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    for (size_t p : parents_[i])
      if (!mask[p]) {
        mask[p] = 1;
        stack.push_back(p);
      }
    if (include_dependencies)
      for (size_t p : deps_[i])
        if (!mask[p]) {
          mask[p] = 1;
          stack.push_back(p);
        }
  }
  return mask;
}

std::vector<char> RevisionMap::descendant_mask(const std::vector<size_t>& start,
                                               bool include_dependents) const {
  std::vector<char> mask(revs_.size(), 0);
  std::vector<size_t> stack;
  for (size_t s : start)
    if (!mask[s]) {
      mask[s] = 1;
      stack.push_back(s);
    }
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    for (size_t c : children_[i])
      if (!mask[c]) {
        mask[c] = 1;
        stack.push_back(c);
      }
    if (include_dependents)
      for (size_t c : dependents_[i])
        if (!mask[c]) {
          mask[c] = 1;
          stack.push_back(c);
        }
  }
  return mask;
}

std::set<std::string> RevisionMap::ancestors_inclusive(const std::vector<std::string>& ids) const {
  std::vector<size_t> start;
  for (const auto& id : ids) start.push_back(require_index(id));
  auto mask = ancestor_mask(start, true);
  std::set<std::string> out;
  for (size_t i = 0; i < revs_.size(); ++i)
    if (mask[i]) out.insert(revs_[i].id);
  return out;
}

std::set<std::string> RevisionMap::descendants_inclusive(const std::vector<std::string>& ids,
                                                         bool include_dependents) const {
  std::vector<size_t> start;
  for (const auto& id : ids) start.push_back(require_index(id));
  auto mask = descendant_mask(start, include_dependents);
  std::set<std::string> out;
  for (size_t i = 0; i < revs_.size(); ++i)
    if (mask[i]) out.insert(revs_[i].id);
  return out;
}

std::vector<std::string> RevisionMap::children(std::string_view id) const {
  std::vector<std::string> out;
  for (size_t c : children_[require_index(id)]) out.push_back(revs_[c].id);
  return out;
}

bool RevisionMap::is_head(std::string_view id) const {
  auto i = index_of(id);
  return i && children_[*i].empty();
}

std::vector<size_t> RevisionMap::prefix_matches(std::string_view prefix) const {
  // A linear scan (~10k short comparisons for a huge map) is cheaper than keeping a sorted index that every
  // construction would have to pay for; prefix lookups happen a handful of times per command.
  std::vector<size_t> out;
  for (size_t i = 0; i < revs_.size(); ++i)
    if (starts_with(revs_[i].id, prefix)) out.push_back(i);
  std::sort(out.begin(), out.end(), [&](size_t a, size_t b) { return revs_[a].id < revs_[b].id; });
  return out;
}

std::string RevisionMap::resolve_branch_ref(std::string_view label, std::string_view rest,
                                            std::string_view whole) const {
  if (label.empty() || rest.empty())
    throw GraphError(
        fmt::format("Invalid revision identifier '{}': expected '<branch>@head' or '<branch>@<revision>'",
                    out::escape(whole)));
  size_t anchor;
  if (auto l = label_index(label)) {
    anchor = *l;
  } else {
    try {
      anchor = require_index(resolve_id(label));
    } catch (const GraphError&) {
      throw GraphError(fmt::format("No such branch '{}' in '{}'", out::escape(label), out::escape(whole)));
    }
  }
  if (rest == "head") {
    auto below = descendant_mask({anchor}, false);
    std::vector<std::string> found;
    for (size_t h : heads_)
      if (below[h]) found.push_back(revs_[h].id);
    if (found.size() != 1) throw GraphError(multiple_heads_message(whole, found));
    return found.front();
  }
  if (rest == "heads" || rest == "base" || rest == "current")
    throw GraphError(
        fmt::format("'{}' does not name a single revision; use '{}@head' or a revision id", whole, label));
  std::string id = resolve_id(rest);
  size_t i = require_index(id);
  auto above = descendant_mask({anchor}, false);
  if (!above[i] && !ancestor_mask({anchor}, false)[i])
    throw GraphError(fmt::format("Revision '{}' is not a member of branch '{}'", id, label));
  return id;
}

std::string RevisionMap::resolve_id(std::string_view ident) const {
  if (ident.empty()) throw GraphError("Empty revision identifier");
  if (auto at = ident.find('@'); at != std::string_view::npos)
    return resolve_branch_ref(ident.substr(0, at), ident.substr(at + 1), ident);
  if (auto i = index_of(ident)) return revs_[*i].id;
  if (auto l = label_index(ident)) return revs_[*l].id;
  if (ident.size() < 4)
    throw GraphError(
        fmt::format("No such revision or branch '{}'; please ensure at least four characters are "
                    "present for partial revision identifier matches",
                    out::escape(ident)));
  auto matches = prefix_matches(ident);
  if (matches.empty()) throw GraphError(fmt::format("No such revision or branch '{}'", out::escape(ident)));
  if (matches.size() > 1) {
    std::vector<std::string> names;
    for (size_t k = 0; k < matches.size() && k < 10; ++k) names.push_back(revs_[matches[k]].id);
    throw GraphError(
        fmt::format("Multiple revisions start with '{}': {}{}", out::escape(ident), quoted_list(names),
                    matches.size() > 10 ? fmt::format(" and {} more", matches.size() - 10) : ""));
  }
  return revs_[matches.front()].id;
}

}  // namespace luamig::graph
