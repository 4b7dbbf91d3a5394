#!/usr/bin/env bash
# THE test command: builds luamig (Release, into build/) and runs the whole test suite with ctest.
# Unit tests and integration tests run together; integration tests start their own throwaway PostgreSQL 15
# (as `nobody` when run as root), so no database needs to be set up beforehand.
#
#   scripts/test.sh                 build and run every test
#   scripts/test.sh -R '^core:'     extra arguments go to ctest (here: only the core integration tests)
#
# Environment: LUAMIG_WERROR=ON treats compiler warnings as errors (CI does this); JOBS sets the parallelism
# (default: the number of CPUs); BUILD_DIR changes the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLUAMIG_WERROR="${LUAMIG_WERROR:-OFF}"
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs" "$@"
