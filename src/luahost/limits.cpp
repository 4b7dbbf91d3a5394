// Limits of a Lua state: the counting allocator, the count hook (deadline, memory, C stack, nesting,
// interrupt), and how a stop is raised so that pcall cannot swallow it.
#include "luahost/limits.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <lua.hpp>

namespace luamig::luahost {
namespace detail {

std::atomic<bool> g_interrupt{false};

LimitState* limits_of(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return static_cast<LimitState*>(ud);
}

std::string format_size(size_t bytes) {
  if (bytes % (size_t{1} << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes % (size_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

void* limited_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  Allocator* a = &static_cast<LimitState*>(ud)->alloc;
  if (nsize == 0) {
    a->used -= (ptr ? osize : 0);
    std::free(ptr);
    return nullptr;
  }
  size_t old = ptr ? osize : 0;
  if (nsize > old && a->enforce && a->hard && a->used - old + nsize > a->hard) {
    a->refused = true;
    return nullptr;  // LuaJIT raises LUA_ERRMEM; the state stays usable
  }
  void* p = std::realloc(ptr, nsize);
  if (p) a->used = a->used - old + nsize;
  return p;
}

// The lowest address the C stack of the calling thread may reach while Lua runs: a quarter of the room left
// (at most 32 MiB) stays free. Between two runs of the count hook (1000 instructions) a C recursion such as
// nested gsub callbacks (~8.5 KB per level, several instructions per level) grows the stack by a few MiB at
// most.
uintptr_t c_stack_floor() {
  thread_local uintptr_t floor = [] {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return uintptr_t{0};
    void* addr = nullptr;
    size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    char here;
    auto low = reinterpret_cast<uintptr_t>(addr);
    auto current = reinterpret_cast<uintptr_t>(&here);
    if (!addr || current <= low) return uintptr_t{0};
    size_t room = current - low;
    return low + std::min<size_t>(size_t{32} << 20, room / 4);
  }();
  return floor;
}

bool user_frame(lua_State* L, int level, std::string& file, int& line) {
  lua_Debug ar;
  for (; lua_getstack(L, level, &ar); ++level) {
    if (!lua_getinfo(L, "Sl", &ar)) continue;
    if (ar.source && ar.source[0] == '@' && ar.currentline > 0) {
      file = ar.source + 1;
      line = ar.currentline;
      return true;
    }
  }
  return false;
}

void record_stop_position(lua_State* L, LimitState* rt) {
  if (rt->timed_out || rt->memory_exceeded) return;  // only the first time
  rt->stop_file.clear();
  rt->stop_line = 0;
  user_frame(L, 0, rt->stop_file, rt->stop_line);
}

[[noreturn]] void raise_timeout(lua_State* L, LimitState* rt) {
  record_stop_position(L, rt);
  rt->timed_out = true;
  // Re-arm at every instruction so that a pcall in the script cannot swallow the stop.
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, kTimeoutMessage);
  std::abort();  // not reached: luaL_error does not return
}

[[noreturn]] void raise_memory(lua_State* L, LimitState* rt) {
  record_stop_position(L, rt);
  rt->memory_exceeded = true;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  luaL_error(L, "%s (lua_memory_limit = %s)", kMemoryMessage, format_size(rt->alloc.limit).c_str());
  std::abort();  // not reached
}

void check_memory(lua_State* L, LimitState* rt) {
  Allocator& a = rt->alloc;
  // Near the limit, garbage must not count: collect (at most once per 1/16 of the limit allocated).
  if (a.used > a.limit / 4 * 3 && a.used > rt->gc_mark + a.limit / 16) {
    lua_gc(L, LUA_GCCOLLECT, 0);
    rt->gc_mark = a.used;
  }
  if (a.used > a.limit) raise_memory(L, rt);
}

void count_hook(lua_State* L, lua_Debug*) {
  LimitState* rt = limits_of(L);
  if (g_interrupt.load(std::memory_order_relaxed)) {
    // Same re-arming as for the time limit: a pcall in the script cannot swallow the stop.
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, kInterruptMessage);
  }
  if (rt->timed_out) raise_timeout(L, rt);
  if (rt->memory_exceeded || rt->alloc.refused) raise_memory(L, rt);
  if (rt->has_deadline && Clock::now() >= rt->deadline) raise_timeout(L, rt);
  if (rt->alloc.limit && rt->alloc.enforce && rt->alloc.used > rt->alloc.limit / 4 * 3) check_memory(L, rt);
  char here;
  if (reinterpret_cast<uintptr_t>(&here) < rt->c_stack_floor)
    luaL_error(L,
               "stack overflow: calls through C functions (string.gsub callbacks, table.sort comparators, "
               "__tostring, coroutines...) are nested too deeply");
  lua_Debug ar;
  if (lua_getstack(L, kMaxLuaDepth, &ar))
    luaL_error(L, "stack overflow: more than %d nested Lua calls (infinite recursion?)", kMaxLuaDepth);
}

void LimitState::start_call(std::chrono::milliseconds ms, const std::string& file) {
  limit = ms;
  has_deadline = ms.count() > 0;
  deadline = Clock::now() + ms;
  timed_out = false;
  db_waits = 0;
  alloc.refused = false;
  memory_exceeded = false;
  gc_mark = 0;
  c_stack_floor = detail::c_stack_floor();
  watchdog.set_file(file);
  if (has_deadline) watchdog.arm(deadline, ms);
}

void LimitState::clear() {
  has_deadline = false;
  timed_out = false;
  db_waits = 0;
  watchdog.disarm();
  alloc.refused = false;
  memory_exceeded = false;
  gc_mark = 0;
  stop_file.clear();
  stop_line = 0;
}

void HostCopies::charge(size_t bytes) {
  if (a_.limit && a_.enforce && a_.used + bytes > a_.limit) {
    if (!collected_) {
      collected_ = true;
      lua_gc(L_, LUA_GCCOLLECT, 0);
    }
    if (a_.used + bytes > a_.limit) throw HostMemoryExceeded{};
  }
  a_.used += bytes;
  charged_ += bytes;
}

}  // namespace detail

void request_interrupt() { detail::g_interrupt.store(true); }
void clear_interrupt() { detail::g_interrupt.store(false); }
}  // namespace luamig::luahost
