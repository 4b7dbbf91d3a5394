#pragma once
// Database URLs: which dialect they select, and how to show them without their password.
#include <string>
#include <string_view>

namespace luamig::config {

struct DatabaseUrl {
  std::string raw;       // as given; never print it, print masked() instead
  std::string dialect;   // a registered database's name (db/registry.hpp)
  std::string user, password, host, port, database;   // best effort, for messages
  std::string path;      // sqlite: file path or ":memory:"
  // The URL with any password replaced by "***".
  std::string masked() const;
  // "host 127.0.0.1, port 5432, database app, user app" for connection errors.
  std::string describe() const;
};

// Parses a URL of any registered database (db/registry.cpp: postgresql://, postgres://, sqlite:///rel.db,
// sqlite:////abs.db, sqlite://:memory:) and libpq key=value strings. Throws ConfigError on an unknown scheme. The password (if any) is registered with out::add_secret.
DatabaseUrl parse_url(std::string_view url);

// The URL parsers and descriptions the database registry (db/registry.cpp) names, one per URL family. Each
// fills `u` from what follows "<scheme>://" and registers a password with out::add_secret; throws ConfigError.
void parse_postgresql_url(DatabaseUrl& u, std::string_view rest);
void parse_sqlite_url(DatabaseUrl& u, std::string_view rest);
std::string describe_server(const DatabaseUrl& u);
std::string describe_sqlite(const DatabaseUrl& u);

// Masks passwords inside any text that may contain a URL or a conninfo string.
std::string mask_passwords(std::string_view text);
}  // namespace luamig::config
