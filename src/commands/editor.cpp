// editor-support: the Lua type annotations shipped in the binary, and a .luarc.json that points LuaLS at
// them. list-names: the names shell completion offers (revision ids and branch labels, environments).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "commands/commands.hpp"
#include "luahost/embedded.hpp"
#include "runner/project.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace fs = std::filesystem;

const char kAnnotationsDir[] = ".luamig/types";

void editor_support(const std::string& directory) {
  fs::path dir(directory.empty() ? "." : directory);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw UsageError(fmt::format("{}: not a directory", dir.string()));
  const auto* meta = embedded::find("lua/annotations/luamig.lua");
  if (!meta) throw Error(FailureKind::Internal, "the type annotations are missing from this build");
  fs::path types = dir / kAnnotationsDir;
  fs::create_directories(types, ec);
  if (ec) throw Error(FailureKind::Internal, fmt::format("{}: {}", types.string(), ec.message()));
  auto write = [](const fs::path& p, std::string_view text) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!f) throw Error(FailureKind::Internal, fmt::format("{}: cannot write", p.string()));
  };
  write(types / "luamig.lua", meta->content);
  out::line(fmt::format("Wrote {}", (types / "luamig.lua").string()));
  fs::path luarc = dir / ".luarc.json";
  if (fs::exists(luarc, ec)) {
    out::line(fmt::format("{} exists: left unchanged (add \"{}\" to workspace.library)", luarc.string(),
                          kAnnotationsDir));
    return;
  }
  write(luarc, fmt::format(R"({{
  "$schema": "https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json",
  "runtime.version": "LuaJIT",
  "workspace.library": ["{}"],
  "workspace.checkThirdParty": false,
  "diagnostics.globals": ["op", "context", "log", "revision", "down_revision", "branch_labels", "depends_on",
                          "transactional", "upgrade", "downgrade"]
}}
)",
                           kAnnotationsDir));
  out::line(fmt::format("Wrote {}", luarc.string()));
}

void list_names(const config::GlobalOptions& opts, const std::string& what) {
  auto project = runner::Project::open(opts);
  if (what == "environments") {
    for (const auto& e : project.cfg.environments) out::data(out::escape(e));
    return;
  }
  if (what != "revisions") throw UsageError("list-names: expected revisions or environments");
  const auto& map = project.load_graph();
  std::vector<std::string> labels;
  for (const auto* r : map.ordered()) {
    out::data(out::escape(r->id));
    for (const auto& l : r->branch_labels) labels.push_back(l);
  }
  for (const auto& l : labels) out::data(out::escape(l));
}
}  // namespace luamig::commands
