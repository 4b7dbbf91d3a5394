#pragma once
// A cache of parsed revision headers, so that a command on a long history does not re-read and re-parse every
// file: <script_location>/versions/.luamig-cache, one entry per file keyed on name, size and mtime (ns). An
// entry whose file changed in any of these is ignored and the file parsed again. Writing the cache is best
// effort (read-only project directories simply go without).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "graph/revision.hpp"

namespace luamig::scripts {

struct CacheKey {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const CacheKey& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
};

struct CachedRevision {
  std::string name;  // file name inside the versions directory
  CacheKey key;
  graph::Revision revision;  // path is not stored: the loader fills it in
};

// The cache file as read. Entries stay views into the file's text until the loader asks for one's revision,
// so reading the cache of a long history allocates almost nothing.
class HeaderCache {
 public:
  struct Entry {
    std::string_view name;
    CacheKey key;
    std::string_view
        fields[9];  // id, line, down_revisions, branch_labels, depends_on, message, date, downgrade, ""
  };
  // Reads the file. An absent, unreadable, malformed or foreign-version file yields an empty cache.
  explicit HeaderCache(const std::filesystem::path& file);
  HeaderCache(const HeaderCache&) = delete;
  HeaderCache& operator=(const HeaderCache&) = delete;

  // Sorted by file name, names unique.
  const std::vector<Entry>& entries() const { return entries_; }
  // The revision an entry holds (path left empty).
  static graph::Revision revision(const Entry& e);

 private:
  bool parse();  // false: distrust the whole file
  std::string text_;
  std::vector<Entry> entries_;
};

// True when the revision's header can be stored (no field holds a line break or the format's separators).
// Other revisions are left out of the cache and parsed on every run.
bool cacheable(const graph::Revision& r);

// Writes `text` to a temporary file beside `file`, then renames it over `file`: readers see the old or the
// new content, never a mix. False (and nothing left behind) on any error.
bool write_atomically(const std::filesystem::path& file, const std::string& text);

// Writes the cacheable entries atomically (temporary file + rename), in name order; errors are ignored.
void write_cache(const std::filesystem::path& file, const std::vector<CachedRevision>& entries);
}  // namespace luamig::scripts
