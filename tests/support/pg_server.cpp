// The PostgreSQL test server and TempDb (see pg_server.hpp for the interface and its environment variables).
//
// About 600 lines: the whole life of the test server (find, initdb, start as a non-root user, stop) in one
// place.
#include "support/pg_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "support/run.hpp"

namespace fs = std::filesystem;

namespace luamig::test {
namespace {

std::string env_or(const char* name, const std::string& fallback = {}) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

bool is_exe(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p); }

bool has_pg_tools(const std::string& dir) {
  return !dir.empty() && is_exe(fs::path(dir) / "initdb") && is_exe(fs::path(dir) / "pg_ctl") &&
         is_exe(fs::path(dir) / "postgres");
}

std::string find_bin_dir() {
  std::string dir = env_or("LUAMIG_TEST_PG_BINDIR");
  if (!dir.empty()) {
    if (!has_pg_tools(dir))
      throw std::runtime_error("LUAMIG_TEST_PG_BINDIR=" + dir + " has no initdb/pg_ctl/postgres");
    return dir;
  }
  try {
    RunOptions o;
    o.timeout_ms = 10000;
    auto r = run({"pg_config", "--bindir"}, o);
    dir = trim(r.out);
    if (r.status == 0 && has_pg_tools(dir)) return dir;
  } catch (const std::exception&) {
    // pg_config not installed: fall through.
  }
  if (has_pg_tools("/usr/lib/postgresql/15/bin")) return "/usr/lib/postgresql/15/bin";
  // Any other installed major version, highest first.
  std::vector<std::string> candidates;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (has_pg_tools((e.path() / "bin").string())) candidates.push_back((e.path() / "bin").string());
  std::sort(candidates.begin(), candidates.end(), [](const std::string& a, const std::string& b) {
    return std::atoi(fs::path(a).parent_path().filename().c_str()) >
           std::atoi(fs::path(b).parent_path().filename().c_str());
  });
  if (!candidates.empty()) return candidates.front();
  throw std::runtime_error(
      "PostgreSQL server binaries not found (tried $LUAMIG_TEST_PG_BINDIR, pg_config --bindir, "
      "/usr/lib/postgresql/15/bin); install postgresql-15 or set LUAMIG_TEST_PG_URL");
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct UserIds {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};

UserIds lookup_user(const std::string& name) {
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res)
    throw std::runtime_error("unknown user '" + name + "' (set LUAMIG_TEST_PG_USER)");
  UserIds ids{pw.pw_uid, pw.pw_gid, {}};
  int n = 64;
  ids.groups.resize(64);
  if (::getgrouplist(pw.pw_name, pw.pw_gid, ids.groups.data(), &n) < 0) {
    ids.groups.resize(static_cast<size_t>(n));
    ::getgrouplist(pw.pw_name, pw.pw_gid, ids.groups.data(), &n);
  }
  ids.groups.resize(static_cast<size_t>(std::max(n, 0)));
  return ids;
}

// Can `ids` reach (search) every ancestor directory of `dir`?
bool traversable(const fs::path& dir, const UserIds& ids) {
  fs::path p = fs::absolute(dir);
  for (fs::path cur = p; !cur.empty(); cur = cur.parent_path()) {
    struct stat st {};
    if (::stat(cur.c_str(), &st) != 0) return false;
    bool ok = (st.st_mode & S_IXOTH) || (st.st_uid == ids.uid && (st.st_mode & S_IXUSR)) ||
              ((st.st_gid == ids.gid ||
                std::find(ids.groups.begin(), ids.groups.end(), st.st_gid) != ids.groups.end()) &&
               (st.st_mode & S_IXGRP));
    if (!ok) return false;
    if (cur == cur.root_path()) break;
  }
  return true;
}

std::string read_file_tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path + ")";
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() > max_bytes) data = "..." + data.substr(data.size() - max_bytes);
  return data;
}

