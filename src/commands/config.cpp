// config / env show / env list: what a command would act on, and why.
#include <fmt/format.h>

#include <algorithm>

#include "commands/commands.hpp"
#include "config/url.hpp"
#include "runner/project.hpp"
#include "util/output.hpp"

namespace luamig::commands {
namespace {
std::string shown_value(const config::ResolvedSetting& s, bool environments_defined) {
  if (!s.text) {
    // With no environments, a missing URL means the zero-setup SQLite file.
    if (std::string(s.spec->key) == "url" && !environments_defined)
      return config::libpq_environment_set() ? std::string("(unset: PostgreSQL from libpq's PG* variables)")
                                             : std::string("(unset: ") + runner::kDefaultUrl + ")";
    return "(unset)";
  }
  if (s.spec->kind == config::Kind::List && s.list.empty()) return "(none)";
  // The URL's password, read as luamig reads it, is masked structurally; other values by pattern.
  if (std::string(s.spec->key) == "url") return config::parse_url(*s.text).masked();
  return config::mask_passwords(*s.text);
}
}  // namespace

void show_config(const config::GlobalOptions& opts) {
  auto project = runner::Project::open(opts);
  const auto& cfg = project.cfg;
  out::data(
      fmt::format("Config file: {}", cfg.file.empty() ? "(none: built-in defaults)" : cfg.file.string()));
  std::string defined = cfg.environments.empty() ? "none defined" : "defined:";
  for (size_t i = 0; i < cfg.environments.size(); ++i) defined += (i ? ", " : " ") + cfg.environments[i];
  if (cfg.selection_error.empty())
    out::data(fmt::format("Environment: {} (from {}; {})", cfg.environment, cfg.environment_origin, defined));
  else
    out::data(fmt::format("Environment: (none selected; {})", defined));
  size_t key_width = 0, value_width = 0;
  std::vector<std::pair<const config::ResolvedSetting*, std::string>> rows;
  for (const auto& s : cfg.settings.all()) {
    rows.emplace_back(&s, shown_value(s, !cfg.environments.empty()));
    key_width = std::max(key_width, std::string(s.spec->key).size());
    value_width = std::max(value_width, rows.back().second.size());
  }
  value_width = std::min<size_t>(value_width, 48);
  for (const auto& [s, value] : rows)
    out::data(fmt::format("  {:<{}}  {:<{}}  ({})", s->spec->key, key_width, value, value_width, s->origin));
  if (!cfg.selection_error.empty()) out::warn(cfg.selection_error);
}

void list_environments(const config::GlobalOptions& opts) {
  auto project = runner::Project::open(opts);
  const auto& cfg = project.cfg;
  if (cfg.environments.empty()) {
    out::data("* default (no environments are defined)");
    return;
  }
  for (const auto& name : cfg.environments)
    out::data(fmt::format("{} {}", name == cfg.environment ? "*" : " ", name));
}
}  // namespace luamig::commands
