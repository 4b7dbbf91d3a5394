#include "config/config.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "luahost/engine.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace luamig::config {
namespace fs = std::filesystem;

namespace {
std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read the config file", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char kEnvironmentsKey[] = "environments";
const char kDefaultEnvironmentKey[] = "default_environment";

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

std::string number_text(double n) {
  if (n == static_cast<double>(static_cast<long long>(n)))
    return fmt::format("{}", static_cast<long long>(n));
  return fmt::format("{}", n);
}

// Checks a value written as text (command line, environment variable) and stores it canonically.
void assign_text(ResolvedSetting& out, const SettingSpec& spec, const std::string& raw,
                 const std::string& what) {
  std::string text = trim(raw);
  out.list.clear();
  switch (spec.kind) {
    case Kind::Text:
      text = raw;
      break;
    case Kind::Bool: {
      auto b = parse_bool_text(text);
      if (!b) throw ConfigError(fmt::format("{}: '{}' is not true or false", what, text));
      text = *b ? "true" : "false";
      break;
    }
    case Kind::Duration:
      parse_duration(text, what);
      break;
    case Kind::Size:
      parse_size(text, what);
      break;
    case Kind::Count:
      if (!parse_count_text(text))
        throw ConfigError(fmt::format("{}: '{}' is not a whole number from 0 to 1000000", what, text));
      break;
    case Kind::List: {
      std::string item;
      for (size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == ',') {
          if (auto t = trim(item); !t.empty()) out.list.push_back(t);
          item.clear();
        } else {
          item.push_back(text[i]);
        }
      }
      text = join(out.list);
      break;
    }
  }
  out.text = text;
}

// Checks a value written in luamig.lua and stores it canonically.
void assign_lua(ResolvedSetting& out, const SettingSpec& spec, const luahost::Value& v,
                const std::string& what) {
  out.list.clear();
  switch (spec.kind) {
    case Kind::Text:
      if (v.is_string())
        out.text = v.str();
      else if (v.is_number())
        out.text = number_text(v.num());
      else
        throw ConfigError(fmt::format("{} must be a string, got a {}", what, v.type_name()));
      return;
    case Kind::Bool:
      if (!v.is_bool())
        throw ConfigError(fmt::format("{} must be true or false, got a {}", what, v.type_name()));
      out.text = v.boolean() ? "true" : "false";
      return;
    case Kind::Duration:
    case Kind::Size:
      if (v.is_number()) {
        // A bare number: seconds for a duration, bytes for a size.
        out.text = number_text(v.num()) + (spec.kind == Kind::Duration ? "s" : "");
      } else if (v.is_string()) {
        out.text = trim(v.str());
      } else {
        throw ConfigError(fmt::format(
            "{} must be a {} such as {}, got a {}", what, spec.kind == Kind::Duration ? "duration" : "size",
            spec.kind == Kind::Duration ? "\"5s\" or \"10min\"" : "\"512MiB\"", v.type_name()));
      }
      if (spec.kind == Kind::Duration)
        parse_duration(*out.text, what);
      else
        parse_size(*out.text, what);
      return;
    case Kind::Count:
      if (!v.is_number() || v.num() < 0 || v.num() > 1000000 ||
          v.num() != static_cast<double>(static_cast<long long>(v.num())))
        throw ConfigError(fmt::format("{} must be a whole number from 0 to 1000000", what));
      out.text = number_text(v.num());
      return;
    case Kind::List:
      if (v.is_string()) {
        out.list = {v.str()};
      } else if (v.is_table()) {
        size_t n = 0;
        for (const auto& [k, item] : v.table()) {
          if (!k.is_number() || !item.is_string())
            throw ConfigError(fmt::format("{} must be a string or a list of strings", what));
          ++n;
        }
        out.list = v.string_list();
        if (out.list.size() != n) throw ConfigError(fmt::format("{} must be a list without holes", what));
      } else {
        throw ConfigError(
            fmt::format("{} must be a string or a list of strings, got a {}", what, v.type_name()));
      }
      out.text = join(out.list);
      return;
  }
}

