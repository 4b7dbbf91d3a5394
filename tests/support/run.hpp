// Child processes for the tests, and the one helper that runs the luamig binary: luamig(args, RunOptions)
// with the arguments, environment, working directory and stdin; the RunResult keeps the exit status, stdout
// and stderr apart (all() joins them). Integration tests reach it through cli.hpp (luamig_in, cli).
//
//   auto r = luamig::test::luamig({"upgrade", "head"}, {.cwd = proj.path(), .stdin_data = "y\n"});
//   CHECK(r.status == 0);
//
// Children are hermetic by default: NO_COLOR=1 is set and DATABASE_URL, every
// LUAMIG_*, PG* and LUA_* variable are removed unless given in RunOptions::env.
// stdout/stderr are captured into anonymous in-memory files (no pipe can fill
// up, so huge output never deadlocks), children get no stray descriptors, run
// in their own process group and are SIGKILLed if the test process dies
// (PR_SET_PDEATHSIG: this fires when the *thread* that started the child
// exits, so start Spawned processes from a thread that outlives them).
//
// RunOptions::env overrides everything (also the scrubbing and NO_COLOR);
// RunOptions::unset_env removes further variables (list "NO_COLOR" there to
// run a child without NO_COLOR).
#pragma once

#include <sys/types.h>

#include <csignal>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace luamig::test {

struct RunResult {
  int status = -1;  // exit code, or 128 + signal number if killed by a signal
  std::string out;  // captured stdout
  std::string err;  // captured stderr

  bool ok() const { return status == 0; }
  // out + err, handy for CHECK_THAT(r.all(), Contains(...)).
  std::string all() const { return out + err; }
  // Human-readable dump (status, stdout, stderr) for failure messages.
  std::string describe() const;
};
std::ostream& operator<<(std::ostream& os, const RunResult& r);

struct RunOptions {
  std::string cwd;                                       // empty: inherit
  std::vector<std::pair<std::string, std::string>> env;  // added / overridden
  std::vector<std::string> unset_env;                    // removed as well
  std::string stdin_data;                                // fed on stdin (then EOF)
  int timeout_ms = 120000;                               // <= 0: no timeout
  // Harness extension: run the child as this user (only possible as root).
  std::string run_as_user;
};

// Thrown when a child exceeds its timeout (it has been SIGKILLed).
struct RunTimeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs argv[0] (searched in PATH) and waits for it. Throws std::runtime_error
// if it cannot be started, RunTimeout on timeout.
RunResult run(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Runs the luamig binary under test (LUAMIG_BIN) with args.
RunResult luamig(const std::vector<std::string>& args, const RunOptions& opts = {});
std::string luamig_bin();

// A background child process (concurrency / kill tests). The destructor
// SIGKILLs and reaps the child if it is still running.
class Spawned {
 public:
  Spawned() = default;
  Spawned(const std::vector<std::string>& argv, const RunOptions& opts = {}) { start(argv, opts); }
  ~Spawned();
  Spawned(Spawned&& other) noexcept;
  Spawned& operator=(Spawned&& other) noexcept;
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  // Starts the process; throws if already started or if exec fails.
  void start(const std::vector<std::string>& argv, const RunOptions& opts = {});
  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // True while the child has not exited (reaps it if it has).
  bool running();
  // Sends a signal to the child (not its process group). Ignored once reaped.
  void kill(int sig = SIGKILL);
  // Waits for exit. timeout_ms < 0: use the start options' timeout; on
  // timeout the child is SIGKILLed and RunTimeout is thrown.
  RunResult wait(int timeout_ms = -1);
  // Output captured so far (safe to call while running).
  std::string out_so_far() const;
  std::string err_so_far() const;
  // Polls until stdout or stderr contains needle; returns false on timeout
  // or if the child exits without printing it.
  bool wait_for_output(const std::string& needle, int timeout_ms = 30000);

 private:
  void reset() noexcept;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  int timeout_ms_ = 120000;
  std::string what_;  // command line, for error messages
};

// Shell-ish rendering of argv for messages.
std::string join_argv(const std::vector<std::string>& argv);

}  // namespace luamig::test
