#pragma once
// Database URLs: which dialect they select, what libpq is given, and how to show them without their password.
//
// Accepted forms:
//   postgresql://, postgres://, and SQLAlchemy's postgresql+DRIVER:// (psycopg2, psycopg, asyncpg, pg8000...:
//   the
//     driver part is ignored). userinfo runs to the LAST '@' of the URL, so a password may hold unencoded
//     '/', '?', '#', ':' and '@' characters; %XX escapes are decoded everywhere, as libpq does. Query
//     parameters are libpq keywords (sslmode, application_name, service, host, port, user, password, ...).
//   libpq key=value conninfo strings ("host=db dbname=app password='a b'"), quoting as libpq reads it.
//   "" (no URL, only when selected by libpq's environment): everything comes from PGHOST, PGUSER, ...
//   sqlite:///relative.db, sqlite:////absolute.db, sqlite:///:memory:, and sqlite+DRIVER:// the same way.
// Parts a PostgreSQL URL leaves out are left out of what libpq gets, so libpq fills them from its environment
// (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSERVICE...), ~/.pgpass and service files.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace luamig::config {

struct DatabaseUrl {
  std::string raw;                                   // as given; never print it, print masked() instead
  std::string dialect;                               // a registered database's name (db/registry.hpp)
  std::string user, password, host, port, database;  // decoded; host/port may be comma-separated lists
  std::vector<std::pair<std::string, std::string>> params;  // other libpq keywords, in order (URL query)
  std::string path;                                         // sqlite: file path or ":memory:"
  bool keyword_form = false;
  // Set by read-only commands (current, history, heads, check...): open without creating anything. A missing
  // SQLite file then reads as an empty database (no version table) and is not created.
  bool read_only = false;  // raw is a libpq key=value string (given to libpq as is)
  std::vector<std::pair<size_t, size_t>> secret_spans;  // [begin, end) of password text inside raw

  // The URL as given, with every password replaced by "***" (structurally: only what is a password).
  std::string masked() const;
  // What libpq gets: a key=value conninfo string (password included). `extra` keywords are added when the URL
  // does not set them (e.g. TCP keepalives for the lock session).
  std::string conninfo(const std::vector<std::pair<std::string, std::string>>& extra = {}) const;
  // "host db, port 5432, database app, user app" for connection errors (missing parts from libpq's
  // environment).
  std::string describe() const;
};

// Parses a database URL (see above). Throws ConfigError on an unknown scheme or a malformed SQLite URL; the
// message masks the password.
DatabaseUrl parse_url(std::string_view url);

// Masks passwords inside any text that may contain a URL or a conninfo string (error messages from libpq or
// the server): the userinfo password of every scheme://... token (up to its last '@') and password=... pairs.
std::string mask_passwords(std::string_view text);

// The URL parsers and descriptions the database registry (db/registry.cpp) names, one per URL family. A
// parser fills `u` (raw and dialect are set) from what follows "<scheme>://", at offset `rest_at` of u.raw;
// throws ConfigError (the message masks the password).
void parse_postgresql_url(DatabaseUrl& u, size_t rest_at);
void parse_sqlite_url(DatabaseUrl& u, size_t rest_at);
std::string describe_server(const DatabaseUrl& u);
std::string describe_sqlite(const DatabaseUrl& u);

// True when one of libpq's connection variables is set to a non-empty value (PGHOST, PGHOSTADDR, PGPORT,
// PGUSER, PGDATABASE, PGSERVICE, PGPASSWORD): with no URL configured, they select PostgreSQL as psql would.
bool libpq_environment_set();
}  // namespace luamig::config