// `lint = { disable = {...}, severity = {...} }`: which rules `luamig lint` reports and how severely.
void read_lint_table(Config& cfg, const luahost::Value& v, const fs::path& file) {
  auto bad = [&](const std::string& what) {
    return ConfigError(fmt::format("{}: lint: {}", file.string(), what));
  };
  if (!v.is_table()) throw bad("must be a table { disable = {...}, severity = {...} }");
  for (const auto& [k, item] : v.table()) {
    std::string key = k.is_string() ? k.str() : "";
    if (key == "disable") {
      if (item.is_string()) {
        cfg.lint_disable.push_back(item.str());
        continue;
      }
      if (!item.is_table()) throw bad("disable must be a list of rule ids");
      for (const auto& [i, id] : item.table()) {
        if (!i.is_number() || !id.is_string()) throw bad("disable must be a list of rule ids");
        cfg.lint_disable.push_back(id.str());
      }
    } else if (key == "severity") {
      if (!item.is_table()) throw bad("severity must be a table { [\"rule\"] = \"warning\" | \"error\" }");
      for (const auto& [id, level] : item.table()) {
        if (!id.is_string() || !level.is_string())
          throw bad("severity must be a table { [\"rule\"] = \"warning\" | \"error\" }");
        cfg.lint_severity[id.str()] = level.str();
      }
    } else {
      throw bad(fmt::format("unknown key '{}' (known: disable, severity)", key));
    }
  }
}

std::string environment_label(const std::string& name, const fs::path& file) {
  return fmt::format("environment '{}' in {}", name, file.string());
}

// Validates the `environments` table and returns each block by name.
std::map<std::string, const luahost::Value*> read_environments(const luahost::Value& v,
                                                               const fs::path& file) {
  std::map<std::string, const luahost::Value*> out;
  if (!v.is_table())
    throw ConfigError(fmt::format("{}: 'environments' must be a table of name = {{ settings }}, got a {}",
                                  file.string(), v.type_name()));
  for (const auto& [k, block] : v.table()) {
    if (!k.is_string() || k.str().empty())
      throw ConfigError(fmt::format("{}: 'environments' must be keyed by environment name (name = {{ ... }})",
                                    file.string()));
    const std::string& name = k.str();
    if (!block.is_table())
      throw ConfigError(fmt::format("{}: environment '{}' must be a table of settings, got a {}",
                                    file.string(), name, block.type_name()));
    for (const auto& [key, value] : block.table()) {
      (void)value;
      if (!key.is_string())
        throw ConfigError(fmt::format("{}: environment '{}': settings must be written as key = value",
                                      file.string(), name));
      const auto* spec = find_setting(key.str());
      if (!spec)
        throw ConfigError(
            fmt::format("{}: environment '{}': unknown setting '{}' (known in an environment: {})",
                        file.string(), name, key.str(), known_setting_names(Scope::Anywhere)));
      if (spec->scope == Scope::TopLevel)
        throw ConfigError(
            fmt::format("{}: environment '{}': '{}' can only be set at the top level of the file",
                        file.string(), name, key.str()));
    }
    out[name] = &block;
  }
  return out;
}

void select_environment(Config& cfg, const GlobalOptions& opts, const std::optional<std::string>& default_env,
                        const std::map<std::string, const luahost::Value*>& blocks) {
  cfg.environments.clear();
  for (const auto& [name, block] : blocks) cfg.environments.push_back(name);
  std::string file = cfg.file.empty() ? std::string("luamig.lua") : cfg.file.string();
  auto known = [&] {
    return cfg.environments.empty()
               ? fmt::format("{} defines no environments, so the only one is 'default'", file)
               : fmt::format("known: {}", join(cfg.environments));
  };
  std::string name, origin;
  if (!opts.environment.empty()) {
    name = opts.environment;
    origin = "-e/--env";
  } else if (const char* e = std::getenv("LUAMIG_ENV"); e && *e) {
    name = e;
    origin = "$LUAMIG_ENV";
  } else if (default_env) {
    name = *default_env;
    origin = fmt::format("default_environment in {}", file);
  } else if (blocks.empty()) {
    cfg.environment = "default";
    cfg.environment_origin = "built-in: no environments are defined";
    return;
  } else {
    cfg.environment.clear();
    cfg.environment_origin = "none selected";
    cfg.selection_error = fmt::format(
        "no environment selected: pass -e NAME, set LUAMIG_ENV, or set default_environment in {} ({})", file,
        known());
    return;
  }
  bool found = blocks.empty() ? name == "default" : blocks.count(name) > 0;
  if (!found) throw ConfigError(fmt::format("unknown environment '{}' (from {}); {}", name, origin, known()));
  cfg.environment = name;
  cfg.environment_origin = origin;
}

