#pragma once
// luamig.lua: where the project's files are, which database, and how to run.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace luamig::config {

struct GlobalOptions {
  std::string config_path;   // -c; "" = $LUAMIG_CONFIG or ./luamig.lua
  std::string url;           // --url
  std::string environment;   // -e/--env
  std::map<std::string, std::string> x;   // -x KEY=VALUE
  bool quiet = false;
  bool no_color = false;
};

struct Config {
  std::filesystem::path file;        // the config file read ("" when none exists)
  std::filesystem::path root;        // its directory: relative paths resolve from here
  std::string script_location = "migrations";
  std::optional<std::string> url;    // from the config file
  std::string version_table = "alembic_version";
  std::string version_table_schema;  // "" = default search path
  bool transaction_per_migration = true;
  std::chrono::milliseconds lua_time_limit{60000};
  size_t lua_memory_limit = size_t{512} << 20;

  std::filesystem::path versions_dir() const { return root / script_location / "versions"; }
  std::filesystem::path lib_dir() const { return root / script_location / "lib"; }
};

// Finds and evaluates the config file. A missing default file is fine (defaults apply); a missing explicit -c file
// is a ConfigError. Unknown keys and wrongly typed values are ConfigErrors naming the key and file.
Config load(const GlobalOptions& opts);

// The database URL: --url, else the config file, else $DATABASE_URL. Empty when none is set.
std::string resolve_url(const GlobalOptions& opts, const Config& cfg);
}  // namespace luamig::config
