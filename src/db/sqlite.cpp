#include <fmt/format.h>

#include "db/connection.hpp"
#include "util/error.hpp"

namespace luamig::db {
std::unique_ptr<Connection> connect_sqlite(const config::DatabaseUrl& url) {
  throw ConfigError(fmt::format("{}: SQLite databases are not supported by this build yet", url.masked()));
}
}  // namespace luamig::db
