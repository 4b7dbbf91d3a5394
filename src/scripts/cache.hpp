#pragma once
// A cache of parsed revision headers, so that a command on a long history does not re-read and re-parse every
// file: <script_location>/versions/.luamig-cache, one entry per file keyed on name, size and mtime (ns). An entry
// whose file changed in any of these is ignored and the file parsed again. Writing the cache is best effort
// (read-only project directories simply go without).
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>

#include "graph/revision.hpp"

namespace luamig::scripts {

struct CacheKey {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const CacheKey& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
};

struct CachedRevision {
  CacheKey key;
  graph::Revision revision;   // path is filled in by the loader
};

using HeaderCache = std::unordered_map<std::string, CachedRevision>;   // by file name

// Reads the cache file; an absent, unreadable or foreign-version file yields an empty cache.
HeaderCache read_cache(const std::filesystem::path& file);
// Writes the cache atomically (temporary file + rename); errors are ignored.
void write_cache(const std::filesystem::path& file, const HeaderCache& cache);
}  // namespace luamig::scripts
