#pragma once
// Turns <script_location>/versions/*.lua into revisions for the graph.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graph/revision.hpp"

namespace luamig::scripts {

// Reads every *.lua file of `versions_dir` (not recursive; files starting with '.' or '_' are skipped).
// Throws graph::GraphError naming file:line for a syntax error, a missing or non-string `revision`, or a
// malformed header. A missing directory is a GraphError too. When `fingerprint` is given it receives the
// fingerprint of the files read (their names, sizes and mtimes).
std::vector<graph::Revision> load_revisions(const std::filesystem::path& versions_dir,
                                            uint64_t* fingerprint = nullptr);

// The heads of the revision graph, remembered from the last time it was built and validated from exactly the
// files now in `versions_dir` (same names, sizes and mtimes: the header cache's own key); nullopt when any
// file changed since or nothing is remembered. Costs the directory listing with one stat per file and one
// small read: no revision file is opened and no graph is built. Kept in <versions_dir>/.luamig-cache-heads.
std::optional<std::vector<std::string>> remembered_heads(const std::filesystem::path& versions_dir);
// Records `heads` for the files whose fingerprint load_revisions gave. REQUIRES: the graph built from those
// files passed RevisionMap's validation. Writes only when the record changes; best effort, like the header
// cache.
void remember_heads(const std::filesystem::path& versions_dir, uint64_t fingerprint,
                    const std::vector<std::string>& heads);

// The whole text of a file. Throws RunError when it cannot be read.
std::string read_text(const std::filesystem::path& path);
// The same into `out`; false when the file cannot be opened or read.
bool try_read_text(const std::filesystem::path& path, std::string& out);
}  // namespace luamig::scripts
