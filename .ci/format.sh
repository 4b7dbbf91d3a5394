#!/usr/bin/env bash
# Formatting check: every C++ file under src/, tests/ and bench/ must be exactly as clang-format writes it with the
# repo's .clang-format. Fix with:  clang-format -i $(find src tests -name '*.[ch]pp') bench/*.cpp
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/timing.sh
mapfile -t files < <(find src tests -name '*.cpp' -o -name '*.hpp' | sort; ls bench/*.cpp 2>/dev/null)
log=$(mktemp)
status=0
clang-format --dry-run -Werror "${files[@]}" >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  bad=$(grep -oE '^[^:]+\.(c|h)pp:[0-9]+' "$log" | cut -d: -f1 | sort -u || true)
  echo ".ci/format.sh: $(grep -c ': error:' "$log" || true) places in $(echo "$bad" | grep -c . || true) files differ" \
    "from clang-format's output:"
  echo "$bad" | sed 's/^/  /'
  echo "  first differences:"
  head -n 30 "$log" | sed 's/^/    /'
fi
rm -f "$log"
echo ".ci/format.sh: ${#files[@]} files checked in $(elapsed) s: $([ "$status" -eq 0 ] && echo ok || echo FAILED)"
exit "$status"
