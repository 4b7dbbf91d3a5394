#include "history/sum_file.hpp"

#include <fmt/format.h>

#include <sstream>
#include <stdexcept>

#include "history/file_checksums.hpp"
#include "scripts/cache.hpp"
#include "util/sha256.hpp"

namespace luamig::history {
namespace fs = std::filesystem;

namespace {
std::string body_of(const SumFile& s) {
  std::string body;
  for (const auto& [name, sum] : s.files) body += name + " " + sum + "\n";
  return body;
}
}  // namespace

SumFile compute_sum(const fs::path& versions_dir) {
  SumFile s;
  FileChecksumCache cache(versions_dir);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(versions_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 5 || name[0] == '.' || name[0] == '_' || name.substr(name.size() - 4) != ".lua")
      continue;
    if (!entry.is_regular_file()) continue;
    if (auto sums = cache.get(entry.path())) s.files[name] = sums->checksum;
  }
  s.total = sha256_hex(body_of(s));
  return s;
}

std::string render_sum(const SumFile& s) { return "luamig-sum 1 " + s.total + "\n" + body_of(s); }

SumFile parse_sum(const std::string& text) {
  SumFile s;
  std::istringstream in(text);
  std::string line;
  size_t n = 1;
  if (!std::getline(in, line) || line.rfind("luamig-sum 1 ", 0) != 0)
    throw std::runtime_error("line 1: expected \"luamig-sum 1 <total>\" (git merge conflict markers?)");
  s.total = line.substr(13);
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto space = line.find(' ');
    if (space == std::string::npos || line.substr(0, 7) == "<<<<<<<" || line.substr(0, 7) == ">>>>>>>" ||
        line.substr(0, 7) == "=======")
      throw std::runtime_error(fmt::format("line {}: expected \"<file> <checksum>\", got \"{}\"", n, line));
    s.files[line.substr(0, space)] = line.substr(space + 1);
  }
  return s;
}

std::vector<SumMismatch> compare_sums(const SumFile& recorded, const SumFile& current) {
  std::vector<SumMismatch> out;
  for (const auto& [name, sum] : current.files) {
    auto it = recorded.files.find(name);
    if (it == recorded.files.end())
      out.push_back({name, "added"});
    else if (it->second != sum)
      out.push_back({name, "changed"});
  }
  for (const auto& [name, sum] : recorded.files)
    if (!current.files.count(name)) out.push_back({name, "removed"});
  if (out.empty() && recorded.total != sha256_hex(body_of(recorded))) out.push_back({"luamig.sum", "total"});
  return out;
}

bool write_sum_file(const fs::path& script_dir) {
  return scripts::write_atomically(script_dir / "luamig.sum",
                                   render_sum(compute_sum(script_dir / "versions")));
}
}  // namespace luamig::history
