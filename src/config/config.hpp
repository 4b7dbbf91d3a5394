#pragma once
// luamig.lua: where the project's files are, which database, and how to run.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace luamig::config {

// A setting given on the command line: by --set KEY=VALUE, or by a dedicated flag. A new flag for a
// registered setting only appends {"key", value, "--flag"} here (cli.cpp); resolution and `luamig config`
// then show it.
struct SettingOverride {
  std::string key;
  std::string value;
  std::string flag;  // as shown in `luamig config`: "--url", "--set"
};

struct GlobalOptions {
  std::string config_path;                 // -c; "" = $LUAMIG_CONFIG or ./luamig.lua
  std::string url;                         // --url (resolved as the command-line value of the `url` setting)
  std::string environment;                 // -e/--env; "" = $LUAMIG_ENV, else default_environment
  std::vector<SettingOverride> overrides;  // --set KEY=VALUE and other setting flags; a later one wins
  std::map<std::string, std::string> x;    // -x KEY=VALUE
  bool no_hooks = false;                   // --no-hooks
  bool quiet = false;
  bool no_color = false;
};

// The resolved configuration for one command: the selected environment's settings. The plain fields below are
// copies of the resolved settings, for convenience; `settings` holds every value with its source.
struct Config {
  std::filesystem::path file;           // the config file read ("" when none exists)
  std::filesystem::path root;           // its directory: relative paths resolve from here
  std::string environment = "default";  // the selected environment
  std::string environment_origin = "built-in: no environments are defined";  // how it was selected
  std::vector<std::string> environments;  // names defined in the file, sorted
  std::string selection_error;            // non-empty when environments exist but none was selected
  Settings settings;
  std::string script_location = "migrations";
  std::optional<std::string> url;  // from the config file
  std::string version_table = "alembic_version";
  std::string version_table_schema;  // "" = default search path
  bool transaction_per_migration = true;
  std::chrono::milliseconds lua_time_limit{60000};
  size_t lua_memory_limit = size_t{512} << 20;
  // How long to retry connecting while the server cannot be reached. Default: 0 (fail at once).
  std::chrono::milliseconds wait_for_db{0};
  // How long a command that changes the database waits for another luamig to release the migration lock.
  // Default: 10 minutes; 0 = forever. Distinct from lock_timeout (PostgreSQL's), which limits lock waits of
  // the statements inside migrations.
  std::chrono::milliseconds migration_lock_timeout{std::chrono::minutes(10)};
  // A revision failing with lock_not_available (SQLSTATE 55P03) is rolled back and run again up to this many
  // times. Default: 3.
  int lock_retries = 3;
  // Pause before the first such retry; each further pause doubles, with +-25% jitter. Default: 1 s.
  std::chrono::milliseconds lock_retry_delay{1000};
  std::vector<std::filesystem::path> hooks;  // resolved against script_dir(), in the order given
  std::optional<std::chrono::milliseconds> lock_timeout, statement_timeout;  // nullopt: leave the server's
  bool allow_downgrade = true;
  // `lint = { disable = { "rule", ... }, severity = { ["rule"] = "warning" | "error" } }` (top level only).
  std::vector<std::string> lint_disable;
  std::map<std::string, std::string> lint_severity;

  std::filesystem::path script_dir() const { return root / script_location; }
  std::filesystem::path versions_dir() const { return root / script_location / "versions"; }
  std::filesystem::path lib_dir() const { return root / script_location / "lib"; }
  // Throws ConfigError (exit 2) when environments are defined but none was selected.
  void require_environment() const;
};

// Finds and evaluates the config file, selects the environment (-e, else $LUAMIG_ENV, else
// default_environment, else "default" when the file defines no environments) and resolves every setting. A
// missing default file is fine (defaults apply); a missing explicit -c file is a ConfigError. Unknown keys
// (at the top level or in an environment block), wrongly typed values and an unknown environment name are
// ConfigErrors (exit 2) naming the key, environment and file.
Config load(const GlobalOptions& opts);

// The database URL: --url, else the environment block, else the top level, else $DATABASE_URL. Empty when
// none.
std::string resolve_url(const GlobalOptions& opts, const Config& cfg);
}  // namespace luamig::config
