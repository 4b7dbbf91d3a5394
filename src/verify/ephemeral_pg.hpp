#pragma once
// A throwaway PostgreSQL server for `luamig verify` and `luamig trace`: initdb in a temporary directory,
// listening on 127.0.0.1 only, on a free port, fsync off, trust authentication, superuser "postgres". Stopped
// and removed when the object dies. PostgreSQL refuses to run as root: when luamig runs as root, initdb and
// the server run as an unprivileged user (the owner of the working directory when it is not root, else
// "nobody").
#include <string>

namespace luamig::verify {

class EphemeralPostgres {
 public:
  // Finds the server binaries (pg_config --bindir, then /usr/lib/postgresql/<highest>/bin), runs initdb and
  // starts the server. Throws RunError naming the binaries' directory and the tail of the server log on
  // failure.
  EphemeralPostgres();
  ~EphemeralPostgres();
  EphemeralPostgres(const EphemeralPostgres&) = delete;
  EphemeralPostgres& operator=(const EphemeralPostgres&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/postgres
  const std::string& url() const { return url_; }
  // The OS user the server runs as ("" = luamig's own user).
  const std::string& run_as() const { return run_as_; }
  const std::string& bin_dir() const { return bin_dir_; }

 private:
  void stop() noexcept;
  std::string bin_dir_, dir_, url_, run_as_;
  int port_ = 0;
  bool started_ = false;
};

// The PostgreSQL bin directory holding initdb, pg_ctl and postgres. Throws RunError when there is none.
std::string find_postgres_bin_dir();
}  // namespace luamig::verify
