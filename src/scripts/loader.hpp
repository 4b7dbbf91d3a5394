#pragma once
// Turns <script_location>/versions/*.lua into revisions for the graph.
#include <filesystem>
#include <string>
#include <vector>

#include "graph/revision.hpp"

namespace luamig::scripts {

// Reads every *.lua file of `versions_dir` (not recursive; files starting with '.' or '_' are skipped).
// Throws graph::GraphError naming file:line for a syntax error, a missing or non-string `revision`, or a malformed
// header. A missing directory is a GraphError too.
std::vector<graph::Revision> load_revisions(const std::filesystem::path& versions_dir);

// The whole text of a file. Throws RunError when it cannot be read.
std::string read_text(const std::filesystem::path& path);
}  // namespace luamig::scripts
