#!/usr/bin/env bash
# Static analysis: clang-tidy with the checked-in .clang-tidy over every src/*.cpp (and the src/ headers they
# include), using the compile_commands.json of a configure-only build directory (build-tidy/). Files run in
# parallel (JOBS, default: the number of CPUs). Any finding fails the check (WarningsAsErrors).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/timing.sh
build=build-tidy
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DLUAMIG_BUILD_TESTS=OFF \
  >/dev/null
mapfile -t files < <(find src -name '*.cpp' | sort)
log=$(mktemp)
status=0
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet >"$log" 2>&1 || status=$?
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' \
  "$log" || true
rm -f "$log"
echo ".ci/tidy.sh: ${#files[@]} files in $(elapsed) s with $jobs jobs: $([ "$status" -eq 0 ] && echo ok || echo FAILED)"
exit "$status"
