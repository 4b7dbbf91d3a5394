#include "luahost/watchdog.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "util/duration.hpp"

namespace luamig::luahost {
namespace {
using namespace std::chrono_literals;
constexpr auto kPoll = 200ms;

long long to_ns(Watchdog::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
Watchdog::Clock::time_point from_ns(long long ns) {
  return Watchdog::Clock::time_point(
      std::chrono::duration_cast<Watchdog::Clock::duration>(std::chrono::nanoseconds(ns)));
}
}  // namespace

std::chrono::milliseconds watchdog_grace(std::chrono::milliseconds limit) {
  return std::clamp<std::chrono::milliseconds>(limit / 10, 2s, 30s);
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::arm(Clock::time_point deadline, std::chrono::milliseconds limit) {
  limit_ms_.store(limit.count(), std::memory_order_relaxed);
  kill_at_.store(to_ns(deadline + watchdog_grace(limit)), std::memory_order_release);
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void Watchdog::disarm() { kill_at_.store(0, std::memory_order_release); }

void Watchdog::set_activity(std::string what) {
  std::lock_guard lk(mu_);
  what_ = what.empty() ? "Lua code" : std::move(what);
}

void Watchdog::set_file(std::string file) {
  std::lock_guard lk(mu_);
  file_ = std::move(file);
}

std::string Watchdog::message(std::chrono::milliseconds overrun) const {
  std::chrono::milliseconds limit(limit_ms_.load(std::memory_order_relaxed));
  std::lock_guard lk(mu_);
  std::string text = fmt::format("ERROR: {} failed: time limit exceeded in a C function\n", what_);
  if (!file_.empty())
    text += fmt::format(
        "  at {} (the line is unknown: the time went into one call of a C function, such as a "
        "backtracking string.find)\n",
        file_);
  text += fmt::format(
      "  The Lua code was still running {} after its limit of {} (lua_time_limit, or the file's "
      "time_limit), so luamig ended the process.\n",
      format_duration(overrun), format_duration(limit));
  text +=
      "  PostgreSQL rolls the open transaction back when the connection drops: its changes are not "
      "applied.\n";
  return text;
}

void Watchdog::run() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    long long kill_at = kill_at_.load(std::memory_order_acquire);
    auto now = Clock::now();
    if (kill_at != 0 && now >= from_ns(kill_at)) {
      auto grace = watchdog_grace(std::chrono::milliseconds(limit_ms_.load(std::memory_order_relaxed)));
      auto overrun = std::chrono::duration_cast<std::chrono::milliseconds>(now - from_ns(kill_at)) + grace;
      lk.unlock();
      fire(overrun);
    }
    auto wake = now + kPoll;
    if (kill_at != 0) wake = std::min(wake, from_ns(kill_at));
    cv_.wait_until(lk, wake);
  }
}

void Watchdog::fire(std::chrono::milliseconds overrun) {
  // The Lua thread is stuck in a C function: no lock it could hold is taken here, and stdio is bypassed.
  std::string text = message(overrun);
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::_exit(1);
}
}  // namespace luamig::luahost
