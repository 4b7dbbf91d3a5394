// Child processes for the tests (see run.hpp): hermetic environment, captured output, time-outs, Spawned.
#include "support/run.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ostream>
#include <sstream>
#include <thread>

#ifndef LUAMIG_BIN
#error "LUAMIG_BIN must be defined (absolute path of the luamig binary)"
#endif

extern char** environ;

namespace luamig::test {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

[[noreturn]] void throw_errno(const std::string& what) {
  int e = errno;
  throw std::runtime_error(what + ": " + errno_text(e));
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Variables removed from every child unless explicitly given in opts.env.
bool is_scrubbed(const std::string& name) {
  static const char* exact[] = {"DATABASE_URL", "NO_COLOR",       "FORCE_COLOR",
                                "CLICOLOR",     "CLICOLOR_FORCE", "SQLALCHEMY_URL"};
  for (const char* e : exact)
    if (name == e) return true;
  return starts_with(name, "LUAMIG_") || starts_with(name, "PG") || starts_with(name, "LUA_");
}

std::vector<std::string> build_env(const RunOptions& opts) {
  std::vector<std::pair<std::string, std::string>> vars;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string name = kv.substr(0, eq);
    if (is_scrubbed(name)) continue;
    vars.emplace_back(name, kv.substr(eq + 1));
  }
  vars.erase(std::remove_if(vars.begin(), vars.end(),
                            [&](const auto& kv) {
                              return std::find(opts.unset_env.begin(), opts.unset_env.end(), kv.first) !=
                                     opts.unset_env.end();
                            }),
             vars.end());
  auto set = [&](const std::string& k, const std::string& v) {
    for (auto& [name, value] : vars)
      if (name == k) {
        value = v;
        return;
      }
    vars.emplace_back(k, v);
  };
  auto unset_requested = [&](const std::string& k) {
    return std::find(opts.unset_env.begin(), opts.unset_env.end(), k) != opts.unset_env.end();
  };
  if (!unset_requested("NO_COLOR")) set("NO_COLOR", "1");
  for (const auto& [k, v] : opts.env) set(k, v);
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

int make_memfd(const char* name) {
  int fd = static_cast<int>(::syscall(SYS_memfd_create, name, MFD_CLOEXEC));
  if (fd < 0) {
    // Fallback: an unlinked temporary file.
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = (tmp && *tmp) ? tmp : "/tmp";
    fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) throw_errno("cannot create capture file");
  }
  return fd;
}

std::string read_all_fd(int fd) {
  std::string data;
  if (fd < 0) return data;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return data;
}

void write_all_fd(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write stdin data");
    }
    done += static_cast<size_t>(n);
  }
}

int decode_status(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

// Waits for pid to exit; returns false on timeout (child left running).
bool wait_pid(pid_t pid, int timeout_ms, int& wstatus) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remaining = [&]() -> int {
    if (timeout_ms <= 0) return -1;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    return left < 0 ? 0 : static_cast<int>(left);
  };
  int pfd = -1;
#ifdef SYS_pidfd_open
  pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#endif
  if (pfd >= 0) {
    for (;;) {
      pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
      if (r == pid) {
        ::close(pfd);
        return true;
      }
      if (r < 0 && errno != EINTR) {
        int e = errno;
        ::close(pfd);
        errno = e;
        throw_errno("waitpid");
      }
      int left = remaining();
      if (left == 0) {
        ::close(pfd);
        return false;
      }
      pollfd p{pfd, POLLIN, 0};
      int pr = ::poll(&p, 1, left);
      if (pr < 0 && errno != EINTR) {
        ::close(pfd);
        throw_errno("poll(pidfd)");
      }
    }
  }
  // No pidfd: poll with a short back-off.
  int sleep_us = 200;
  for (;;) {
    pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) throw_errno("waitpid");
    if (remaining() == 0) return false;
    ::usleep(static_cast<useconds_t>(sleep_us));
    sleep_us = std::min(sleep_us * 2, 10000);
  }
}

struct ChildFds {
  int in = -1, out = -1, err = -1;
};

