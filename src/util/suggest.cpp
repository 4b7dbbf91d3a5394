#include "util/suggest.hpp"

#include <algorithm>
#include <system_error>

namespace luamig::cli {

size_t edit_distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::optional<std::string> nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;  // farther than this is not a typo
  for (const auto& c : candidates) {
    size_t dist = edit_distance(word, c);
    // A prefix of a longer name ("--verb" for "--verbose") is a good guess too.
    if (word.size() >= 3 && c.size() > word.size() && c.compare(0, word.size(), word) == 0)
      dist = std::min<size_t>(dist, 1);
    if (dist <= best_distance && (!best || dist < best_distance)) {
      best = c;
      best_distance = dist;
    }
  }
  return best;
}

std::optional<std::filesystem::path> find_project_upward(const std::filesystem::path& start) {
  std::error_code ec;
  auto dir = std::filesystem::absolute(start, ec);
  if (ec) return std::nullopt;
  for (;;) {
    auto candidate = dir / "luamig.lua";
    if (std::filesystem::is_regular_file(candidate, ec)) return dir;
    auto parent = dir.parent_path();
    if (parent == dir || parent.empty()) return std::nullopt;
    dir = parent;
  }
}
}  // namespace luamig::cli
