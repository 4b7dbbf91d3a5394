#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer: builds the "asan" preset (CMakePresets.json: GCC, -O1,
# LUAMIG_SANITIZE=ON) into build-asan/ and runs every unit test ("[unit]", the random-input tests included) and an
# integration subset that drives the instrumented luamig binary on both databases: the core commands, SQLite, the
# sandbox and the ops. Any sanitizer report ends the test process with an error.
#
# LuaJIT comes from Debian's static archive, which is not instrumented: ASan sees the engine's side of every call
# (allocations through the engine's allocator, strings copied out of Lua), not LuaJIT's internals.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/timing.sh
jobs=${JOBS:-$(nproc)}
cmake --preset asan ${LUAMIG_WERROR:+-DLUAMIG_WERROR=$LUAMIG_WERROR} >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
echo ".ci/sanitize.sh: built in $(elapsed) s"
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/.ci/lsan.supp:print_suppressions=0
status=0
build-asan/luamig_tests "[unit]" || status=$?
echo ".ci/sanitize.sh: unit tests done after $(elapsed) s"
# The integration subset: one ctest run, parallel (each test starts its own throwaway PostgreSQL as needed).
ctest --test-dir build-asan -j"$jobs" --output-on-failure -R "${SANITIZE_SUBSET:-^(core|sqlite|sandbox|ops):}" \
  || status=$?
echo ".ci/sanitize.sh: done in $(elapsed) s: $([ "$status" -eq 0 ] && echo ok || echo FAILED)"
exit "$status"