std::string tail(const std::string& s, size_t n = 4000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

// fork + exec with the given descriptors as 0/1/2. Throws if exec fails.
pid_t spawn(const std::vector<std::string>& argv, const RunOptions& opts, const ChildFds& fds) {
  if (argv.empty()) throw std::invalid_argument("run: empty argv");

  // Everything that allocates happens before fork().
  std::vector<std::string> env_strings = build_env(opts);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  std::vector<char*> args;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  bool change_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  if (!opts.run_as_user.empty()) {
    struct passwd pw {};
    struct passwd* res = nullptr;
    std::vector<char> buf(16384);
    if (::getpwnam_r(opts.run_as_user.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res)
      throw std::runtime_error("run: unknown user '" + opts.run_as_user + "'");
    uid = pw.pw_uid;
    gid = pw.pw_gid;
    int ngroups = 64;
    groups.resize(static_cast<size_t>(ngroups));
    if (::getgrouplist(pw.pw_name, gid, groups.data(), &ngroups) < 0) {
      groups.resize(static_cast<size_t>(ngroups));
      ::getgrouplist(pw.pw_name, gid, groups.data(), &ngroups);
    }
    groups.resize(static_cast<size_t>(std::max(ngroups, 0)));
    change_user = uid != ::geteuid() || gid != ::getegid();
  }
  const char* cwd = opts.cwd.empty() ? nullptr : opts.cwd.c_str();

  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) throw_errno("pipe2");

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(errpipe[0]);
    ::close(errpipe[1]);
    errno = e;
    throw_errno("fork");
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    auto fail = [&](int stage) {
      int msg[2] = {stage, errno};
      ssize_t ignored = ::write(errpipe[1], msg, sizeof msg);
      (void)ignored;
      ::_exit(127);
    };
    ::setpgid(0, 0);
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(fds.in, 0) < 0 || ::dup2(fds.out, 1) < 0 || ::dup2(fds.err, 2) < 0) fail(1);
    if (change_user) {
      if (::setgroups(groups.size(), groups.data()) != 0) fail(2);
      if (::setgid(gid) != 0) fail(2);
      if (::setuid(uid) != 0) fail(2);
    }
    if (cwd && ::chdir(cwd) != 0) fail(3);
    // Die with the test process (set after setuid, which would clear it).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
      // No stray descriptors: everything above 2 is closed on exec.
#if defined(SYS_close_range)
    if (::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0)
#endif
    {
      long max = ::sysconf(_SC_OPEN_MAX);
      if (max < 0 || max > 65536) max = 65536;
      for (int fd = 3; fd < max; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    environ = envp.data();
    ::execvp(args[0], args.data());
    fail(4);
  }

  ::setpgid(pid, pid);  // also done in the child; whichever runs first wins
  ::close(errpipe[1]);
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(errpipe[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  ::close(errpipe[0]);
  if (n > 0) {
    int ws;
    ::waitpid(pid, &ws, 0);
    static const char* stages[] = {"?", "dup2", "switching user", "chdir", "exec"};
    std::string stage = (msg[0] >= 1 && msg[0] <= 4) ? stages[msg[0]] : "?";
    std::string detail = stage;
    if (msg[0] == 3) detail += " to '" + opts.cwd + "'";
    if (msg[0] == 2) detail += " to '" + opts.run_as_user + "'";
    throw std::runtime_error("cannot start " + join_argv(argv) + ": " + detail +
                             " failed: " + errno_text(msg[1]));
  }
  return pid;
}

int open_stdin(const std::string& data) {
  if (data.empty()) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("open /dev/null");
    return fd;
  }
  int fd = make_memfd("luamig-test-stdin");
  write_all_fd(fd, data);
  if (::lseek(fd, 0, SEEK_SET) != 0) throw_errno("lseek");
  return fd;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string join_argv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`;&|<>()*?[]{}") == std::string::npos;
    if (plain) {
      s += a;
    } else {
      s += '\'';
      for (char c : a) {
        if (c == '\'')
          s += "'\\''";
        else
          s += c;
      }
      s += '\'';
    }
  }
  return s;
}

std::string RunResult::describe() const {
  std::ostringstream os;
  os << "exit status " << status;
  if (status > 128) os << " (signal " << status - 128 << ")";
  os << "\n--- stdout ---\n" << out << (out.empty() || out.back() == '\n' ? "" : "\n");
  os << "--- stderr ---\n" << err << (err.empty() || err.back() == '\n' ? "" : "\n");
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const RunResult& r) { return os << r.describe(); }

RunResult run(const std::vector<std::string>& argv, const RunOptions& opts) {
  Spawned child(argv, opts);
  return child.wait();
}

std::string luamig_bin() { return LUAMIG_BIN; }

RunResult luamig(const std::vector<std::string>& args, const RunOptions& opts) {
  std::vector<std::string> argv;
  argv.reserve(args.size() + 1);
  argv.push_back(luamig_bin());
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, opts);
}

// ---------------------------------------------------------------- Spawned

void Spawned::start(const std::vector<std::string>& argv, const RunOptions& opts) {
  if (pid_ > 0) throw std::logic_error("Spawned::start: already started");
  ChildFds fds;
  try {
    fds.in = open_stdin(opts.stdin_data);
    fds.out = make_memfd("luamig-test-stdout");
    fds.err = make_memfd("luamig-test-stderr");
    pid_ = spawn(argv, opts, fds);
  } catch (...) {
    close_fd(fds.in);
    close_fd(fds.out);
    close_fd(fds.err);
    throw;
  }
  close_fd(fds.in);
  out_fd_ = fds.out;
  err_fd_ = fds.err;
  reaped_ = false;
  status_ = -1;
  timeout_ms_ = opts.timeout_ms;
  what_ = join_argv(argv);
}

bool Spawned::running() {
  if (pid_ <= 0 || reaped_) return false;
  int ws;
  pid_t r = ::waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = decode_status(ws);
    return false;
  }
  return true;
}

void Spawned::kill(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

RunResult Spawned::wait(int timeout_ms) {
  if (pid_ <= 0) throw std::logic_error("Spawned::wait: not started");
  if (timeout_ms < 0) timeout_ms = timeout_ms_;
  if (!reaped_) {
    int ws = 0;
    if (!wait_pid(pid_, timeout_ms, ws)) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &ws, 0);
      reaped_ = true;
      status_ = decode_status(ws);
      std::string out = out_so_far(), err = err_so_far();
      throw RunTimeout("timeout: " + what_ + " did not finish within " + std::to_string(timeout_ms) +
                       " ms and was killed\n--- stdout ---\n" + tail(out) + "\n--- stderr ---\n" + tail(err));
    }
    reaped_ = true;
    status_ = decode_status(ws);
  }
  RunResult r;
  r.status = status_;
  r.out = out_so_far();
  r.err = err_so_far();
  return r;
}

std::string Spawned::out_so_far() const { return read_all_fd(out_fd_); }
std::string Spawned::err_so_far() const { return read_all_fd(err_fd_); }

bool Spawned::wait_for_output(const std::string& needle, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    bool alive = running();
    if (out_so_far().find(needle) != std::string::npos || err_so_far().find(needle) != std::string::npos)
      return true;
    if (!alive || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Spawned::reset() noexcept {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int ws;
    while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
  }
  close_fd(out_fd_);
  close_fd(err_fd_);
  pid_ = -1;
  reaped_ = false;
  status_ = -1;
}

Spawned::~Spawned() { reset(); }

Spawned::Spawned(Spawned&& o) noexcept { *this = std::move(o); }

Spawned& Spawned::operator=(Spawned&& o) noexcept {
  if (this != &o) {
    reset();
    pid_ = std::exchange(o.pid_, -1);
    out_fd_ = std::exchange(o.out_fd_, -1);
    err_fd_ = std::exchange(o.err_fd_, -1);
    reaped_ = std::exchange(o.reaped_, false);
    status_ = std::exchange(o.status_, -1);
    timeout_ms_ = o.timeout_ms_;
    what_ = std::move(o.what_);
  }
  return *this;
}

}  // namespace luamig::test