Settings resolve(const GlobalOptions& opts, const Config& cfg, const luahost::Value* top,
                 const luahost::Value* block) {
  Settings settings;
  std::string file = cfg.file.string();
  for (const auto& spec : setting_specs()) {
    ResolvedSetting r;
    r.spec = &spec;
    const SettingOverride* cli = nullptr;
    for (const auto& o : opts.overrides)
      if (o.key == spec.key) cli = &o;
    const luahost::Value* in_block = block ? block->get(spec.key) : nullptr;
    const luahost::Value* at_top = top ? top->get(spec.key) : nullptr;
    const char* from_env = spec.env_var ? std::getenv(spec.env_var) : nullptr;
    if (cli) {
      r.source = Source::CommandLine;
      r.origin = cli->flag;
      assign_text(r, spec, cli->value, cli->flag == "--set" ? fmt::format("--set {}", spec.key) : cli->flag);
    } else if (in_block && !in_block->is_nil()) {
      r.source = Source::Environment;
      r.origin = environment_label(cfg.environment, cfg.file);
      assign_lua(r, spec, *in_block,
                 fmt::format("{}: environment '{}': '{}'", file, cfg.environment, spec.key));
    } else if (at_top && !at_top->is_nil()) {
      r.source = Source::TopLevel;
      r.origin = "top level of " + file;
      assign_lua(r, spec, *at_top, fmt::format("{}: '{}'", file, spec.key));
    } else if (from_env && *from_env) {
      r.source = Source::EnvVar;
      r.origin = std::string("$") + spec.env_var;
      assign_text(r, spec, from_env, r.origin);
    } else {
      r.source = Source::Default;
      r.origin = "built-in default";
      if (spec.default_value) assign_text(r, spec, spec.default_value, "built-in default");
    }
    settings.add(std::move(r));
  }
  return settings;
}

// An empty URL, or one that env() could not read, is an error: never a silent switch to another URL or to the
// zero-setup SQLite file. `block_name`: the selected environment's block ("" when none).
void check_url_given(const Config& cfg, const std::string& source, const std::string& block_name) {
  const auto& url = cfg.settings.get("url");
  if (url.text && url.text->empty())
    throw ConfigError(fmt::format("the database URL set by {} is empty", url.origin));
  const char* db_url = std::getenv("DATABASE_URL");
  if (url.source == Source::Default && db_url && !*db_url)
    throw ConfigError("$DATABASE_URL is set but empty: set it to a database URL, or unset it");
  bool fallback =
      !url.text || (!block_name.empty() && (url.source == Source::TopLevel || url.source == Source::EnvVar));
  if (!fallback || cfg.file.empty()) return;
  // Was `url` left out because env() found nothing? Evaluate again with unset variables marked.
  luahost::Value marked;
  luahost::mark_unset_env(true);
  try {
    marked = luahost::eval_config(cfg.file.string(), source);
  } catch (...) {
  }
  luahost::mark_unset_env(false);
  if (!marked.is_table()) return;
  // The selected block's url first, then the top level's.
  const luahost::Value* u = nullptr;
  if (!block_name.empty()) {
    const auto* envs = marked.get(kEnvironmentsKey);
    const auto* b = envs && envs->is_table() ? envs->get(block_name) : nullptr;
    u = b && b->is_table() ? b->get("url") : nullptr;
  }
  if (!u || !u->is_string()) u = marked.get("url");
  if (!u || !u->is_string()) return;
  auto pos = u->str().find(luahost::kUnsetEnvMark);
  if (pos == std::string::npos) return;
  std::string name = u->str().substr(pos + std::strlen(luahost::kUnsetEnvMark));
  name = name.substr(0, name.find_first_of(" /:@?'\"\x01"));
  throw ConfigError(fmt::format(
      "no database URL{}: {} says url = env(\"{}\"), but ${} is unset or empty{}. Set it, pass --url, or "
      "give "
      "env() a default: env(\"{}\", \"postgresql://...\")",
      block_name.empty() ? "" : fmt::format(" for environment '{}'", block_name), cfg.file.string(), name,
      name,
      url.text ? fmt::format("; luamig will not fall back to the URL from {}", url.origin) : std::string(),
      name));
}

std::string known_top_level_names() {
  return known_setting_names() + ", " + kEnvironmentsKey + ", " + kDefaultEnvironmentKey;
}
}  // namespace

void Config::require_environment() const {
  if (!selection_error.empty()) throw ConfigError(selection_error);
}

