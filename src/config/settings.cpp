#include "config/settings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "util/duration.hpp"

namespace luamig::config {
namespace {

// The one place a setting is declared. Adding a key is adding a line; Config::load then accepts it at the top
// level and (for Scope::Anywhere) in environment blocks, --set accepts it, and `luamig config` shows it.
// Typed access: Config::settings.duration("key") / .boolean / .text / .size / .count / .list. A dedicated
// flag
// (--wait-for-db, --lock-timeout) appends {"key", value, "--flag"} to GlobalOptions::overrides.
//
// Note on names: lock_timeout is PostgreSQL's lock_timeout, SET LOCAL in every migration transaction; the
// wait for luamig's own migration lock is migration_lock_timeout (--lock-timeout).
// clang-format off
const std::vector<SettingSpec> kSpecs = {
    // key                         kind            scope            default            env var
    {"url",                        Kind::Text,     Scope::Anywhere, nullptr,           "DATABASE_URL",
     "database URL (postgresql://user@host/db or a libpq conninfo)"},
    {"script_location",            Kind::Text,     Scope::TopLevel, "migrations",      nullptr,
     "directory holding versions/, lib/ and hooks"},
    {"version_table",              Kind::Text,     Scope::Anywhere, "alembic_version", nullptr,
     "name of Alembic's version table"},
    {"version_table_schema",       Kind::Text,     Scope::Anywhere, nullptr,           nullptr,
     "schema of the version table (unset: the search path)"},
    {"history_table",              Kind::Text,     Scope::Anywhere, "luamig_history",  nullptr,
     "name of luamig's history table (one row per applied step, with checksums)"},
    {"history_table_schema",       Kind::Text,     Scope::Anywhere, nullptr,           nullptr,
     "schema of the history table (unset: the version table's schema)"},
    {"validate_on_upgrade",        Kind::Bool,     Scope::Anywhere, "true",            nullptr,
     "upgrade first validates the history against the files (--no-validate skips it)"},
    {"transaction_per_migration",  Kind::Bool,     Scope::Anywhere, "true",            nullptr,
     "one transaction per revision (true) or one for the whole command (false)"},
    {"hooks",                      Kind::List,     Scope::Anywhere, nullptr,           nullptr,
     "hooks file or list of files, relative to script_location, run in order"},
    {"lock_timeout",               Kind::Duration, Scope::Anywhere, nullptr,           nullptr,
     "SET LOCAL lock_timeout in every migration transaction (unset: the server's setting)"},
    {"statement_timeout",          Kind::Duration, Scope::Anywhere, nullptr,           nullptr,
     "SET LOCAL statement_timeout in every migration transaction (unset: the server's setting)"},
    {"allow_downgrade",            Kind::Bool,     Scope::Anywhere, "true",            nullptr,
     "false makes `downgrade` refuse unless --force is given"},
    {"lua_time_limit",             Kind::Duration, Scope::Anywhere, "60s",             nullptr,
     "time limit for Lua code per migration or hook call (0: none)"},
    {"lua_memory_limit",           Kind::Size,     Scope::Anywhere, "512MiB",          nullptr,
     "memory the Lua state may hold (0: none)"},
    {"wait_for_db",                Kind::Duration, Scope::Anywhere, "0",               nullptr,
     "retry connecting for up to this long while the server is not up (0: fail at once)"},
    {"migration_lock_timeout",     Kind::Duration, Scope::Anywhere, "10min",           nullptr,
     "wait this long for another luamig to release the migration lock (0: forever)"},
    {"lint_on_upgrade",            Kind::Bool,     Scope::Anywhere, "false",           nullptr,
     "upgrade runs `luamig lint`'s error-level rules first and stops before any change on a finding"},
    {"lock_retries",               Kind::Count,    Scope::Anywhere, "3",               nullptr,
     "re-runs of a revision that failed with lock_not_available (SQLSTATE 55P03)"},
    {"lock_retry_delay",           Kind::Duration, Scope::Anywhere, "1s",              nullptr,
     "pause before the first such re-run; it doubles each time, with +-25% jitter"},
};
// clang-format on
}  // namespace

const std::vector<SettingSpec>& setting_specs() { return kSpecs; }

const SettingSpec* find_setting(std::string_view key) {
  for (const auto& s : kSpecs)
    if (key == s.key) return &s;
  return nullptr;
}

std::string known_setting_names(std::optional<Scope> only) {
  std::string out;
  for (const auto& s : kSpecs) {
    if (only && *only == Scope::Anywhere && s.scope != Scope::Anywhere) continue;
    out += (out.empty() ? "" : ", ") + std::string(s.key);
  }
  return out;
}

std::optional<bool> parse_bool_text(std::string_view text) {
  std::string t(text);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return std::nullopt;
}

const ResolvedSetting& Settings::get(std::string_view key) const {
  for (const auto& v : values_)
    if (key == v.spec->key) return v;
  throw std::logic_error(fmt::format("setting '{}' is not registered", key));
}

bool Settings::boolean(std::string_view key) const {
  const auto& s = get(key);
  return s.text && parse_bool_text(*s.text).value_or(false);
}

std::optional<long long> parse_count_text(std::string_view text) {
  if (text.empty() || text.size() > 7) return std::nullopt;
  long long n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > 1000000) return std::nullopt;
  return n;
}

std::optional<long long> Settings::count(std::string_view key) const {
  const auto& s = get(key);
  if (!s.text) return std::nullopt;
  return parse_count_text(*s.text);
}

std::optional<std::chrono::milliseconds> Settings::duration(std::string_view key) const {
  const auto& s = get(key);
  if (!s.text) return std::nullopt;
  return parse_duration(*s.text, key);
}

std::optional<size_t> Settings::size(std::string_view key) const {
  const auto& s = get(key);
  if (!s.text) return std::nullopt;
  return parse_size(*s.text, key);
}
}  // namespace luamig::config
