#include "scripts/loader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "graph/revision_map.hpp"
#include "luahost/engine.hpp"
#include "scripts/cache.hpp"
#include "scripts/header_check.hpp"
#include "scripts/header_scan.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::scripts {
namespace fs = std::filesystem;

bool try_read_text(const fs::path& path, std::string& out) {
  // open/fstat/read rather than iostreams: a cold load reads every revision file, a run every file it
  // applies.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0;
  if (ok) {
    out.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    for (;;) {
      if (got == out.size()) out.resize(got + 4096);  // grew since fstat: read on to the end
      ssize_t n = ::read(fd, out.data() + got, out.size() - got);
      if (n > 0) {
        got += static_cast<size_t>(n);
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        ok = false;
        break;
      }
    }
    out.resize(got);
  }
  ::close(fd);
  return ok;
}

std::string read_text(const fs::path& path) {
  std::string text;
  if (!try_read_text(path, text)) throw RunError(fmt::format("{}: cannot read the file", path.string()));
  return text;
}

namespace {
// Headers that are not plain literals: evaluate the file's top level (functions are defined, not called), in
// the migrations' sandbox and limits.
void evaluate_headers(const std::string& path, const std::string& source, Header& h) {
  luahost::Value g;
  try {
    g = luahost::eval_revision_header(path, source);
  } catch (const luahost::ScriptError& e) {
    throw graph::GraphError(
        fmt::format("{}:{}: cannot read the revision header: {}", path, e.failure.line, e.failure.message));
  }
  // Each header's type is checked before it is used: `down_revision = 2222` must not make the file a new
  // base.
  for (const char* key : {"revision", "down_revision", "branch_labels", "depends_on"}) {
    const luahost::Value* v = g.get(key);
    if (!v && std::string_view(key) == "revision") continue;  // reported below as a missing header
    std::string why = header_value_error(key, v ? *v : luahost::Value{});
    if (!why.empty()) {
      int line = assignment_line(source, key);
      throw graph::GraphError(fmt::format("{}:{}: `{}` {}", path, line ? line : 1, key, why));
    }
  }
  h.revision.reset();
  h.revision_not_string = false;
  if (const auto* v = g.get("revision")) {
    if (v->is_string())
      h.revision = v->str();
    else if (!v->is_nil())
      h.revision_not_string = true;
  }
  h.down_revisions.clear();
  if (const auto* v = g.get("down_revision")) h.down_revisions = v->string_list();
  if (const auto* v = g.get("branch_labels")) h.branch_labels = v->string_list();
  if (const auto* v = g.get("depends_on")) h.depends_on = v->string_list();
  if (const auto* v = g.get("downgrade")) h.has_downgrade = !v->is_nil();
}
}  // namespace

namespace {
// Parses one file's header (syntax check included); throws GraphError naming file:line.
// *warned: the file drew a warning (it is then kept out of the header cache, so that every run warns again).
graph::Revision parse_file(const std::string& path, bool* warned = nullptr) {
  std::string source = read_text(path);
  try {
    luahost::check_syntax(path, source);
  } catch (const luahost::ScriptError& e) {
    throw graph::GraphError(fmt::format("{}:{}: {}", path, e.failure.line, e.failure.message));
  }
  Header h = scan_header(source);
  if (!h.complete) evaluate_headers(path, source, h);
  // Literal headers are strings by construction; an empty one is still wrong.
  auto check_items = [&](const char* key, const std::vector<std::string>& items) {
    for (const auto& item : items)
      if (item.empty())
        throw graph::GraphError(
            fmt::format("{}:{}: `{}` must be a string, a list of strings or nil (got an empty "
                        "string)",
                        path, std::max(1, assignment_line(source, key)), key));
  };
  check_items("down_revision", h.down_revisions);
  check_items("branch_labels", h.branch_labels);
  check_items("depends_on", h.depends_on);
  if (h.revision && h.revision->empty())
    throw graph::GraphError(fmt::format("{}:{}: `revision` must not be empty", path, h.revision_line));
  auto misspelled = misspelled_headers(source);
  if (warned) *warned = !misspelled.empty();
  for (const auto& m : misspelled)
    out::warn(
        fmt::format("{}:{}: `{}` is not a revision header; did you mean `{}`? (the file's {} is not set)",
                    path, m.line, m.name, m.suggestion, m.suggestion));
  if (h.revision_not_string)
    throw graph::GraphError(fmt::format("{}:{}: `revision` must be a string", path, h.revision_line));
  if (!h.revision)
    throw graph::GraphError(
        fmt::format("{}:1: no `revision = \"...\"` header (every migration file sets its "
                    "revision id)",
                    path));
  graph::Revision r;
  r.id = *h.revision;
  r.down_revisions = h.down_revisions;
  r.branch_labels = h.branch_labels;
  r.depends_on = h.depends_on;
  r.message = h.message;
  r.path = path;
  r.line = h.revision_line;
  r.create_date = h.create_date;
  r.has_downgrade = h.has_downgrade || !h.complete;
  return r;
}
}  // namespace

