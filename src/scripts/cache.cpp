#include "scripts/cache.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <numeric>
#include <string_view>

#include "scripts/loader.hpp"

namespace luamig::scripts {
namespace {
// One line per file: 11 fields separated by kField, plus an empty twelfth (a trailing separator). Lists
// inside a field are separated by kItem. Lines are written in name order; a file in another order is still
// read (and sorted).
// 2: headers are type-checked; a cache written before could hold a file whose bad header was read as a base.
const char kMagic[] = "luamig-header-cache 2";
constexpr char kField = '\x1f';
constexpr char kItem = '\x1e';
constexpr size_t kFields = 12;

std::vector<std::string> list(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (;;) {
    size_t p = s.find(kItem);
    out.emplace_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

template <class T>
bool to_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Values that could break the line format are never cached (the file is then parsed each time).
bool storable(std::string_view s) {
  for (char c : s)  // all four are control characters: one comparison for almost every byte
    if (static_cast<unsigned char>(c) < 0x20 && (c == '\n' || c == '\r' || c == kField || c == kItem))
      return false;
  return true;
}

bool storable(const std::vector<std::string>& v) {
  return std::all_of(v.begin(), v.end(), [](const std::string& s) { return storable(std::string_view(s)); });
}

void append_list(std::string& out, const std::vector<std::string>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += kItem;
    out += v[i];
  }
}
}  // namespace

HeaderCache::HeaderCache(const std::filesystem::path& file) {
  if (!try_read_text(file, text_) || !parse()) entries_.clear();
}

bool HeaderCache::parse() {
  std::string_view rest(text_);
  const std::string header = std::string(kMagic) + " " + LUAMIG_VERSION + "\n";
  if (rest.substr(0, header.size()) != header) return false;
  rest.remove_prefix(header.size());
  entries_.reserve(rest.size() / 80);  // lines are ~100 bytes or more
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    if (eol == std::string_view::npos) return false;  // a truncated last line
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 1);
    std::string_view f[kFields];
    size_t n = 0;
    for (;;) {
      if (n == kFields) return false;
      size_t p = line.find(kField);
      f[n++] = line.substr(0, p);
      if (p == std::string_view::npos) break;
      line.remove_prefix(p + 1);
    }
    Entry e;
    int line_no = 0;
    if (n != kFields || !to_number(f[1], e.key.size) || !to_number(f[2], e.key.mtime_ns) ||
        !to_number(f[4], line_no))
      return false;
    e.name = f[0];
    for (size_t i = 0; i < 9; ++i) e.fields[i] = f[3 + i];
    entries_.push_back(e);
  }
  auto by_name = [](const Entry& a, const Entry& b) { return a.name < b.name; };
  if (!std::is_sorted(entries_.begin(), entries_.end(), by_name))
    std::sort(entries_.begin(), entries_.end(), by_name);
  auto same_name = [](const Entry& a, const Entry& b) { return a.name == b.name; };
  return std::adjacent_find(entries_.begin(), entries_.end(), same_name) == entries_.end();
}

graph::Revision HeaderCache::revision(const Entry& e) {
  graph::Revision r;
  r.id = e.fields[0];
  to_number(e.fields[1], r.line);  // checked when the file was read
  r.down_revisions = list(e.fields[2]);
  r.branch_labels = list(e.fields[3]);
  r.depends_on = list(e.fields[4]);
  r.message = e.fields[5];
  r.create_date = e.fields[6];
  r.has_downgrade = e.fields[7] == "1";
  return r;
}

bool cacheable(const graph::Revision& r) {
  return storable(r.id) && storable(r.down_revisions) && storable(r.branch_labels) &&
         storable(r.depends_on) && storable(r.message) && storable(r.create_date);
}

void write_cache(const std::filesystem::path& file, const std::vector<CachedRevision>& entries) {
  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return entries[a].name < entries[b].name; });
  std::string out = std::string(kMagic) + " " + LUAMIG_VERSION + "\n";
  out.reserve(entries.size() * 128);
  for (size_t i : order) {
    const auto& c = entries[i];
    const auto& r = c.revision;
    if (!storable(c.name) || !cacheable(r)) continue;
    auto field = [&](std::string_view v) {
      out += v;
      out += kField;
    };
    field(c.name);
    field(std::to_string(c.key.size));
    field(std::to_string(c.key.mtime_ns));
    field(r.id);
    field(std::to_string(r.line));
    append_list(out, r.down_revisions);
    out += kField;
    append_list(out, r.branch_labels);
    out += kField;
    append_list(out, r.depends_on);
    out += kField;
    field(r.message);
    field(r.create_date);
    field(r.has_downgrade ? "1" : "0");
    out += '\n';
  }
  write_atomically(file, out);
}

bool write_atomically(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::path tmp = file;
  tmp += fmt::format(".{}.tmp", getpid());
  std::error_code ec;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return false;
    f << text;
    f.close();
    if (!f) {
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}
}  // namespace luamig::scripts
