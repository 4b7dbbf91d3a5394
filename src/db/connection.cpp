#include "db/connection.hpp"

namespace luamig::db {
std::unique_ptr<Connection> connect(const config::DatabaseUrl& url) {
  if (url.dialect == "sqlite") return connect_sqlite(url);
  return connect_postgresql(url);
}
}  // namespace luamig::db
