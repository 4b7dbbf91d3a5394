#pragma once
// SIGINT/SIGTERM as a request to stop, handled on an ordinary thread instead of in a signal handler.
//
// install() blocks both signals in the calling thread (so in every thread created after it) and starts a
// watcher thread that waits for them with sigwait(). What a signal does depends on whether a StopScope is
// alive:
// - none (read-only verbs, scaffolding): the process ends at once with status 128 + signal. Nothing luamig
//   does outside a StopScope leaves work half done that a transaction would not undo.
// - one or more (a migration run): the stop flag is set and every registered stop action runs on the watcher
//   thread (cancel the running statement, interrupt Lua); the actions repeat every 100 ms until the run calls
//   acknowledge(), which closes the race of a statement sent just after the flag was read. The run then rolls
//   back, releases its lock and returns with status 128 + signal.
// A second signal, or a graceful stop taking longer than 10 s, ends the process at once (the server rolls
// back the open transaction when the connection drops, so the database stays at a revision boundary).
#include <chrono>
#include <functional>
#include <string>

#include "util/error.hpp"

namespace luamig::interrupt {

// REQUIRES: called once, from main(), before any other thread exists.
void install();

// The signal that asked luamig to stop (SIGINT or SIGTERM); 0 when none arrived.
int requested();
// "SIGINT", "SIGTERM".
std::string signal_name(int sig);
// 128 + the signal: 130 for SIGINT, 143 for SIGTERM.
int exit_status(int sig);

// While alive, a signal stops gracefully (see above).
class StopScope {
 public:
  StopScope();
  ~StopScope();
  StopScope(const StopScope&) = delete;
  StopScope& operator=(const StopScope&) = delete;
};

// A stop action, registered for the lifetime of this object. The action runs on the watcher thread, possibly
// several times; it must be thread-safe against the thread that owns what it cancels (PQcancel is).
class OnStop {
 public:
  explicit OnStop(std::function<void()> action);
  ~OnStop();
  OnStop(const OnStop&) = delete;
  OnStop& operator=(const OnStop&) = delete;

 private:
  int id_;
};

// The run has seen the stop and is cleaning up: stop actions do not run again. When this returns, no action
// is running.
void acknowledge();

// Sleeps for `d`, or less when a stop is requested. Returns false when it returned early because of a stop.
bool sleep_for(std::chrono::milliseconds d);

// A stop reported to the user: exit status 128 + signal, message "stopped by SIGTERM <where>".
class Stopped : public RunError {
 public:
  Stopped(int sig, const std::string& message) : RunError(make(sig, message)) {}
  // With the whole text already composed (where the run stopped, what became of the work).
  Stopped(int sig, const std::string& message, std::string report)
      : RunError(make(sig, message, std::move(report))) {}

 private:
  static Failure make(int sig, const std::string& message, std::string report = "") {
    Failure f;
    f.kind = FailureKind::Stopped;
    f.signal = sig;
    f.message = message;
    f.report = std::move(report);
    return f;
  }
};

// Throws Stopped("stopped by SIG... <where>") when a stop was requested.
void throw_if_requested(const std::string& where);

// For tests: forget a previous stop request.
void reset_for_tests();
}  // namespace luamig::interrupt
