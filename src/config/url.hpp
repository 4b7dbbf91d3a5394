#pragma once
// Database URLs: which dialect they select, and how to show them without their password.
#include <string>
#include <string_view>

namespace luamig::config {

struct DatabaseUrl {
  std::string raw;       // as given; never print it, print masked() instead
  std::string dialect;   // "postgresql" or "sqlite"
  std::string user, password, host, port, database;   // best effort, for messages
  std::string path;      // sqlite: file path or ":memory:"
  // The URL with any password replaced by "***".
  std::string masked() const;
  // "host 127.0.0.1, port 5432, database app, user app" for connection errors.
  std::string describe() const;
};

// Parses postgresql://, postgres://, sqlite:///rel.db, sqlite:////abs.db, sqlite://:memory: and libpq key=value
// strings. Throws ConfigError on an unknown scheme. The password (if any) is registered with out::add_secret.
DatabaseUrl parse_url(std::string_view url);

// Masks passwords inside any text that may contain a URL or a conninfo string.
std::string mask_passwords(std::string_view text);
}  // namespace luamig::config
