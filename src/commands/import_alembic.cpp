// `luamig import-alembic DIR`: converts an Alembic versions/ directory into luamig revision files.
#include "commands/import_alembic.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "importer/lua_text.hpp"
#include "importer/translator.hpp"
#include "runner/project.hpp"
#include "scripts/slug.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw UsageError(fmt::format("{}: cannot read the file", p.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Alembic reads every *.py of the directory except __init__.py and editor lock files (.#name.py).
std::vector<fs::path> revision_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".py" || name == "__init__.py" || name.rfind(".#", 0) == 0) continue;
    out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string line_ranges(const std::vector<importer::ManualPart>& parts) {
  std::string out;
  for (const auto& p : parts) {
    std::string range =
        p.end_line > p.line ? fmt::format("{}-{}", p.line, p.end_line) : std::to_string(p.line);
    out += (out.empty() ? "" : ", ") + fmt::format("line {} ({})", range, p.what);
  }
  return out;
}

}  // namespace

ImportSummary import_alembic(const config::GlobalOptions& opts, const ImportAlembicOptions& io) {
  fs::path source(io.versions_dir);
  if (!fs::is_directory(source)) throw UsageError(fmt::format("{}: not a directory", io.versions_dir));
  auto project = runner::Project::open(opts);
  fs::path target = project.cfg.versions_dir();

  struct Item {
    fs::path from, to;
    importer::Translation tr;
  };
  std::vector<Item> items;
  std::vector<std::string> failures;
  std::map<std::string, fs::path> seen;
  for (const auto& file : revision_files(source)) {
    try {
      Item it{file, {}, importer::translate_revision(read_file(file), file.filename().string())};
      if (auto [pos, fresh] = seen.emplace(it.tr.revision, file); !fresh) {
        failures.push_back(fmt::format("{}: revision '{}' is also defined in {}", file.string(),
                                       it.tr.revision, pos->second.string()));
        continue;
      }
      it.to = target / (it.tr.revision + "_" + scripts::message_slug(it.tr.message) + ".lua");
      items.push_back(std::move(it));
    } catch (const importer::ImportError& e) {
      failures.push_back(fmt::format("{}:{}: {}", file.string(), e.line, e.message));
    }
  }
  if (!failures.empty()) {
    std::string msg = "cannot import " + source.string() + " (nothing was written):";
    for (const auto& f : failures) msg += "\n  " + f;
    throw UsageError(msg);
  }
  if (items.empty()) throw UsageError(fmt::format("{}: no Alembic revision files (*.py)", source.string()));

  std::vector<std::string> existing;
  for (const auto& it : items)
    if (fs::exists(it.to)) existing.push_back(it.to.string());
  if (!existing.empty() && !io.force && !io.dry_run) {
    std::string msg = fmt::format("{} file(s) already exist (use --force to overwrite; nothing was written):",
                                  existing.size());
    for (const auto& e : existing) msg += "\n  " + e;
    throw UsageError(msg);
  }

  ImportSummary summary;
  if (!io.dry_run) fs::create_directories(target);
  for (const auto& it : items) {
    fs::path shown = fs::proximate(it.to);
    if (io.dry_run) {
      out::data(fmt::format("Would write {}{}", shown.string(), fs::exists(it.to) ? " (exists)" : ""));
    } else {
      std::ofstream out(it.to, std::ios::binary | std::ios::trunc);
      out << it.tr.lua;
      if (!out) throw RunError(fmt::format("{}: cannot write the file", it.to.string()));
      out::line(fmt::format("Wrote {}", shown.string()));
    }
    ++summary.total;
    if (it.tr.manual.empty())
      ++summary.translated;
    else
      summary.manual.push_back({it.from.filename().string(), shown.string(), it.tr.manual});
  }
  out::data(fmt::format("{} of {} revision files fully translated{}", summary.translated, summary.total,
                        io.dry_run ? " (dry run: nothing written)" : ""));
  if (!summary.manual.empty()) {
    out::data(fmt::format("{} file(s) need a manual port where they call error(\"manual port needed: ...\"):",
                          summary.manual.size()));
    for (const auto& m : summary.manual)
      out::data(fmt::format("  {} -> {}: {}", m.source, m.written, line_ranges(m.parts)));
  }
  return summary;
}

}  // namespace luamig::commands
