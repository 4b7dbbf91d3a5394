#pragma once
// migrations/luamig.sum: the merge-time conflict file. Format (text, LF line endings):
//   line 1:  "luamig-sum 1 <total>"
//   then one line per revision file, sorted by file name: "<file name> <checksum>" (the file's checksum as
//   in history/checksum.hpp, 64 hex digits)
// <total> = SHA-256 of every line after the first, each followed by "\n". Any change of any file changes line
// 1, so two branches that each add or edit a revision conflict there when merged: one of them must rebase and
// run `luamig sum` (or `revision`/`merge`, which rewrite the file) after checking the graph.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace luamig::history {

struct SumFile {
  std::string total;
  std::map<std::string, std::string> files;  // file name -> checksum
};

// The sum of the versions directory's *.lua files as they are now (same selection as the loader).
SumFile compute_sum(const std::filesystem::path& versions_dir);
std::string render_sum(const SumFile& s);
// Throws std::runtime_error naming the line for a malformed file.
SumFile parse_sum(const std::string& text);

struct SumMismatch {
  std::string file;
  std::string problem;  // "changed", "added", "removed", "total"
};
// Differences between the recorded and the current sum; empty when they agree.
std::vector<SumMismatch> compare_sums(const SumFile& recorded, const SumFile& current);
// Writes <script_dir>/luamig.sum for the current files (atomically). Returns false on a write error.
bool write_sum_file(const std::filesystem::path& script_dir);
}  // namespace luamig::history