Config load(const GlobalOptions& opts) {
  Config cfg;
  fs::path path;
  bool explicit_path = false;
  if (!opts.config_path.empty()) {
    path = opts.config_path;
    explicit_path = true;
  } else if (const char* env = std::getenv("LUAMIG_CONFIG"); env && *env) {
    path = env;
    explicit_path = true;
  } else {
    path = "luamig.lua";
  }
  for (const auto& o : opts.overrides)
    if (!find_setting(o.key))
      throw ConfigError(
          fmt::format("{}: unknown setting '{}' (known: {})", o.flag, o.key, known_setting_names()));
  GlobalOptions effective = opts;
  if (!opts.url.empty()) effective.overrides.insert(effective.overrides.begin(), {"url", opts.url, "--url"});

  luahost::Value globals;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    cfg.file = path;
    // Paths in messages stay short and relative when the config is in the working directory.
    cfg.root = fs::absolute(path).parent_path();
    if (cfg.root == fs::current_path()) cfg.root.clear();
    try {
      // The config runs under the same limits as migrations: the defaults, or those given on the command line
      // (--set lua_time_limit=...), since the file's own settings are not known before it ran.
      luahost::Limits limits;
      for (const auto& o : opts.overrides) {
        if (o.key == "lua_time_limit") limits.time = parse_duration(o.value, o.flag);
        if (o.key == "lua_memory_limit") limits.memory = parse_size(o.value, o.flag);
      }
      globals = luahost::eval_config(path.string(), read_file(path), limits);
    } catch (const luahost::ScriptError& e) {
      const auto& f = e.failure;
      throw ConfigError(f.line ? fmt::format("{}:{}: {}", f.file, f.line, f.message)
                               : fmt::format("{}: {}", f.file, f.message));
    }
  } else if (explicit_path) {
    throw ConfigError(fmt::format("{}: config file not found", path.string()));
  }

  std::map<std::string, const luahost::Value*> blocks;
  std::optional<std::string> default_env;
  if (globals.is_table()) {
    for (const auto& [k, v] : globals.table()) {
      if (!k.is_string()) continue;
      const std::string& key = k.str();
      if (key == kEnvironmentsKey) {
        blocks = read_environments(v, path);
      } else if (key == kDefaultEnvironmentKey) {
        if (!v.is_string() || v.str().empty())
          throw ConfigError(fmt::format("{}: 'default_environment' must be an environment name, got a {}",
                                        path.string(), v.type_name()));
        default_env = v.str();
      } else if (key == "lint") {
        read_lint_table(cfg, v, path);
      } else if (!find_setting(key)) {
        throw ConfigError(
            fmt::format("{}: unknown setting '{}' (known: {})", path.string(), key, known_top_level_names()));
      }
    }
  }
  if (default_env && !blocks.count(*default_env)) {
    std::vector<std::string> names;
    for (const auto& [n, b] : blocks) names.push_back(n);
    throw ConfigError(fmt::format("{}: default_environment '{}' is not defined in environments ({})",
                                  path.string(), *default_env,
                                  names.empty() ? "none are defined" : "known: " + join(names)));
  }
  select_environment(cfg, opts, default_env, blocks);
  const luahost::Value* block = nullptr;
  if (auto it = blocks.find(cfg.environment); it != blocks.end()) block = it->second;
  cfg.settings = resolve(effective, cfg, globals.is_table() ? &globals : nullptr, block);

  check_url_given(cfg, cfg.file.empty() ? std::string() : read_file(cfg.file), block ? cfg.environment : "");
  const auto& s = cfg.settings;
  cfg.script_location = s.text("script_location").value_or("migrations");
  if (auto url = s.text("url"); url && !url->empty()) cfg.url = url;
  cfg.version_table = s.text("version_table").value_or("alembic_version");
  cfg.version_table_schema = s.text("version_table_schema").value_or("");
  cfg.transaction_per_migration = s.boolean("transaction_per_migration");
  cfg.lua_time_limit = s.duration("lua_time_limit").value_or(std::chrono::milliseconds(0));
  cfg.lua_memory_limit = s.size("lua_memory_limit").value_or(0);
  cfg.lock_timeout = s.duration("lock_timeout");
  cfg.statement_timeout = s.duration("statement_timeout");
  cfg.allow_downgrade = s.boolean("allow_downgrade");
  cfg.wait_for_db = s.duration("wait_for_db").value_or(std::chrono::milliseconds(0));
  cfg.migration_lock_timeout = s.duration("migration_lock_timeout").value_or(std::chrono::milliseconds(0));
  cfg.lock_retries = static_cast<int>(s.count("lock_retries").value_or(0));
  cfg.lock_retry_delay = s.duration("lock_retry_delay").value_or(std::chrono::milliseconds(0));
  cfg.hooks.clear();
  for (const auto& h : s.list("hooks")) {
    fs::path p(h);
    cfg.hooks.push_back(p.is_absolute() ? p : cfg.script_dir() / p);
  }
  if (cfg.version_table.empty() || cfg.version_table.size() > 63)
    throw ConfigError(fmt::format("{}: version_table must be 1 to 63 characters",
                                  cfg.file.empty() ? std::string("luamig.lua") : cfg.file.string()));
  return cfg;
}

std::string resolve_url(const GlobalOptions& opts, const Config& cfg) {
  if (!opts.url.empty()) return opts.url;
  if (cfg.url && !cfg.url->empty()) return *cfg.url;
  return "";
}
}  // namespace luamig::config
