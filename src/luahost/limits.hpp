#pragma once
// Internal to luahost/. What bounds a Lua state while sandboxed code runs (the contract is Limits in
// engine.hpp):
// - memory: a counting allocator (Allocator) whose budget also pays for the copies the host makes of Lua
// values
//   on a migration's behalf (HostCopies);
// - time: a deadline checked by the count hook, moved forward while the database is awaited (DbWait), with
// the
//   watchdog behind it for work stuck inside one C function;
// - nesting: Lua frames and C stack depth, checked by the same hook;
// - interrupt: request_interrupt() (engine.hpp), checked by the same hook.
// A stop re-arms the hook at every instruction: a pcall in the script cannot swallow it.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "luahost/watchdog.hpp"

struct lua_State;
struct lua_Debug;

namespace luamig::luahost::detail {

using Clock = std::chrono::steady_clock;

constexpr int kHookPeriod = 1000;
inline const char kTimeoutMessage[] = "time limit exceeded";
inline const char kMemoryMessage[] = "memory limit exceeded";
inline const char kInterruptMessage[] = "interrupted: luamig was asked to stop";
// Lua frames one coroutine may nest before the hook stops it. LuaJIT's own limit (65500 stack slots) raises
// "stack overflow" without running the message handler, so the position would be lost; this limit comes first
// for ordinary recursion (a few slots per frame).
constexpr int kMaxLuaDepth = 7000;

// Set from another thread by request_interrupt(); read by the count hook of every engine.
extern std::atomic<bool> g_interrupt;

std::string format_size(size_t bytes);

// ---- allocation with a limit
// -------------------------------------------------------------------------------------- `limit` is checked
// by the count hook, which raises an ordinary error (with file:line) once the live heap exceeds it. The
// allocator itself refuses growth past `hard` (LuaJIT then raises LUA_ERRMEM and the state stays usable): a
// single huge request such as string.rep("x", 2^30) never reaches the system allocator.
struct Allocator {
  size_t used = 0;
  size_t limit = 0;  // 0 = none
  size_t hard = 0;   // refused beyond this
  bool enforce = true;
  bool refused = false;
};

// The allocator function; its user data is the state's LimitState.
void* limited_alloc(void* ud, void* ptr, size_t osize, size_t nsize);

// The limits' bookkeeping of one Lua state; the allocator's user data (lua_newstate(limited_alloc, &state)).
struct LimitState {
  Allocator alloc;
  // Time: `deadline` moves forward by the time spent waiting on the database (see DbWait).
  Clock::time_point deadline{};
  std::chrono::milliseconds limit{0};
  bool has_deadline = false;
  bool timed_out = false;
  int db_waits = 0;  // nesting of DbWait
  Clock::time_point db_wait_started{};
  Watchdog watchdog;
  // Memory: heap size after the last collection the hook ran; set once the limit was exceeded (then, as for a
  // timeout, every instruction raises: a pcall cannot swallow it).
  size_t gc_mark = 0;
  bool memory_exceeded = false;
  // C stack: the hook raises "stack overflow" when a C recursion brings the stack pointer below this address.
  uintptr_t c_stack_floor = 0;
  // Where a timeout or the memory limit first hit (the position the hook saw, not where the error surfaced).
  std::string stop_file;
  int stop_line = 0;

  // Arms the limits for one protected call of `ms` (0 = no time limit) running `file`.
  void start_call(std::chrono::milliseconds ms, const std::string& file);
  // Disarms everything and forgets the last stop.
  void clear();

  // Time spent waiting on the database does not count against the Lua time limit (nor the watchdog).
  void pause_clock() {
    if (db_waits++ > 0 || !has_deadline) return;
    db_wait_started = Clock::now();
    watchdog.disarm();
  }
  void resume_clock() {
    if (--db_waits > 0 || !has_deadline) return;
    deadline += Clock::now() - db_wait_started;
    watchdog.arm(deadline, limit);
  }
};

LimitState* limits_of(lua_State* L);

// RAII: a database call in progress (see LimitState::pause_clock).
struct DbWait {
  LimitState* rt;
  explicit DbWait(LimitState* r) : rt(r) { rt->pause_clock(); }
  ~DbWait() { rt->resume_clock(); }
  DbWait(const DbWait&) = delete;
  DbWait& operator=(const DbWait&) = delete;
};

// The innermost frame of a user file (chunks named "@path"; engine chunks are named "=lua/...") from `level`
// down; false when there is none.
bool user_frame(lua_State* L, int level, std::string& file, int& line);

// The lowest address the C stack of the calling thread may reach while Lua runs.
uintptr_t c_stack_floor();

// The count hook: interrupt, deadline, memory, C stack and Lua nesting.
void count_hook(lua_State* L, lua_Debug*);
[[noreturn]] void raise_timeout(lua_State* L, LimitState* rt);
[[noreturn]] void raise_memory(lua_State* L, LimitState* rt);

// ---- C++ copies made on a migration's behalf ---------------------------------------------------------
// Bound parameters, COPY rows, array literals and statements copied out of Lua count against
// lua_memory_limit while they live, in the same budget as the Lua heap (Allocator::used): the allocator and
// this path both charge it, so neither can take the process past the limit the other left. Exceeding it
// raises the same memory error.

struct HostMemoryExceeded : std::exception {
  const char* what() const noexcept override { return kMemoryMessage; }
};

class HostCopies {
 public:
  explicit HostCopies(lua_State* L) : L_(L), a_(limits_of(L)->alloc) {}
  ~HostCopies() { a_.used -= charged_; }
  HostCopies(const HostCopies&) = delete;
  HostCopies& operator=(const HostCopies&) = delete;

  // Counts `bytes` more; throws HostMemoryExceeded when the budget cannot hold them (after a full collection:
  // the Lua heap's garbage must not count).
  void charge(size_t bytes);

 private:
  lua_State* L_;
  Allocator& a_;
  size_t charged_ = 0;
  bool collected_ = false;
};

// What one bound value costs while a statement runs: luamig's copy, and the driver's (libpq parameters, or
// the value inlined into the statement text).
constexpr size_t kParamOverhead = 32;
inline size_t param_cost(size_t text_bytes) { return 2 * text_bytes + kParamOverhead; }

}  // namespace luamig::luahost::detail