std::string conf_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Splits a postgres URL into prefix "scheme://authority", database, and
// "?query" suffix.
struct UrlParts {
  std::string prefix, db, query, host;
  int port = 5432;
};

UrlParts parse_url(const std::string& url) {
  UrlParts u;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    throw std::runtime_error("LUAMIG_TEST_PG_URL must be a postgresql:// URL, got: " + url);
  size_t auth_start = scheme_end + 3;
  size_t auth_end = url.find_first_of("/?", auth_start);
  if (auth_end == std::string::npos) auth_end = url.size();
  u.prefix = url.substr(0, auth_end);
  std::string rest = url.substr(auth_end);
  auto q = rest.find('?');
  if (q != std::string::npos) {
    u.query = rest.substr(q);
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest[0] == '/') u.db = rest.substr(1);
  std::string auth = url.substr(auth_start, auth_end - auth_start);
  auto at = auth.rfind('@');
  std::string hostport = at == std::string::npos ? auth : auth.substr(at + 1);
  if (!hostport.empty() && hostport[0] == '[') {
    auto close = hostport.find(']');
    u.host = hostport.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < hostport.size() && hostport[close + 1] == ':')
      u.port = std::atoi(hostport.c_str() + close + 2);
  } else {
    auto colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) u.port = std::atoi(hostport.c_str() + colon + 1);
  }
  if (u.host.empty()) u.host = "localhost";
  return u;
}

// Starts a detached watchdog (double fork, own session, not a descendant of
// the test process) that stops the server and removes its directory when the
// pipe's write end closes without "done" being written first - i.e. when the
// test process died without running its destructors.
int start_watchdog(const std::string& pg_ctl, const std::string& dir, bool keep, const std::string& user) {
  bool change_user = false;
  UserIds ids{::geteuid(), ::getegid(), {}};
  if (!user.empty()) {
    ids = lookup_user(user);
    change_user = true;
  }
  static const char* script =
      "read x; [ \"$x\" = done ] && exit 0; "
      "\"$1\" -D \"$2/data\" -m immediate stop >/dev/null 2>&1; "
      "[ -n \"$3\" ] || rm -rf \"$2\"";
  std::vector<std::string> args = {"sh", "-c", script, "sh", pg_ctl, dir, keep ? "keep" : ""};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return -1;
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t child = ::fork();
  if (child < 0) {
    ::close(p[0]);
    ::close(p[1]);
    if (devnull >= 0) ::close(devnull);
    return -1;
  }
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(p[0], 0);
    if (devnull >= 0) {
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    }
    if (change_user) {
      if (::setgroups(ids.groups.size(), ids.groups.data()) != 0 || ::setgid(ids.gid) != 0 ||
          ::setuid(ids.uid) != 0)
        ::_exit(127);
    }
    if (::chdir("/") != 0) ::_exit(127);
#if defined(SYS_close_range)
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    ::execv("/bin/sh", argv.data());
    ::_exit(127);
  }
  ::close(p[0]);
  if (devnull >= 0) ::close(devnull);
  int ws;
  while (::waitpid(child, &ws, 0) < 0 && errno == EINTR) {
  }
  return p[1];
}

}  // namespace

// ------------------------------------------------------------------ PgServer

PgServer& PgServer::shared() {
  static PgServer instance;
  return instance;
}

PgServer::PgServer() : owner_pid_(::getpid()) {
  std::string ext = env_or("LUAMIG_TEST_PG_URL");
  if (!ext.empty()) {
    external_ = true;
    UrlParts u = parse_url(ext);
    url_ = ext;
    host_ = u.host;
    port_ = u.port;
    running_ = true;
    try {
      pqxx::connection c{url_};
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot connect to LUAMIG_TEST_PG_URL=" + ext + ": " + e.what());
    }
    return;
  }
  try {
    init_local();
  } catch (...) {
    cleanup();
    throw;
  }
}

PgServer::~PgServer() {
  if (::getpid() != owner_pid_) return;  // a forked child exiting
  cleanup();
}

