#include "scripts/cache.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace luamig::scripts {
namespace {
const char kMagic[] = "luamig-header-cache 1";
constexpr char kField = '\x1f';
constexpr char kItem = '\x1e';

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

std::vector<std::string> list(const std::string& s) { return s.empty() ? std::vector<std::string>{} : split(s, kItem); }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? std::string(1, kItem) : "") + v[i];
  return out;
}

// Values that could break the line format are never cached (the file is then parsed each time).
bool storable(const std::string& s) {
  return s.find_first_of(std::string("\n\r") + kField + kItem) == std::string::npos;
}
}  // namespace

HeaderCache read_cache(const std::filesystem::path& file) {
  HeaderCache cache;
  std::ifstream in(file, std::ios::binary);
  if (!in) return cache;
  std::string line;
  if (!std::getline(in, line) || line != std::string(kMagic) + " " + LUAMIG_VERSION) return cache;
  while (std::getline(in, line)) {
    auto f = split(line, kField);
    if (f.size() != 12) return {};
    CachedRevision c;
    try {
      c.key.size = std::stoull(f[1]);
      c.key.mtime_ns = std::stoll(f[2]);
      c.revision.line = std::stoi(f[4]);
    } catch (...) {
      return {};
    }
    c.revision.id = f[3];
    c.revision.down_revisions = list(f[5]);
    c.revision.branch_labels = list(f[6]);
    c.revision.depends_on = list(f[7]);
    c.revision.message = f[8];
    c.revision.create_date = f[9];
    c.revision.has_downgrade = f[10] == "1";
    cache.emplace(f[0], std::move(c));
  }
  return cache;
}

void write_cache(const std::filesystem::path& file, const HeaderCache& cache) {
  std::ostringstream out;
  out << kMagic << ' ' << LUAMIG_VERSION << '\n';
  for (const auto& [name, c] : cache) {
    const auto& r = c.revision;
    std::vector<std::string> fields = {name, std::to_string(c.key.size), std::to_string(c.key.mtime_ns), r.id,
                                       std::to_string(r.line), join(r.down_revisions), join(r.branch_labels),
                                       join(r.depends_on), r.message, r.create_date, r.has_downgrade ? "1" : "0", ""};
    bool ok = true;
    for (const auto& x : fields) ok = ok && storable(x);
    if (!ok) continue;
    for (size_t i = 0; i < fields.size(); ++i) out << (i ? std::string(1, kField) : "") << fields[i];
    out << '\n';
  }
  std::filesystem::path tmp = file;
  // Appended piecewise: '"." + std::to_string(...)' trips g++ 12's -Wrestrict false positive.
  tmp += ".";
  tmp += std::to_string(getpid());
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return;
    f << out.str();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}
}  // namespace luamig::scripts
