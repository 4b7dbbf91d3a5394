#!/usr/bin/env bash
# AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer: builds the "asan" preset (CMakePresets.json: GCC,
# -O0 -g1, LUAMIG_SANITIZE=ON) into build-asan/ and runs every unit test ("[unit]", the random-input tests
# included) and an integration subset that drives the instrumented luamig binary on both databases.
#
# The subset (SANITIZE_SUBSET, a ctest -R regex) is chosen for the Lua host and the databases, where memory errors
# would hide: every sandbox test (errors, hostile error objects, time and memory limits, deep recursion, stuck C
# functions), every op on both databases (the op binding, marshalling, the renderers, both connections), the SQLite
# connection's tests (authorizer, table rebuilds) and one core test of an SQL error (the failure record with
# statement and SQLSTATE). The other core tests and the rest of the suite (env, lint, history, verify, import,
# query...) drive the same run loop through other verbs; they run in the release build of the test step, and
# here they would take several times the subset's time for little new coverage. The preset builds only the
# integration test files of the subset (LUAMIG_INTEGRATION_TESTS).
# -O0 rather than -O1: the build is most of this step's time and -O0 compiles 2-4x faster; the tests are bound by
# PostgreSQL and process start-up, not by luamig's speed. The test code itself is compiled without instrumentation
# (CMakeLists.txt; half the compile time of those files): src/ and the luamig binary are instrumented, and the
# runtime still checks every heap and string call made from the test code.
#
# How reports are caught: ASan and UBSan abort the process (abort_on_error, halt_on_error), so a report in the
# test binary or in a luamig child makes its test fail (nearly all tests check exact exit statuses; a sanitizer
# abort is 134). ASan and LSan reports are also written to files (log_path) that are checked at the end, so a report
# in a child whose test expects some failure still fails this step. UBSan's reports go to stderr whatever log_path
# says (GCC 12's runtime, measured): in a child they are caught by the abort and the exit status only.
#
# LuaJIT under ASan: Debian's libluajit-5.1.a is not instrumented, so accesses made inside LuaJIT itself are not
# checked; everything on the engine's side of each call is. LuaJIT runs under ASan because (1) it is a GC64 build
# and the engine creates every state with lua_newstate and its own counting allocator (src/luahost/limits.cpp:
# limited_alloc, std::realloc), so every Lua object lives in ASan's heap, with redzones and use-after-free
# detection, and needs no low addresses; (2) the JIT compiler is switched off (src/luahost/lua_state.cpp), so no
# machine code is generated. One limit: a Lua error unwinds the C stack (_Unwind_RaiseException), and ASan clears
# the stack poisoning of the unwound frames only on stacks up to 64 MiB; luamig runs Lua on a thread with a
# 256 MiB stack (src/main.cpp), so ASan prints "ignoring requested __asan_handle_no_return" and could in principle
# report a false stack overflow after a Lua error on that thread. None has been seen; such a warning is not a
# failure here, a report is.
#
# Leak suppressions (.ci/lsan.supp): none are needed (no leak at exit from libpq, libpqxx or LuaJIT was reported).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/timing.sh
jobs=${JOBS:-$(nproc)}
cmake --preset asan ${LUAMIG_WERROR:+-DLUAMIG_WERROR=$LUAMIG_WERROR} >/dev/null
cmake --build build-asan -j"$jobs" --target luamig luamig_tests >/dev/null
echo ".ci/sanitize.sh: built in $(elapsed) s"

reports=$(mktemp -d)
chmod 1777 "$reports"  # the integration tests may run luamig as another user
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=0
ASAN_OPTIONS+=:log_path=$reports/report
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/.ci/lsan.supp:print_suppressions=0
status=0
build-asan/luamig_tests "[unit]" >"$reports/unit.log" 2>&1 || status=$?
tail -n 3 "$reports/unit.log"
[ "$status" -eq 0 ] || cat "$reports/unit.log"
echo ".ci/sanitize.sh: unit tests done after $(elapsed) s"
# The integration subset: one ctest run, parallel (each test starts its own throwaway PostgreSQL as needed).
subset=${SANITIZE_SUBSET:-^(sandbox:|ops:|sqlite |core: an SQL error)}
ctest --test-dir build-asan -j"$jobs" --output-on-failure -R "$subset" || status=$?
# Warnings (such as the one about the 256 MiB stack above) are not failures; reports are.
found=$(grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$reports"/report.* 2>/dev/null || true)
if [ -n "$found" ]; then
  echo ".ci/sanitize.sh: sanitizer reports:"
  for f in $found; do
    echo "--- $f"
    head -n 60 "$f"
  done
  status=1
fi
rm -rf "$reports"
echo ".ci/sanitize.sh: done in $(elapsed) s: $([ "$status" -eq 0 ] && echo ok || echo FAILED)"
exit "$status"
