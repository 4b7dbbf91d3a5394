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
  // Override the config file's wait_for_db and migration_lock_timeout when set.
  std::optional<std::chrono::milliseconds> wait_for_db;    // --wait-for-db
  std::optional<std::chrono::milliseconds> lock_timeout;   // --lock-timeout
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
  // How long to retry connecting while the server cannot be reached. Default: 0 (fail at once).
  std::chrono::milliseconds wait_for_db{0};
  // How long a command that changes the database waits for another luamig to release the migration lock.
  // Default: 10 minutes; 0 = forever. Distinct from PostgreSQL's lock_timeout, which limits lock waits of the
  // statements inside migrations.
  std::chrono::milliseconds migration_lock_timeout{std::chrono::minutes(10)};
  // A revision failing with lock_not_available (SQLSTATE 55P03) is rolled back and run again up to this many times.
  // Default: 3.
  int lock_retries = 3;
  // Pause before the first such retry; each further pause doubles, with +-25% jitter. Default: 1 s.
  std::chrono::milliseconds lock_retry_delay{1000};

  std::filesystem::path versions_dir() const { return root / script_location / "versions"; }
  std::filesystem::path lib_dir() const { return root / script_location / "lib"; }
};

// Finds and evaluates the config file. A missing default file is fine (defaults apply); a missing explicit -c file
// is a ConfigError. Unknown keys and wrongly typed values are ConfigErrors naming the key and file.
Config load(const GlobalOptions& opts);

// The database URL: --url, else the config file, else $DATABASE_URL. Empty when none is set.
std::string resolve_url(const GlobalOptions& opts, const Config& cfg);
}  // namespace luamig::config
