#include "verify/ephemeral_pg.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "util/error.hpp"

namespace fs = std::filesystem;

namespace luamig::verify {
namespace {

struct Identity {
  uid_t uid;
  gid_t gid;
  std::string name;
};

bool executable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p); }

bool has_server(const fs::path& dir) {
  return !dir.empty() && executable(dir / "initdb") && executable(dir / "pg_ctl") &&
         executable(dir / "postgres");
}

// Runs argv (no shell), as `as` when given, with stdout and stderr appended to `log`. Returns the exit status
// (-1 when it could not run).
int run_process(const std::vector<std::string>& args, const std::optional<Identity>& as,
                const std::string& log, const std::string& cwd = "/") {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // The log is opened as the user the server runs as: pg_ctl appends to it too.
    if (as) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(as->gid) != 0 || ::setuid(as->uid) != 0) ::_exit(126);
    }
    int fd = log.empty() ? ::open("/dev/null", O_WRONLY)
                         : ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (in >= 0) ::dup2(in, 0);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Captures a command's stdout (pg_config --bindir).
std::string capture(const std::string& command) {
  std::string out;
  if (FILE* f = ::popen(command.c_str(), "r")) {
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    ::pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw RunError(fmt::format("cannot open a socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw RunError("cannot find a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::optional<Identity> lookup(const std::string& name) {
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  return Identity{pw.pw_uid, pw.pw_gid, pw.pw_name};
}

std::optional<Identity> lookup(uid_t uid) {
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  return Identity{pw.pw_uid, pw.pw_gid, pw.pw_name};
}

// As root: $LUAMIG_PG_USER, else the owner of the working directory when that is not root, else "nobody".
std::optional<Identity> server_user() {
  if (::geteuid() != 0) return std::nullopt;
  if (const char* v = std::getenv("LUAMIG_PG_USER"); v && *v) {
    if (auto id = lookup(std::string(v))) return id;
    throw RunError(fmt::format("LUAMIG_PG_USER={}: no such user", v));
  }
  struct stat st {};
  if (::stat(".", &st) == 0 && st.st_uid != 0)
    if (auto id = lookup(st.st_uid)) return id;
  if (auto id = lookup(std::string("nobody"))) return id;
  throw RunError(
      "luamig runs as root and PostgreSQL refuses to: no unprivileged user (nobody) to run it as; set "
      "LUAMIG_PG_USER");
}

std::string tail(const std::string& path, size_t max = 3000) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() > max) data = "..." + data.substr(data.size() - max);
  return data;
}
}  // namespace

std::string find_postgres_bin_dir() {
  if (const char* v = std::getenv("LUAMIG_PG_BINDIR"); v && *v) {
    if (has_server(v)) return v;
    throw RunError(fmt::format("LUAMIG_PG_BINDIR={} has no initdb, pg_ctl and postgres", v));
  }
  std::string dir = capture("pg_config --bindir 2>/dev/null");
  if (has_server(dir)) return dir;
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (has_server(e.path() / "bin")) found.push_back(e.path() / "bin");
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::atoi(a.parent_path().filename().c_str()) > std::atoi(b.parent_path().filename().c_str());
  });
  if (!found.empty()) return found.front().string();
  throw RunError(
      "PostgreSQL server binaries not found (tried $LUAMIG_PG_BINDIR, `pg_config --bindir`, "
      "/usr/lib/postgresql/*/bin): install the postgresql package, or pass --url of an empty database");
}

EphemeralPostgres::EphemeralPostgres() {
  bin_dir_ = find_postgres_bin_dir();
  auto as = server_user();
  if (as) run_as_ = as->name;
  std::string tmpl = (fs::temp_directory_path() / "luamig-verify-pg-XXXXXX").string();
  if (!::mkdtemp(tmpl.data()))
    throw RunError(fmt::format("cannot create a temporary directory: {}", std::strerror(errno)));
  dir_ = tmpl;
  ::chmod(dir_.c_str(), 0700);
  if (as && ::chown(dir_.c_str(), as->uid, as->gid) != 0) {
    fs::remove_all(dir_);
    throw RunError(fmt::format("cannot give {} to user {}: {}", dir_, as->name, std::strerror(errno)));
  }
  const std::string log = dir_ + "/postgres.log";
  auto fail = [&](const std::string& what) {
    std::string text = tail(log);
    stop();
    return RunError(fmt::format("cannot start a throwaway PostgreSQL ({}): {}\n{}", bin_dir_, what, text));
  };
  int st = run_process({bin_dir_ + "/initdb", "-D", dir_ + "/data", "-U", "postgres", "--auth=trust", "-E",
                        "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                       as, log);
  if (st != 0) throw fail(fmt::format("initdb exited with status {}", st));
  for (int attempt = 0;; ++attempt) {
    port_ = free_port();
    std::string options = fmt::format(
        "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off -c "
        "full_page_writes=off "
        "-c max_connections=20 -c shared_buffers=16MB",
        port_, dir_);
    st = run_process({bin_dir_ + "/pg_ctl", "-D", dir_ + "/data", "-l", log, "-w", "-t", "60", "-s", "-o",
                      options, "start"},
                     as, log);
    if (st == 0) break;
    if (attempt >= 2) throw fail(fmt::format("pg_ctl start exited with status {}", st));
  }
  started_ = true;
  url_ = fmt::format("postgresql://postgres@127.0.0.1:{}/postgres", port_);
}

EphemeralPostgres::~EphemeralPostgres() { stop(); }

void EphemeralPostgres::stop() noexcept {
  std::optional<Identity> as;
  if (!run_as_.empty()) as = lookup(run_as_);
  if (started_)
    run_process({bin_dir_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "-s", "stop"}, as, "");
  started_ = false;
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}
}  // namespace luamig::verify
