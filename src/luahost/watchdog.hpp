#pragma once
// The time limit's second line of defence.
//
// The engine's count hook stops Lua code at its deadline, but hooks never run inside a C function: a
// backtracking pattern such as ("a"):rep(40):find(("a*"):rep(20) .. "b") or a huge plain find can run for
// hours in one call. When Lua code is still running `grace` after its deadline, the watchdog prints what was
// running and ends the process with exit status 1. That is safe for a migration: PostgreSQL rolls the open
// transaction back when the connection drops, and a session advisory lock goes with it.
//
// arm()/disarm() are cheap (atomics, no wake-up): the engine calls them around every database call so that
// time spent waiting on the database never counts. The thread polls a few times a second and starts on first
// arm().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace luamig::luahost {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog() = default;
  ~Watchdog();  // stops the thread; never ends the process
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // From now on, the process ends at `deadline + grace` unless disarm() or arm() comes first.
  // `limit` is the time limit that applies, named in the message.
  void arm(Clock::time_point deadline, std::chrono::milliseconds limit);
  void disarm();
  bool armed() const { return kill_at_.load(std::memory_order_relaxed) != 0; }

  // What runs ("upgrade of revision ab12 (add users)") and in which file, for the message.
  void set_activity(std::string what);
  void set_file(std::string file);

  // The message printed before the process ends (exposed for tests).
  std::string message(std::chrono::milliseconds overrun) const;

 private:
  void run();
  [[noreturn]] void fire(std::chrono::milliseconds overrun);

  std::atomic<long long> kill_at_{0};  // steady-clock nanoseconds; 0 = disarmed
  std::atomic<long long> limit_ms_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string what_ = "Lua code";
  std::string file_;
  std::thread thread_;
};

// How long the watchdog waits after a deadline: a tenth of the limit, at least 2 s and at most 30 s.
std::chrono::milliseconds watchdog_grace(std::chrono::milliseconds limit);
}  // namespace luamig::luahost
