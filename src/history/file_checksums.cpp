#include "history/file_checksums.hpp"

#include <sys/stat.h>

#include <charconv>
#include <string_view>

#include "scripts/loader.hpp"

namespace luamig::history {
namespace {
const char kHeader[] = "luamig-checksums 1";
const char kFile[] = ".luamig-cache-checksums";  // matched by the versions .gitignore (.luamig-cache*)
}  // namespace

FileChecksumCache::FileChecksumCache(std::filesystem::path versions_dir) : dir_(std::move(versions_dir)) {
  std::string text;
  if (!scripts::try_read_text(dir_ / kFile, text)) return;
  // Split by hand: istream extraction costs more than the rest of a no-op upgrade's validation.
  std::string_view rest = text;
  auto next_line = [&]() {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    return line;
  };
  if (next_line() != kHeader) return;
  while (!rest.empty()) {
    std::string_view line = next_line();
    std::string_view f[5];
    size_t n = 0;
    while (n < 5 && !line.empty()) {
      auto sp = line.find(' ');
      f[n++] = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    }
    if (n != 5 || !line.empty() || f[3].size() != 64 || f[4].size() != 64) continue;
    Entry e;
    auto size = std::from_chars(f[1].data(), f[1].data() + f[1].size(), e.key.size);
    auto mtime = std::from_chars(f[2].data(), f[2].data() + f[2].size(), e.key.mtime_ns);
    if (size.ec != std::errc() || mtime.ec != std::errc()) continue;
    e.sums = {std::string(f[3]), std::string(f[4])};
    entries_.emplace(std::string(f[0]), std::move(e));
  }
}

FileChecksumCache::~FileChecksumCache() { save(); }

std::optional<FileChecksums> FileChecksumCache::get(const std::filesystem::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  scripts::CacheKey key{static_cast<uint64_t>(st.st_size),
                        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  const std::string name = path.filename().string();
  const bool cacheable = path.parent_path() == dir_ && name.find_first_of(" \t\n") == std::string::npos;
  if (cacheable)
    if (auto it = entries_.find(name); it != entries_.end() && it->second.key == key) return it->second.sums;
  std::string text;
  if (!scripts::try_read_text(path, text)) return std::nullopt;
  ++hashed_;
  auto sums = checksums_of(text);
  if (cacheable) {
    entries_[name] = {key, sums};
    dirty_ = true;
  }
  return sums;
}

void FileChecksumCache::save() {
  if (!dirty_) return;
  dirty_ = false;
  std::string text = std::string(kHeader) + "\n";
  for (const auto& [name, e] : entries_)
    text += name + " " + std::to_string(e.key.size) + " " + std::to_string(e.key.mtime_ns) + " " +
            e.sums.checksum + " " + e.sums.normalised + "\n";
  scripts::write_atomically(dir_ / kFile, text);
}
}  // namespace luamig::history
