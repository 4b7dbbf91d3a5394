#include "config/config.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <set>
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

const std::set<std::string> kKnownKeys = {
    "script_location", "url", "version_table", "version_table_schema", "transaction_per_migration",
    "lua_time_limit", "lua_memory_limit", "wait_for_db", "migration_lock_timeout", "lock_retries",
    "lock_retry_delay",
};

std::string expect_string(const luahost::Value& v, const std::string& key, const fs::path& file) {
  if (v.is_string()) return v.str();
  if (v.is_number()) return fmt::format("{}", v.num());
  throw ConfigError(fmt::format("{}: '{}' must be a string, got a {}", file.string(), key, v.type_name()));
}

int expect_count(const luahost::Value& v, const std::string& key, const fs::path& file) {
  if (v.is_number() && v.num() >= 0 && v.num() <= 1000 && v.num() == static_cast<int>(v.num()))
    return static_cast<int>(v.num());
  throw ConfigError(fmt::format("{}: '{}' must be a whole number from 0 to 1000", file.string(), key));
}

bool expect_bool(const luahost::Value& v, const std::string& key, const fs::path& file) {
  if (v.is_bool()) return v.boolean();
  throw ConfigError(fmt::format("{}: '{}' must be true or false, got a {}", file.string(), key, v.type_name()));
}
// Command-line options win over the config file.
Config apply_command_line(Config cfg, const GlobalOptions& opts) {
  if (opts.wait_for_db) cfg.wait_for_db = *opts.wait_for_db;
  if (opts.lock_timeout) cfg.migration_lock_timeout = *opts.lock_timeout;
  return cfg;
}
}  // namespace

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
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (explicit_path) throw ConfigError(fmt::format("{}: config file not found", path.string()));
    return apply_command_line(std::move(cfg), opts);
  }
  cfg.file = path;
  // Paths in messages stay short and relative when the config is in the working directory.
  cfg.root = fs::absolute(path).parent_path();
  if (cfg.root == fs::current_path()) cfg.root.clear();
  luahost::Value globals;
  try {
    globals = luahost::eval_config(path.string(), read_file(path));
  } catch (const luahost::ScriptError& e) {
    const auto& f = e.failure;
    throw ConfigError(f.line ? fmt::format("{}:{}: {}", f.file, f.line, f.message) : fmt::format("{}: {}", f.file, f.message));
  }
  for (const auto& [k, v] : globals.table()) {
    if (!k.is_string()) continue;
    const std::string& key = k.str();
    if (!kKnownKeys.count(key))
      throw ConfigError(fmt::format("{}: unknown setting '{}' (known: script_location, url, version_table, "
                                    "version_table_schema, transaction_per_migration, lua_time_limit, "
                                    "lua_memory_limit, wait_for_db, migration_lock_timeout, lock_retries, "
                                    "lock_retry_delay)",
                                    path.string(), key));
    if (key == "script_location") cfg.script_location = expect_string(v, key, path);
    else if (key == "url") cfg.url = expect_string(v, key, path);
    else if (key == "version_table") cfg.version_table = expect_string(v, key, path);
    else if (key == "version_table_schema") cfg.version_table_schema = expect_string(v, key, path);
    else if (key == "transaction_per_migration") cfg.transaction_per_migration = expect_bool(v, key, path);
    else if (key == "lua_time_limit") cfg.lua_time_limit = parse_duration(expect_string(v, key, path), path.string() + ": lua_time_limit");
    else if (key == "lua_memory_limit") cfg.lua_memory_limit = parse_size(expect_string(v, key, path), path.string() + ": lua_memory_limit");
    else if (key == "wait_for_db") cfg.wait_for_db = parse_duration(expect_string(v, key, path), path.string() + ": wait_for_db");
    else if (key == "migration_lock_timeout") cfg.migration_lock_timeout = parse_duration(expect_string(v, key, path), path.string() + ": migration_lock_timeout");
    else if (key == "lock_retry_delay") cfg.lock_retry_delay = parse_duration(expect_string(v, key, path), path.string() + ": lock_retry_delay");
    else if (key == "lock_retries") cfg.lock_retries = expect_count(v, key, path);
  }
  if (cfg.version_table.empty() || cfg.version_table.size() > 63)
    throw ConfigError(fmt::format("{}: version_table must be 1 to 63 characters", path.string()));
  return apply_command_line(std::move(cfg), opts);
}

std::string resolve_url(const GlobalOptions& opts, const Config& cfg) {
  if (!opts.url.empty()) return opts.url;
  if (cfg.url && !cfg.url->empty()) return *cfg.url;
  if (const char* env = std::getenv("DATABASE_URL"); env && *env) return env;
  return "";
}
}  // namespace luamig::config