namespace {
struct Entry {
  std::string name;
  CacheKey key;
};

// splitmix64's finaliser: spreads FNV-1a's weak high bits before the per-file hashes are summed.
uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t file_hash(std::string_view name, const CacheKey& key) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&h](const void* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 0x100000001b3ULL;
  };
  feed(name.data(), name.size());
  feed(&key.size, sizeof key.size);
  feed(&key.mtime_ns, sizeof key.mtime_ns);
  return mix(h);
}

// The fingerprint of versions_dir's migration files: the sum of one hash per (name, size, mtime), so that it
// does not depend on the order readdir returns them in; the files themselves (unsorted) into *files when
// given. Every file is stat'ed on every run: an edit changes the file's size or mtime but not the
// directory's.
uint64_t list_files(const fs::path& versions_dir, std::vector<Entry>* files) {
  DIR* dir = opendir(versions_dir.c_str());
  if (!dir)
    throw graph::GraphError(
        fmt::format("{}: versions directory not found (is script_location right? run `luamig "
                    "init` to create a project)",
                    versions_dir.string()));
  uint64_t fingerprint = 0, count = 0;
  while (dirent* d = readdir(dir)) {
    std::string_view name = d->d_name;
    if (name.size() < 5 || name[0] == '.' || name[0] == '_' || name.substr(name.size() - 4) != ".lua")
      continue;
    struct stat st;
    if (fstatat(dirfd(dir), d->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
    CacheKey key{static_cast<uint64_t>(st.st_size),
                 static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    fingerprint += file_hash(name, key);
    ++count;
    if (files) files->push_back({std::string(name), key});
  }
  closedir(dir);
  return fingerprint + mix(count);
}

const char kHeadsMagic[] = "luamig-graph-heads 1";

fs::path heads_file(const fs::path& versions_dir) { return versions_dir / ".luamig-cache-heads"; }

std::string heads_text(uint64_t fingerprint, const std::vector<std::string>& heads) {
  std::string text = fmt::format("{} {}\n{:016x}\n", kHeadsMagic, LUAMIG_VERSION, fingerprint);
  for (const auto& h : heads) text += h + "\n";
  return text;
}

bool read_small_file(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}
}  // namespace

std::optional<std::vector<std::string>> remembered_heads(const fs::path& versions_dir) {
  std::string text;
  if (!read_small_file(heads_file(versions_dir), text)) return std::nullopt;
  const uint64_t fingerprint = list_files(versions_dir, nullptr);
  std::vector<std::string> lines;
  for (size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(text.substr(start, nl - start));
  if (lines.size() < 2 || lines[0] != fmt::format("{} {}", kHeadsMagic, LUAMIG_VERSION) ||
      lines[1] != fmt::format("{:016x}", fingerprint) || text.back() != '\n')
    return std::nullopt;
  return std::vector<std::string>(lines.begin() + 2, lines.end());
}

void remember_heads(const fs::path& versions_dir, uint64_t fingerprint,
                    const std::vector<std::string>& heads) {
  const fs::path file = heads_file(versions_dir);
  std::string text = heads_text(fingerprint, heads), existing;
  if (read_small_file(file, existing) && existing == text) return;
  write_atomically(file, text);
}

std::vector<graph::Revision> load_revisions(const fs::path& versions_dir, uint64_t* fingerprint_out) {
  std::vector<Entry> files;
  const uint64_t fingerprint = list_files(versions_dir, &files);
  if (fingerprint_out) *fingerprint_out = fingerprint;
  // Sorting small indices rather than the entries themselves: with 10,000 files the string moves dominated.
  std::vector<uint32_t> order(files.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return files[a].name < files[b].name; });

  // Both lists are in name order: one merge pass pairs each file with its cache entry.
  const fs::path cache_file = versions_dir / ".luamig-cache";
  const HeaderCache cache(cache_file);
  auto cached = cache.entries().begin();
  const auto cache_end = cache.entries().end();
  bool changed = false;  // the cache file no longer matches the directory: rewrite it
  size_t used = 0;
  std::vector<size_t> warned_files;  // indices into out
  std::vector<graph::Revision> out;
  out.reserve(files.size());
  const std::string dir_prefix = (versions_dir / "").string();
  for (uint32_t i : order) {
    const Entry& f = files[i];
    std::string path;
    path.reserve(dir_prefix.size() + f.name.size());
    path.append(dir_prefix).append(f.name);
    while (cached != cache_end && cached->name < f.name) ++cached;
    if (cached != cache_end && cached->name == f.name && cached->key == f.key) {
      out.push_back(HeaderCache::revision(*cached));
      out.back().path = std::move(path);
      ++cached;
      ++used;
      continue;
    }
    bool warned = false;
    out.push_back(parse_file(path, &warned));
    if (warned) warned_files.push_back(out.size() - 1);
    // A header the format cannot store (or that drew a warning) is parsed on every run; it is no reason to
    // rewrite the cache each time.
    if (cacheable(out.back()) && !warned) changed = true;
  }
  if (used != cache.entries().size()) changed = true;  // entries of removed or edited files
  if (changed) {
    std::vector<CachedRevision> fresh;
    fresh.reserve(out.size());
    for (size_t k = 0; k < out.size(); ++k)
      if (!std::binary_search(warned_files.begin(), warned_files.end(), k))
        fresh.push_back({files[order[k]].name, files[order[k]].key, out[k]});
    write_cache(cache_file, fresh);
  }
  return out;
}
}  // namespace luamig::scripts
