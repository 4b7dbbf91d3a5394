// config / env show / env list: what a command would act on, and why.
#include <fmt/format.h>

#include <algorithm>

#include "commands/commands.hpp"
#include "config/url.hpp"
#include "runner/project.hpp"
#include "util/json.hpp"
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
  if (out::json()) {
    json::Array settings;
    for (const auto& s : cfg.settings.all()) {
      json::Object o;
      o.add("key", s.spec->key);
      if (s.text)
        o.add("value", shown_value(s, !cfg.environments.empty()));
      else
        o.add_null("value");
      settings.push(o.add("origin", s.origin));
    }
    json::Object doc;
    if (cfg.file.empty())
      doc.add_null("config_file");
    else
      doc.add("config_file", cfg.file.string());
    if (cfg.selection_error.empty())
      doc.add("environment", cfg.environment).add("environment_origin", cfg.environment_origin);
    else
      doc.add_null("environment").add("environment_error", cfg.selection_error);
    doc.add("environments", cfg.environments).add("settings", settings);
    out::json_line(doc.str());
    return;
  }
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
    out::data(fmt::format("  {:<{}}  {:<{}}  ({})", s->spec->key, key_width, out::escape(value), value_width,
                          s->origin));
  if (!cfg.selection_error.empty()) out::warn(cfg.selection_error);
}

void list_environments(const config::GlobalOptions& opts) {
  auto project = runner::Project::open(opts);
  const auto& cfg = project.cfg;
  if (out::json()) {
    json::Array list;
    for (const auto& name : cfg.environments)
      list.push(json::Object().add("name", name).add("selected", name == cfg.environment));
    out::json_line(json::Object().add("environments", list).str());
    return;
  }
  if (cfg.environments.empty()) {
    out::data("* default (no environments are defined)");
    return;
  }
  for (const auto& name : cfg.environments)
    out::data(fmt::format("{} {}", name == cfg.environment ? "*" : " ", out::escape(name)));
}
}  // namespace luamig::commands
