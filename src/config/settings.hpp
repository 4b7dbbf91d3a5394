#pragma once
// Settings that may vary per environment, and where each resolved value came from.
//
// Every setting is declared once, in the registry in settings.cpp (one line per key). A value resolves, first
// match wins, from:
//   1. the command line (a dedicated flag such as --url, or --set KEY=VALUE)
//   2. the selected environment's block in luamig.lua (environments = { name = { KEY = ... } })
//   3. the top level of luamig.lua
//   4. the setting's environment variable, when it has one ($DATABASE_URL for url)
//   5. the built-in default (possibly "unset")
// Each resolved value remembers which of these it came from, for `luamig config`.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace luamig::config {

enum class Kind {
  Text,      // a string (numbers are accepted and written as text)
  Bool,      // true/false; on the command line also yes/no, on/off, 1/0
  Duration,  // "500ms", "5s", "10min", "2h"; a bare number means seconds
  Size,      // "512MiB", "1GiB"; a bare number means bytes
  Count,     // a whole number from 0 to 1,000,000 (retries, limits)
  List,      // a string or a list of strings
};

// Where a setting may be written in luamig.lua. Every setting may be given on the command line.
enum class Scope {
  TopLevel,  // only at the top level (it shapes the whole project, e.g. script_location)
  Anywhere,  // top level or an environment block
};

struct SettingSpec {
  const char* key;
  Kind kind;
  Scope scope;
  const char* default_value;  // built-in default as text; nullptr = unset
  const char* env_var;        // process environment variable consulted after the config file; nullptr = none
  const char* help;           // one line, shown by `luamig config --help`-style listings and docs
};

// The registry, in display order.
const std::vector<SettingSpec>& setting_specs();
// nullptr when `key` is not a setting.
const SettingSpec* find_setting(std::string_view key);
// "url, script_location, ..." for error messages; with `scope` only the keys allowed there.
std::string known_setting_names(std::optional<Scope> only = std::nullopt);

enum class Source { CommandLine, Environment, TopLevel, EnvVar, Default };

struct ResolvedSetting {
  const SettingSpec* spec = nullptr;
  std::optional<std::string> text;  // canonical text ("5s", "true", "a.lua, b.lua"); nullopt = unset
  std::vector<std::string> list;    // Kind::List only: the items
  Source source = Source::Default;
  std::string origin;  // "--url", "environment 'production' in luamig.lua", "$DATABASE_URL", ...
};

// Resolved values of every registered setting. Typed getters throw std::logic_error for an unregistered key
// (a programming error); conversion errors were already reported as ConfigError during resolution.
class Settings {
 public:
  const std::vector<ResolvedSetting>& all() const { return values_; }
  const ResolvedSetting& get(std::string_view key) const;
  bool is_set(std::string_view key) const { return get(key).text.has_value(); }
  std::optional<std::string> text(std::string_view key) const { return get(key).text; }
  bool boolean(std::string_view key) const;
  std::optional<std::chrono::milliseconds> duration(std::string_view key) const;
  std::optional<size_t> size(std::string_view key) const;
  std::optional<long long> count(std::string_view key) const;
  const std::vector<std::string>& list(std::string_view key) const { return get(key).list; }

  // Used by the resolver (config.cpp), once per registered key in registry order.
  void add(ResolvedSetting s) { values_.push_back(std::move(s)); }

 private:
  std::vector<ResolvedSetting> values_;
};

// Parses a Bool written on the command line or in an environment variable: true/false, yes/no, on/off, 1/0.
std::optional<bool> parse_bool_text(std::string_view text);
// Parses a Count: digits only, at most 1,000,000.
std::optional<long long> parse_count_text(std::string_view text);
}  // namespace luamig::config
