#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ (one per hand-written parser; properties in tests/fuzz/properties.hpp):
# builds the "fuzz" preset (clang, -fsanitize=fuzzer,address,undefined) into build-fuzz/, then runs each target
# for SECONDS seconds (default 60) with its corpus in build-fuzz/corpus/<target>/. A crash leaves its input as
# build-fuzz/crash-<hash>; reproduce with build-fuzz/<target>_fuzz <that file>.
#
#   scripts/fuzz.sh                 every target, 60 s each
#   SECONDS_EACH=30 scripts/fuzz.sh url header   only these targets
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SECONDS_EACH:-60}
cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j"${JOBS:-$(nproc)}" --target fuzz_targets >/dev/null
if [ "$#" -gt 0 ]; then targets=("$@"); else
  mapfile -t targets < <(ls tests/fuzz/*_fuzz.cpp | sed 's|.*/||; s|_fuzz\.cpp$||')
fi
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "scripts/fuzz.sh: $t for $seconds s"
  if (cd build-fuzz && "./${t}_fuzz" -max_total_time="$seconds" -max_len=1024 -print_final_stats=1 "corpus/$t" \
      >"$t.log" 2>&1); then result=ok; else result=FAILED; status=1; fi
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|luamig fuzz)' \
    "build-fuzz/$t.log" || true
  echo "scripts/fuzz.sh: $t $result (log: build-fuzz/$t.log)"
done
exit "$status"
