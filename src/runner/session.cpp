#include "runner/session.hpp"

#include <fmt/format.h>

#include "util/duration.hpp"
#include "util/output.hpp"

namespace luamig::runner {

std::unique_ptr<db::Connection> connect(const Project& project, bool read_only) {
  auto url = project.database_url();
  url.read_only = read_only;
  const auto wait = project.cfg.wait_for_db;
  return db::connect_waiting(
      url, wait,
      [&](const std::string& reason, std::chrono::milliseconds pause, std::chrono::nanoseconds waited) {
        out::warn(fmt::format("Database not reachable yet: {}; retrying in {} (waited {} of {})", reason,
                              format_duration(pause), format_duration(waited), format_duration(wait)));
      });
}

std::unique_ptr<db::MigrationLock> take_migration_lock(const Project& project, db::Connection& conn) {
  db::LockRequest request;
  request.table = project.cfg.version_table;
  request.schema = project.cfg.version_table_schema;
  request.timeout = project.cfg.migration_lock_timeout;
  request.on_wait = [&](const std::string& holder) {
    auto limit = project.cfg.migration_lock_timeout;
    out::line(
        fmt::format("Waiting for the migration lock, held by {}{}", holder,
                    limit.count() > 0 ? fmt::format("; giving up after {}", format_duration(limit)) : ""));
  };
  return conn.acquire_migration_lock(request);
}
}  // namespace luamig::runner
