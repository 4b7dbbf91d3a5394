#include "history/file_checksums.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "scripts/loader.hpp"

namespace luamig::history {
namespace {
const char kHeader[] = "luamig-checksums 1";
const char kFile[] = ".luamig-cache-checksums";  // matched by the versions .gitignore (.luamig-cache*)
}  // namespace

FileChecksumCache::FileChecksumCache(std::filesystem::path versions_dir) : dir_(std::move(versions_dir)) {
  std::string text;
  if (!scripts::try_read_text(dir_ / kFile, text)) return;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) return;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, checksum, normalised;
    Entry e;
    if (!(fields >> name >> e.key.size >> e.key.mtime_ns >> checksum >> normalised)) continue;
    if (checksum.size() != 64 || normalised.size() != 64) continue;
    e.sums = {checksum, normalised};
    entries_[name] = e;
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