void PgServer::init_local() {
  bin_dir_ = find_bin_dir();

  if (::geteuid() == 0) run_as_ = env_or("LUAMIG_TEST_PG_USER", "nobody");
  UserIds ids{::geteuid(), ::getegid(), {}};
  if (!run_as_.empty()) ids = lookup_user(run_as_);

  // The directory must be reachable by the server user and short enough for
  // the unix socket path (<dir>/.s.PGSQL.<port>, max ~107 bytes).
  std::string base = env_or("TMPDIR", "/tmp");
  if (base.size() > 60 || !fs::is_directory(base) || !traversable(base, ids)) base = "/tmp";
  std::string templ = (fs::path(base) / "luamig-pg-XXXXXX").string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  dir_ = buf.data();
  if (!run_as_.empty() && ::chown(dir_.c_str(), ids.uid, ids.gid) != 0)
    throw std::runtime_error("chown " + dir_ + " to " + run_as_ + ": " + std::strerror(errno));

  bool keep = !env_or("LUAMIG_KEEP_TMP").empty();
  watchdog_fd_ = start_watchdog((fs::path(bin_dir_) / "pg_ctl").string(), dir_, keep, run_as_);

  RunOptions o;
  o.cwd = dir_;
  o.run_as_user = run_as_;
  o.timeout_ms = 120000;
  o.env = {{"LC_ALL", "C"}, {"LANG", "C"}, {"TZ", "UTC"}};
  auto r = run({(fs::path(bin_dir_) / "initdb").string(), "-D", dir_ + "/data", "-A", "trust", "-U",
                "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
               o);
  if (r.status != 0) throw std::runtime_error("initdb failed (" + dir_ + ")\n" + r.describe());

  std::ofstream conf(dir_ + "/data/postgresql.conf", std::ios::app);
  conf << "\n# --- luamig test harness ---\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = " << conf_quote(dir_) << "\n"
       << "fsync = off\n"
       << "synchronous_commit = off\n"
       << "full_page_writes = off\n"
       << "shared_buffers = 32MB\n"
       << "max_connections = 100\n"
       << "max_wal_size = 1GB\n"
       << "lc_messages = 'C'\n"
       << "timezone = 'UTC'\n"
       << "log_timezone = 'UTC'\n"
       << "log_line_prefix = '%m [%p] %q%u@%d '\n";
  conf.close();
  if (!conf) throw std::runtime_error("cannot write " + dir_ + "/data/postgresql.conf");

  std::lock_guard lock(mu_);
  start_locked(true);
}

std::vector<std::string> PgServer::pg_ctl_argv(const std::vector<std::string>& tail) const {
  std::vector<std::string> argv = {(fs::path(bin_dir_) / "pg_ctl").string(), "-D", dir_ + "/data"};
  argv.insert(argv.end(), tail.begin(), tail.end());
  return argv;
}

void PgServer::start_locked(bool allow_port_retry) {
  if (external_) throw std::logic_error("PgServer::start: external server (LUAMIG_TEST_PG_URL)");
  if (running_) return;
  RunOptions o;
  o.cwd = dir_;
  o.run_as_user = run_as_;
  o.timeout_ms = 90000;
  o.env = {{"LC_ALL", "C"}, {"LANG", "C"}};
  const int attempts = allow_port_retry ? 5 : 1;
  for (int attempt = 1;; ++attempt) {
    if (port_ == 0 || attempt > 1) port_ = free_port();
    auto r = run(
        pg_ctl_argv({"-l", log_file(), "-w", "-t", "60", "-s", "-o", "-p " + std::to_string(port_), "start"}),
        o);
    if (r.status == 0) {
      running_ = true;
      url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
      return;
    }
    // Make sure nothing half-started is left behind.
    RunOptions q = o;
    q.timeout_ms = 30000;
    run(pg_ctl_argv({"-m", "immediate", "-s", "stop"}), q);
    std::string log = log_tail(20000);
    bool port_clash = log.find("could not bind") != std::string::npos ||
                      log.find("Address already in use") != std::string::npos ||
                      log.find("could not create any TCP/IP sockets") != std::string::npos;
    if (!port_clash || attempt >= attempts)
      throw std::runtime_error("cannot start PostgreSQL (" + bin_dir_ + ", dir " + dir_ + ", port " +
                               std::to_string(port_) + ")\n" + r.describe() + "--- " + log_file() +
                               " (tail) ---\n" + log_tail());
  }
}

void PgServer::start() {
  std::lock_guard lock(mu_);
  start_locked(false);
}

void PgServer::stop() {
  std::lock_guard lock(mu_);
  if (external_) throw std::logic_error("PgServer::stop: external server (LUAMIG_TEST_PG_URL)");
  if (!running_) return;
  RunOptions o;
  o.cwd = dir_;
  o.run_as_user = run_as_;
  o.timeout_ms = 60000;
  auto r = run(pg_ctl_argv({"-m", "fast", "-w", "-t", "50", "-s", "stop"}), o);
  if (r.status != 0)
    throw std::runtime_error("pg_ctl stop failed\n" + r.describe() + "--- log tail ---\n" + log_tail());
  running_ = false;
}

void PgServer::cleanup() noexcept {
  if (external_) return;
  bool keep = !env_or("LUAMIG_KEEP_TMP").empty();
  try {
    if (!dir_.empty() && fs::exists(dir_ + "/data/postmaster.pid")) {
      RunOptions o;
      o.cwd = dir_;
      o.run_as_user = run_as_;
      o.timeout_ms = 30000;
      run(pg_ctl_argv({"-m", "immediate", "-s", "stop"}), o);
    }
  } catch (const std::exception& e) {
    std::cerr << "luamig test harness: stopping PostgreSQL failed: " << e.what() << "\n";
  }
  running_ = false;
  if (!dir_.empty()) {
    if (keep) {
      std::cerr << "luamig test harness: kept PostgreSQL directory " << dir_ << "\n";
    } else {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  if (watchdog_fd_ >= 0) {
    ssize_t n = ::write(watchdog_fd_, "done\n", 5);
    (void)n;
    ::close(watchdog_fd_);
    watchdog_fd_ = -1;
  }
}

std::string PgServer::admin_url() const {
  std::lock_guard lock(mu_);
  return url_;
}

std::string PgServer::url_for(const std::string& dbname) const {
  std::lock_guard lock(mu_);
  if (external_) {
    UrlParts u = parse_url(url_);
    return u.prefix + "/" + dbname + u.query;
  }
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
}

int PgServer::port() const {
  std::lock_guard lock(mu_);
  return port_;
}

std::string PgServer::host() const {
  std::lock_guard lock(mu_);
  return host_;
}

std::string PgServer::bin_dir() const { return bin_dir_; }
std::string PgServer::dir() const { return dir_; }
std::string PgServer::log_file() const { return dir_.empty() ? "" : dir_ + "/postgres.log"; }

std::string PgServer::log_tail(size_t max_bytes) const {
  if (external_) return "(external server: no log)";
  return read_file_tail(log_file(), max_bytes);
}

std::string PgServer::create_database(std::string* name_out) {
  std::string name = "luamig_t_" + std::to_string(::getpid()) + "_" + std::to_string(++counter_);
  {
    pqxx::connection c{admin_url()};
    pqxx::nontransaction tx{c};
    tx.exec("CREATE DATABASE " + tx.quote_name(name) + " TEMPLATE template0");
  }
  if (name_out) *name_out = name;
  return url_for(name);
}

void PgServer::drop_database(const std::string& name) {
  pqxx::connection c{admin_url()};
  pqxx::nontransaction tx{c};
  tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name) + " WITH (FORCE)");
}

// -------------------------------------------------------------------- TempDb

TempDb::TempDb() : TempDb(PgServer::shared()) {}

TempDb::TempDb(PgServer& server) : server_(&server) { url_ = server.create_database(&name_); }

TempDb::~TempDb() {
  if (!server_->is_running()) return;  // stopped by a restart test and never restarted
  try {
    server_->drop_database(name_);
  } catch (const std::exception& e) {
    std::cerr << "luamig test harness: dropping database " << name_ << " failed: " << e.what() << "\n";
  }
}

pqxx::connection TempDb::connect() const { return pqxx::connection{url_}; }

std::vector<std::string> TempDb::query_column(const std::string& sql) const {
  pqxx::connection c{url_};
  pqxx::nontransaction tx{c};
  pqxx::result res = tx.exec(sql);
  std::vector<std::string> out;
  out.reserve(res.size());
  for (const auto& row : res) {
    if (row.size() == 0)
      out.emplace_back("<null>");
    else
      out.emplace_back(row[0].is_null() ? "<null>" : row[0].c_str());
  }
  return out;
}

std::string TempDb::query_value(const std::string& sql) const {
  auto col = query_column(sql);
  if (col.empty()) throw std::runtime_error("query returned no rows: " + sql);
  return col.front();
}

void TempDb::exec(const std::string& sql) const {
  pqxx::connection c{url_};
  pqxx::nontransaction tx{c};
  tx.exec(sql);
}

bool TempDb::table_exists(const std::string& name, const std::string& schema) const {
  pqxx::connection c{url_};
  pqxx::nontransaction tx{c};
  auto r = tx.exec_params(
      "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
      "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
      schema, name);
  return !r.empty();
}

bool TempDb::relation_exists(const std::string& name, const std::string& schema) const {
  pqxx::connection c{url_};
  pqxx::nontransaction tx{c};
  auto r = tx.exec_params(
      "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
      "c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
      schema, name);
  return !r.empty();
}

std::vector<std::string> TempDb::columns(const std::string& table, const std::string& schema) const {
  pqxx::connection c{url_};
  pqxx::nontransaction tx{c};
  auto r = tx.exec_params(
      "SELECT a.attname FROM pg_catalog.pg_attribute a "
      "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum",
      schema, table);
  std::vector<std::string> out;
  for (const auto& row : r) out.emplace_back(row[0].c_str());
  return out;
}

std::vector<std::string> TempDb::tables(const std::string& schema) const {
  pqxx::connection c{url_};
  pqxx::nontransaction tx{c};
  auto r = tx.exec_params(
      "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
      "c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> 'luamig_history'",
      schema);
  std::vector<std::string> out;
  for (const auto& row : r) out.emplace_back(row[0].c_str());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> TempDb::version_rows(const std::string& table, const std::string& schema) const {
  if (!table_exists(table, schema)) return {};
  pqxx::connection c{url_};
  pqxx::nontransaction tx{c};
  auto r = tx.exec("SELECT version_num FROM " + tx.quote_name(schema) + "." + tx.quote_name(table));
  std::vector<std::string> out;
  for (const auto& row : r) out.emplace_back(row[0].is_null() ? "<null>" : row[0].c_str());
  std::sort(out.begin(), out.end());
  return out;
}

std::string pg_tool(const std::string& name) {
  return (fs::path(PgServer::shared().bin_dir()) / name).string();
}

std::string pg_dump(const TempDb& db, const std::vector<std::string>& args) {
  std::vector<std::string> argv{pg_tool("pg_dump")};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"-d", db.url()});
  auto r = run(argv);
  if (r.status != 0) throw std::runtime_error("pg_dump failed: " + r.describe());
  std::string out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("--", 0) == 0 || line.empty() || line.rfind("\\restrict", 0) == 0 ||
        line.rfind("\\unrestrict", 0) == 0)
      continue;
    out += line + "\n";
  }
  return out;
}

int unused_tcp_port() { return free_port(); }

}  // namespace luamig::test
