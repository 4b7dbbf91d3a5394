// Verbs that write files: init, revision, merge.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "commands/commands.hpp"
#include "graph/revision.hpp"
#include "graph/target.hpp"
#include "luahost/embedded.hpp"
#include "runner/project.hpp"
#include "scripts/loader.hpp"
#include "scripts/slug.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace fs = std::filesystem;
namespace {

std::string lua_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

std::string lua_list(const std::vector<std::string>& v) {
  if (v.empty()) return "nil";
  if (v.size() == 1) return lua_string(v[0]);
  std::string out = "{ ";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + lua_string(v[i]);
  return out + " }";
}

std::string new_rev_id() {
  std::random_device rd;
  std::mt19937_64 gen(rd() ^
                      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return fmt::format("{:012x}", gen() & 0xffffffffffffULL);
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string substitute(std::string text, const std::vector<std::pair<std::string, std::string>>& vars) {
  for (const auto& [k, v] : vars) {
    std::string key = "${" + k + "}";
    for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + v.size()))
      text.replace(pos, key.size(), v);
  }
  return text;
}

void write_new_file(const fs::path& path, const std::string& content) {
  if (fs::exists(path)) throw UsageError(fmt::format("{} already exists", path.string()));
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw RunError(fmt::format("{}: cannot write the file", path.string()));
}

// Writes a new revision file from the project's template (<script_location>/script.lua.tmpl) or the built-in
// one.
void generate(runner::Project& project, const std::string& message, std::string rev_id,
              const std::vector<std::string>& down, const std::vector<std::string>& labels,
              const std::vector<std::string>& depends_on) {
  if (rev_id.empty()) rev_id = new_rev_id();
  if (auto problem = graph::revision_id_problem(rev_id); !problem.empty())
    throw UsageError(fmt::format("--rev-id '{}': {}", rev_id, problem));
  const auto& map = project.load_graph();
  if (map.find(rev_id))
    throw UsageError(fmt::format("revision id '{}' already exists in {}", rev_id, map.get(rev_id).path));
  fs::path tmpl_path = project.cfg.root / project.cfg.script_location / "script.lua.tmpl";
  std::string tmpl;
  if (fs::exists(tmpl_path))
    tmpl = scripts::read_text(tmpl_path);
  else
    tmpl = std::string(embedded::find("lua/templates/migration.lua")->content);
  std::string revises;
  for (size_t i = 0; i < down.size(); ++i) revises += (i ? ", " : "") + down[i];
  std::string text = substitute(
      tmpl, {
                {"message", message},
                {"revision", rev_id},
                {"revises", revises},
                {"create_date", now_text()},
                {"revision_lua", lua_string(rev_id)},
                {"down_revision_lua", lua_list(down)},
                {"branch_labels_lua", lua_list(labels)},
                {"depends_on_lua", lua_list(depends_on)},
                {"upgrade_body", "  -- op.add_column(\"table\", { \"column\", \"text\", nullable = true })"},
                {"downgrade_body", "  -- op.drop_column(\"table\", \"column\")"},
            });
  // <rev>_<slug>.lua (no "_" when there is no message). Appended piecewise: g++ 12 warns (-Wrestrict, a false
  // positive) on "_" + std::string temporaries.
  std::string name = rev_id;
  if (std::string s = scripts::message_slug(message); !s.empty()) name.append("_").append(s);
  name.append(".lua");
  fs::path path = project.cfg.versions_dir() / name;
  fs::path shown = fs::path(project.cfg.script_location) / "versions" / name;
  write_new_file(path, text);
  out::line(fmt::format("Generating {} ... done", shown.string()));
  update_sum_file(project.cfg);  // luamig.sum follows every new file (see history/sum_file.hpp)
}
}  // namespace

void init(const config::GlobalOptions&, const std::string& directory) {
  fs::path dir(directory);
  if (fs::exists(dir / "luamig.lua"))
    throw UsageError(fmt::format("{} already exists", (dir / "luamig.lua").string()));
  if (fs::exists(dir / "migrations" / "versions") && !fs::is_empty(dir / "migrations" / "versions"))
    throw UsageError(fmt::format("{} is not empty", (dir / "migrations" / "versions").string()));
  write_new_file(dir / "luamig.lua", std::string(embedded::find("lua/templates/luamig.lua")->content));
  fs::create_directories(dir / "migrations" / "versions");
  write_new_file(dir / "migrations" / "versions" / ".gitignore",
                 "# luamig's caches: parsed revision headers, the graph's heads\n.luamig-cache*\n");
  fs::create_directories(dir / "migrations" / "lib");
  write_new_file(dir / "migrations" / "script.lua.tmpl",
                 std::string(embedded::find("lua/templates/migration.lua")->content));
  out::line(
      fmt::format("Created {}: luamig.lua, migrations/versions/, migrations/lib/, migrations/script.lua.tmpl",
                  dir.string()));
  out::line("Next: cd " + dir.string() + " && luamig revision -m \"first revision\"");
}

namespace {
// --rev-id is checked before anything else, so a bad id is the first thing the user hears about.
void check_rev_id(const std::string& rev_id) {
  if (rev_id.empty()) return;
  if (auto problem = graph::revision_id_problem(rev_id); !problem.empty())
    throw UsageError(
        fmt::format("--rev-id '{}': {} (ids are 1-{} characters without whitespace or any of '@', "
                    "'-', '+', ':')",
                    rev_id, problem, graph::kMaxRevisionIdLength));
}
}  // namespace

void revision(const config::GlobalOptions& opts, const RevisionOptions& ro) {
  check_rev_id(ro.rev_id);
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  std::vector<std::string> down;
  if (ro.head.empty() || ro.head == "head") {
    auto heads = map.heads();
    if (heads.size() > 1)
      throw UsageError(
          graph::multiple_heads_message("head", heads) +
          "\nPass --head REV to choose where the new revision goes, or `luamig merge heads -m MSG`.");
    down = heads;
  } else if (ro.head != "base") {
    std::string id = map.resolve_id(ro.head);
    if (!map.is_head(id) && !ro.splice)
      throw UsageError(
          fmt::format("revision {} is not a head; pass --splice to start a new branch from it", id));
    down = {id};
  }
  std::vector<std::string> deps;
  for (const auto& d : ro.depends_on) deps.push_back(map.resolve_id(d));
  generate(project, ro.message, ro.rev_id, down, ro.branch_labels, deps);
}

void merge(const config::GlobalOptions& opts, const std::vector<std::string>& revisions,
           const std::string& message, const std::string& rev_id) {
  check_rev_id(rev_id);
  auto project = runner::Project::open(opts);
  const auto& map = project.load_graph();
  std::vector<std::string> down;
  for (const auto& r : revisions) {
    if (r == "heads") {
      for (const auto& h : map.heads()) down.push_back(h);
    } else {
      down.push_back(map.resolve_id(r));
    }
  }
  std::sort(down.begin(), down.end());
  down.erase(std::unique(down.begin(), down.end()), down.end());
  if (down.size() < 2)
    throw UsageError("merge needs at least two revisions (there is a single head: nothing to merge)");
  generate(project, message, rev_id, down, {}, {});
}
}  // namespace luamig::commands
