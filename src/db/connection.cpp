#include "db/connection.hpp"

#include "util/error.hpp"

namespace luamig::db {
long long Connection::copy_rows(const std::string&, const std::vector<std::string>&,
                                const std::vector<std::vector<Param>>&) {
  throw RunError(dialect().name() + " connections cannot COPY rows");
}

std::unique_ptr<Connection> connect(const config::DatabaseUrl& url) {
  if (url.dialect == "sqlite") return connect_sqlite(url);
  return connect_postgresql(url);
}
}  // namespace luamig::db
