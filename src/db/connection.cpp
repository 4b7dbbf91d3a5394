#include "db/connection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <utility>

#include "db/registry.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace luamig::db {
long long Connection::copy_rows(const std::string&, const std::vector<std::string>&,
                                const std::vector<std::vector<Param>>&) {
  throw RunError(dialect().name() + " connections cannot COPY rows");
}

void Connection::defer(const std::string& sql, const std::vector<Param>& params, bool want_rows,
                       Check check) {
  Checked result;
  if (want_rows)
    result.rows = fetch(sql, params);
  else
    result.affected = execute(sql, params);
  // Taken by value so that connections that hold it can keep it; here it runs once and is gone.
  if (const Check run = std::move(check)) run(result);
}

std::unique_ptr<Connection> connect(const config::DatabaseUrl& url) {
  const Database& database = url.dialect.empty() ? default_database() : db::database(url.dialect);
  return database.connect(url);
}

std::unique_ptr<Connection> connect_waiting(const config::DatabaseUrl& url, std::chrono::milliseconds wait,
                                            const OnConnectRetry& on_retry) {
  using Clock = std::chrono::steady_clock;
  using std::chrono::milliseconds;
  if (wait.count() <= 0) return connect(url);
  const auto started = Clock::now();
  const auto deadline = started + wait;
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  double pause_ms = 250;
  for (;;) {
    interrupt::throw_if_requested("while waiting for the database; nothing was changed");
    try {
      return connect(url);
    } catch (const RunError& e) {
      auto now = Clock::now();
      if (now >= deadline)
        throw RunError(
            fmt::format("gave up waiting for the database after {} (--wait-for-db / wait_for_db): {}",
                        format_duration(now - started), e.what()));
      auto remaining = std::chrono::duration_cast<milliseconds>(deadline - now);
      auto pause = std::min(milliseconds(static_cast<long long>(pause_ms * jitter(rng))), remaining);
      if (on_retry) on_retry(e.what(), pause, now - started);
      if (!interrupt::sleep_for(pause))
        interrupt::throw_if_requested("while waiting for the database; nothing was changed");
      pause_ms = std::min(pause_ms * 1.6, 5000.0);
    }
  }
}

bool is_connection_loss(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}
}  // namespace luamig::db
