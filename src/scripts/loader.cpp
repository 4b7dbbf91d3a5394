#include "scripts/loader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "graph/revision_map.hpp"
#include "luahost/engine.hpp"
#include "scripts/header_scan.hpp"
#include "util/error.hpp"

namespace luamig::scripts {
namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RunError(fmt::format("{}: cannot read the file", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
// Headers that are not plain literals: evaluate the file's top level (functions are defined, not called).
void evaluate_headers(const std::string& path, const std::string& source, Header& h) {
  luahost::Value g;
  try {
    g = luahost::eval_config(path, source);
  } catch (const luahost::ScriptError& e) {
    throw graph::GraphError(fmt::format("{}:{}: cannot read the revision header: {}", path, e.failure.line,
                                        e.failure.message));
  }
  h.revision.reset();
  h.revision_not_string = false;
  if (const auto* v = g.get("revision")) {
    if (v->is_string()) h.revision = v->str();
    else if (!v->is_nil()) h.revision_not_string = true;
  }
  h.down_revisions.clear();
  if (const auto* v = g.get("down_revision")) h.down_revisions = v->string_list();
  if (const auto* v = g.get("branch_labels")) h.branch_labels = v->string_list();
  if (const auto* v = g.get("depends_on")) h.depends_on = v->string_list();
  if (const auto* v = g.get("downgrade")) h.has_downgrade = !v->is_nil();
}
}  // namespace

std::vector<graph::Revision> load_revisions(const fs::path& versions_dir) {
  std::error_code ec;
  if (!fs::is_directory(versions_dir, ec))
    throw graph::GraphError(fmt::format("{}: versions directory not found (is script_location right? run `luamig "
                                        "init` to create a project)",
                                        versions_dir.string()));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(versions_dir)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() != ".lua" || name.empty() || name[0] == '.' || name[0] == '_') continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<graph::Revision> out;
  out.reserve(files.size());
  for (const auto& file : files) {
    std::string path = file.string();
    std::string source = read_text(file);
    try {
      luahost::check_syntax(path, source);
    } catch (const luahost::ScriptError& e) {
      throw graph::GraphError(fmt::format("{}:{}: {}", path, e.failure.line, e.failure.message));
    }
    Header h = scan_header(source);
    if (!h.complete) evaluate_headers(path, source, h);
    if (h.revision_not_string)
      throw graph::GraphError(fmt::format("{}:{}: `revision` must be a string", path, h.revision_line));
    if (!h.revision)
      throw graph::GraphError(fmt::format("{}:1: no `revision = \"...\"` header (every migration file sets its "
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
    out.push_back(std::move(r));
  }
  return out;
}
}  // namespace luamig::scripts
