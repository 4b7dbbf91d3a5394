// A real PostgreSQL server for integration tests, and the PostgreSQL fixture: TempDb, a fresh database.
//
//   luamig::test::TempDb db;                       // fresh empty database
//   auto r = luamig_in(proj, db.url(), {"upgrade", "head"});          // (cli.hpp)
//   CHECK(db.version_rows() == std::vector<std::string>{"a1"});
//   std::string schema = pg_dump(db, {"-s", "--no-owner"});          // normalised pg_dump output
//   run({pg_tool("psql"), "-X", "-d", db.url(), "-f", script});        // the server's client programs
//
// PgServer::shared() lazily initdb's and starts one private server per test
// process (127.0.0.1 only, free port, fsync=off, trust auth, superuser
// "postgres") and stops it / removes its directory at process exit. A detached
// watchdog does the same cleanup if the test process dies abruptly. As root,
// the server runs as "nobody" (or $LUAMIG_TEST_PG_USER).
//
// Environment:
//   LUAMIG_TEST_PG_URL     use this existing server (postgresql://... URL of a
//                          superuser connection) instead of starting one
//   LUAMIG_TEST_PG_BINDIR  PostgreSQL bin directory (default: pg_config
//                          --bindir, then /usr/lib/postgresql/15/bin)
//   LUAMIG_TEST_PG_USER    OS user running the server when tests run as root
//   LUAMIG_KEEP_TMP        keep the server directory (data + postgres.log)
#pragma once

#include <atomic>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace luamig::test {

class PgServer {
 public:
  // The per-process server, started on first use. Throws std::runtime_error
  // (with the server log's tail) if PostgreSQL cannot be started.
  static PgServer& shared();

  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/postgres (or $LUAMIG_TEST_PG_URL).
  std::string admin_url() const;
  // URL of database `dbname` on this server.
  std::string url_for(const std::string& dbname) const;
  int port() const;
  std::string host() const;
  std::string bin_dir() const;
  // Server directory (holds data/ and postgres.log); empty for external.
  std::string dir() const;
  std::string log_file() const;
  std::string log_tail(size_t max_bytes = 6000) const;
  // True when using $LUAMIG_TEST_PG_URL (stop()/start() then throw).
  bool external() const { return external_; }
  bool is_running() const { return running_; }

  // Restart support: stop() is a fast shutdown (pg_ctl stop -m fast), start()
  // starts it again on the same port and data directory.
  void stop();
  void start();

  // Creates a fresh, uniquely named empty database (luamig_t_<pid>_<n>) and
  // returns its URL; its name is stored in *name_out if given.
  std::string create_database(std::string* name_out = nullptr);
  // DROP DATABASE IF EXISTS ... WITH (FORCE).
  void drop_database(const std::string& name);

 private:
  PgServer();
  void init_local();
  void start_locked(bool allow_port_retry);
  void cleanup() noexcept;
  std::vector<std::string> pg_ctl_argv(const std::vector<std::string>& tail) const;

  mutable std::mutex mu_;
  bool external_ = false;
  std::atomic<bool> running_{false};
  std::string url_;  // admin URL
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  std::string bin_dir_;
  std::string dir_;       // temp dir (local server only)
  std::string run_as_;    // OS user for initdb/pg_ctl ("" = current user)
  int watchdog_fd_ = -1;  // write end of the watchdog's pipe
  int owner_pid_ = 0;
  std::atomic<int> counter_{0};
};

// A fresh empty database, dropped (WITH (FORCE)) when this object dies.
// All helpers open a short-lived connection per call.
class TempDb {
 public:
  TempDb();
  explicit TempDb(PgServer& server);
  ~TempDb();
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  PgServer& server() const { return *server_; }

  pqxx::connection connect() const;

  // First column of each row as text ("<null>" for NULL).
  std::vector<std::string> query_column(const std::string& sql) const;
  // First column of the first row ("<null>" for NULL); throws if no row.
  std::string query_value(const std::string& sql) const;
  // Runs SQL (may contain several statements) outside a transaction block.
  void exec(const std::string& sql) const;

  // Ordinary or partitioned table (not views, sequences, ...).
  bool table_exists(const std::string& name, const std::string& schema = "public") const;
  // Any relation (table, view, matview, index, sequence, ...).
  bool relation_exists(const std::string& name, const std::string& schema = "public") const;
  // Column names ordered by attnum (dropped columns excluded).
  std::vector<std::string> columns(const std::string& table, const std::string& schema = "public") const;
  // Sorted names of ordinary/partitioned tables in schema (luamig's own luamig_history excluded: check it
  // with table_exists).
  std::vector<std::string> tables(const std::string& schema = "public") const;
  // Sorted version_num values; empty if the table does not exist.
  std::vector<std::string> version_rows(const std::string& table = "alembic_version",
                                        const std::string& schema = "public") const;

 private:
  PgServer* server_;
  std::string name_;
  std::string url_;
};

// The path of the PostgreSQL client program `name` (psql, pg_dump...) beside the server's binaries.
std::string pg_tool(const std::string& name);

// `pg_dump <args> -d <db>` without what differs between any two dumps: comment lines, blank lines, and the
// \restrict / \unrestrict lines (a random key, pg_dump 15.14 and later). Nothing else is normalised. Throws
// std::runtime_error (with pg_dump's output) when pg_dump fails.
std::string pg_dump(const TempDb& db, const std::vector<std::string>& args);

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released). Throws if none can be bound.
int unused_tcp_port();

}  // namespace luamig::test
