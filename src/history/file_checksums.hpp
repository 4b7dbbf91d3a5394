#pragma once
// The revision files' checksums, cached: <versions>/.luamig-cache-checksums keeps one line per file with the
// size and mtime (ns) it had when hashed, the same key as the header cache (scripts/cache.hpp). A file whose
// size and mtime match is not read again; any other is read and hashed, and the cache rewritten (best effort,
// atomically). A no-op `upgrade head` with validation on therefore costs one stat per applied file.
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "history/checksum.hpp"
#include "scripts/cache.hpp"

namespace luamig::history {

class FileChecksumCache {
 public:
  explicit FileChecksumCache(std::filesystem::path versions_dir);
  ~FileChecksumCache();  // writes the cache when it changed
  FileChecksumCache(const FileChecksumCache&) = delete;
  FileChecksumCache& operator=(const FileChecksumCache&) = delete;
  // The checksums of `path` (a file in the versions directory); nullopt when it cannot be read.
  std::optional<FileChecksums> get(const std::filesystem::path& path);
  // How many files were read and hashed by get() (for tests and benchmarks).
  size_t hashed() const { return hashed_; }
  void save();

 private:
  struct Entry {
    scripts::CacheKey key;
    FileChecksums sums;
  };
  std::filesystem::path dir_;
  std::map<std::string, Entry> entries_;
  bool dirty_ = false;
  size_t hashed_ = 0;
};
}  // namespace luamig::history
