#include "util/interrupt.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace luamig::interrupt {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRepeat = std::chrono::milliseconds(100);
constexpr auto kGrace = std::chrono::seconds(10);

std::atomic<int> g_signal{0};

// Never destroyed: the detached watcher and stopper threads may still wait on them while the process exits.
struct State {
  std::mutex mu;               // guards everything below; held while stop actions run
  std::condition_variable cv;  // notified when a stop arrives
  int scopes = 0;
  bool acknowledged = false;
  int next_id = 0;
  std::map<int, std::function<void()>> actions;
};
State& state() {
  static State* s = new State;
  return *s;
}

// Async-signal-safe enough for a last word before _exit: a single write(2).
void say_and_exit(int sig, const char* why) {
  std::string text =
      fmt::format("luamig: {} ({}); exiting at once, the server rolls back the open transaction\n", why,
                  signal_name(sig));
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
  ::_exit(exit_status(sig));
}

void run_actions_locked() {
  for (auto& [id, action] : state().actions) {
    try {
      action();
    } catch (...) {
    }
  }
}

// Runs the stop actions now and every kRepeat until acknowledged; ends the process when the grace period is
// over.
void stopper(int sig) {
  auto deadline = Clock::now() + kGrace;
  std::unique_lock lock(state().mu);
  while (Clock::now() < deadline) {
    if (!state().acknowledged) run_actions_locked();
    state().cv.wait_for(lock, kRepeat);
  }
  lock.unlock();
  say_and_exit(sig, "the graceful stop took longer than 10 s");
}

void watcher() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    std::unique_lock lock(state().mu);
    if (g_signal.load() != 0) {
      lock.unlock();
      say_and_exit(sig, "second stop signal");
    }
    if (state().scopes == 0) ::_exit(exit_status(sig));
    g_signal.store(sig);
    state().cv.notify_all();
    lock.unlock();
    std::thread(stopper, sig).detach();
  }
}
}  // namespace

void install() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // As PID 1 in a container, a signal left at SIG_DFL can be dropped by the kernel; a handler (never run, the
  // signals stay blocked in every thread) makes sure SIGTERM from `docker stop` reaches sigwait().
  struct sigaction action {};
  action.sa_handler = [](int) {};
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::thread(watcher).detach();
}

int requested() { return g_signal.load(); }

std::string signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return fmt::format("signal {}", sig);
}

int exit_status(int sig) { return 128 + sig; }

StopScope::StopScope() {
  std::lock_guard lock(state().mu);
  ++state().scopes;
}

StopScope::~StopScope() {
  std::lock_guard lock(state().mu);
  --state().scopes;
}

OnStop::OnStop(std::function<void()> action) {
  std::lock_guard lock(state().mu);
  id_ = ++state().next_id;
  state().actions.emplace(id_, std::move(action));
  // Registered after the stop arrived: the stopper will run it on its next round unless acknowledged.
}

OnStop::~OnStop() {
  std::lock_guard lock(state().mu);
  state().actions.erase(id_);
}

void acknowledge() {
  std::lock_guard lock(state().mu);
  state().acknowledged = true;
}

bool sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(state().mu);
  return !state().cv.wait_for(lock, d, [] { return g_signal.load() != 0; });
}

void throw_if_requested(const std::string& where) {
  if (int sig = requested()) throw Stopped(sig, fmt::format("stopped by {} {}", signal_name(sig), where));
}

void reset_for_tests() {
  std::lock_guard lock(state().mu);
  g_signal.store(0);
  state().acknowledged = false;
}
}  // namespace luamig::interrupt
