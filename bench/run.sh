#!/usr/bin/env bash
# bench/run.sh: luamig's benchmark suite. See bench/README.md for the cases, the yardsticks and the knobs.
#
#   bench/run.sh                         # everything, 5 timed runs per case
#   BENCH_RUNS=11 bench/run.sh           # more runs
#   BENCH_ONLY='noop|version' bench/run.sh   # only the cases whose id matches the regex
#
# Builds a Release binary in build-bench/, starts a throwaway PostgreSQL server (initdb + pg_ctl in a temporary
# directory, 127.0.0.1, a free port, as `nobody` when run as root, fsync off), generates the fixtures, runs every
# case, and prints one table: medians, min, max, the yardstick measured in the same run, the ratio, peak RSS.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${BENCH_RUNS:-5}
WARMUP=${BENCH_WARMUP:-1}
BACKFILL_RUNS=${BENCH_BACKFILL_RUNS:-$RUNS}
BACKFILL_WARMUP=${BENCH_BACKFILL_WARMUP:-0}   # every run starts from a fresh copy of the table anyway
BACKFILL_SIZES=${BENCH_BACKFILL_ROWS:-1000000 5000000}
BACKFILL_BATCH=${BENCH_BACKFILL_BATCH:-10000}
ONLY=${BENCH_ONLY:-}
BUILD_DIR=${BENCH_BUILD_DIR:-$root/build-bench}
OUT=${BENCH_OUT:-$BUILD_DIR/bench-results.txt}
RSS_LIMIT_KIB=65536

die() {
  echo "bench: $*" >&2
  exit 1
}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number, got '$RUNS'"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a number, got '$WARMUP'"
[[ $BACKFILL_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_BACKFILL_RUNS must be a positive number"
[[ $BACKFILL_WARMUP =~ ^[0-9]+$ ]] || die "BENCH_BACKFILL_WARMUP must be a number"

# Nothing from the caller's environment may steer psql, libpq or luamig.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGOPTIONS PGSERVICE PGSSLMODE DATABASE_URL \
  LUAMIG_CONFIG LUAMIG_ENV 2>/dev/null || true
export LC_ALL=C TZ=UTC

# ------------------------------------------------------------------------------------------------ build
mkdir -p "$BUILD_DIR"
if [ -z "${LUAMIG:-}" ]; then
  echo "bench: building luamig (Release) in $BUILD_DIR" >&2
  cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLUAMIG_BUILD_TESTS=OFF >"$BUILD_DIR/cmake.log" 2>&1 ||
    { cat "$BUILD_DIR/cmake.log" >&2; die "cmake configure failed"; }
  cmake --build "$BUILD_DIR" -j "${BENCH_JOBS:-2}" --target luamig >>"$BUILD_DIR/cmake.log" 2>&1 ||
    { tail -50 "$BUILD_DIR/cmake.log" >&2; die "build failed (log: $BUILD_DIR/cmake.log)"; }
  LUAMIG=$BUILD_DIR/luamig
fi
[ -x "$LUAMIG" ] || die "$LUAMIG is not an executable"
LUAMIG=$(cd "$(dirname "$LUAMIG")" && pwd)/$(basename "$LUAMIG")
MEASURE=$BUILD_DIR/bench-measure
if [ ! -x "$MEASURE" ] || [ "$root/bench/measure.cpp" -nt "$MEASURE" ]; then
  "${CXX:-c++}" -O2 -std=c++17 -o "$MEASURE" "$root/bench/measure.cpp" || die "cannot compile bench/measure.cpp"
fi

# ------------------------------------------------------------------------------------------------ PostgreSQL
find_pg_bindir() {
  local d
  if [ -n "${BENCH_PG_BINDIR:-}" ]; then echo "$BENCH_PG_BINDIR"; return; fi
  d=$(pg_config --bindir 2>/dev/null || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
  die "PostgreSQL server binaries not found (set BENCH_PG_BINDIR)"
}
PGBIN=$(find_pg_bindir)
# The server's own psql binary: on Debian /usr/bin/psql is pg_wrapper, a Perl script that adds ~20 ms of start-up
# to every call and would flatter luamig in every start-up ratio.
PSQL=${BENCH_PSQL:-$PGBIN/psql}
[ -x "$PSQL" ] || PSQL=$(command -v psql) || die "psql not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/luamig-bench.XXXXXX")
chmod 755 "$work"
pg_started=""
cleanup() {
  if [ -n "$pg_started" ]; then
    (cd "$work" && as_pg "$PGBIN/pg_ctl" -D "$work/pg/data" -m immediate -s stop >/dev/null 2>&1) || true
  fi
  if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# PostgreSQL refuses to run as root: as root the server runs as nobody.
PG_USER=""
[ "$(id -u)" = 0 ] && PG_USER=${BENCH_PG_USER:-nobody}
as_pg() {
  if [ -n "$PG_USER" ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

mkdir -p "$work/pg"
[ -n "$PG_USER" ] && chown "$PG_USER" "$work/pg"
(cd "$work" && as_pg "$PGBIN/initdb" -D "$work/pg/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
  >"$work/initdb.log" 2>&1) || { cat "$work/initdb.log" >&2; die "initdb failed"; }
cat >>"$work/pg/data/postgresql.conf" <<EOF

# --- luamig bench: durability off (a throwaway server); the same settings for luamig and its yardsticks
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
max_wal_size = 4GB
checkpoint_timeout = 30min
max_connections = 50
lc_messages = 'C'
timezone = 'UTC'
EOF
port=""
for attempt in 1 2 3 4 5; do
  candidate=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
  if (cd "$work" && as_pg "$PGBIN/pg_ctl" -D "$work/pg/data" -l "$work/pg/postgres.log" -w -t 60 -s \
    -o "-p $candidate" start) >/dev/null 2>&1; then
    port=$candidate
    break
  fi
  (cd "$work" && as_pg "$PGBIN/pg_ctl" -D "$work/pg/data" -m immediate -s stop) >/dev/null 2>&1 || true
done
[ -n "$port" ] || { tail -20 "$work/pg/postgres.log" >&2; die "cannot start PostgreSQL"; }
pg_started=1

url() { echo "postgresql://postgres@127.0.0.1:$port/$1"; }
# Set-up statements (not timed): quiet, NOTICEs ("does not exist, skipping") suppressed.
sql() { PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(url postgres)" "$@"; }
sql_in() {
  local db=$1
  shift
  PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(url "$db")" "$@"
}
server_version=$(sql -tAc "SHOW server_version")
server_version_num=$(sql -tAc "SHOW server_version_num")
# PostgreSQL 15+: a template copied file by file, not through the WAL (much faster for the backfill tables).
copy_strategy=""
[ "$server_version_num" -ge 150000 ] && copy_strategy="STRATEGY FILE_COPY"
clone_db() { # clone_db NEW TEMPLATE
  sql -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\" TEMPLATE \"$2\" $copy_strategy"
}

# ------------------------------------------------------------------------------------------------ fixtures
# gen_project DIR N (bench/fixtures.sh): the fixture projects and their SQL scripts.
source "$root/bench/fixtures.sh"

# The tables a project's revisions alter (t0, t1, ...), as SQL.
tables_sql() {
  local n=$1 t
  for ((t = 0; t * 1000 < n; t++)); do printf 'CREATE TABLE "t%d" (id integer PRIMARY KEY);\n' "$t"; done
}

wanted() { [ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]; }

# sql_from_luamig DIR: the yardstick scripts are the statements `luamig upgrade/downgrade --sql` prints for the
# fixture, without its per-revision BEGIN/COMMIT (psql -1 runs them in one transaction) and without the DROP TABLE
# of the version table that an offline downgrade to base ends with (online, the table stays). They are compared
# with the generator's; a binary without --sql keeps the generated ones. Notes go into the report's header.
sql_from_luamig() {
  local dir=$1 kind note
  [ -f "$dir/.yardstick-checked" ] && return 0
  : >"$dir/.yardstick-checked"
  for kind in up down; do
    local range=base:head verb=upgrade
    [ $kind = down ] && range=head:base verb=downgrade
    if ! (cd "$dir" && "$LUAMIG" -q --url "$(url postgres)" $verb --sql $range) >"$dir/$kind.luamig" 2>/dev/null; then
      echo "yardstick $kind.sql: generated (this luamig has no $verb --sql)" >>"$work/notes.txt"
      continue
    fi
    grep -v -e '^BEGIN;$' -e '^COMMIT;$' -e '^--' -e '^$' -e '^DROP TABLE "alembic_version";$' "$dir/$kind.luamig" \
      >"$dir/$kind.luamig.sql"
    if cmp -s "$dir/$kind.luamig.sql" <(grep -v '^$' "$dir/$kind.sql"); then
      note="identical to luamig $verb --sql"
    else
      note="from luamig $verb --sql, which differs from the generator's (kept: $dir/$kind.generated.sql)"
      mv "$dir/$kind.sql" "$dir/$kind.generated.sql"
    fi
    cp "$dir/$kind.luamig.sql" "$dir/$kind.sql"
    echo "yardstick $kind.sql: $note" >>"$work/notes.txt"
  done
}

# ------------------------------------------------------------------------------------------------ measuring
mkdir -p "$work/res" "$work/logs"
rows_file=$work/rows.tsv
: >"$rows_file"

# timed RESULT_FILE LOG DIR CMD...: runs CMD in DIR under bench-measure; output goes to LOG; a failure ends the case.
timed() {
  local res=$1 log=$2 dir=$3
  shift 3
  (cd "$dir" && "$MEASURE" "$res" "$@" >>"$log" 2>&1) || die "bench-measure failed on: $*"
  local status
  status=$(tail -1 "$res" | cut -d' ' -f3)
  [ "$status" = 0 ] || die "'$*' exited with status $status (log: $log)"
}

# repeat_case ID [RUNS [WARMUP]]: WARMUP untimed then RUNS timed iterations of:
#   prep_lm; run_lm RESULT_FILE; check_lm; [prep_ys; run_ys RESULT_FILE; check_ys]   (yardstick when HAS_YS=1)
# luamig and its yardstick alternate, so slow drift of the machine's load hits both alike.
repeat_case() {
  local id=$1 runs=${2:-$RUNS} warmup=${3:-$WARMUP} r lres yres
  for ((r = 1; r <= warmup + runs; r++)); do
    if ((r <= warmup)); then lres=$work/res/warmup yres=$work/res/warmup; else lres=$work/res/$id.lm yres=$work/res/$id.ys; fi
    prep_lm
    run_lm "$lres"
    check_lm
    if [ "${HAS_YS:-0}" = 1 ]; then
      prep_ys
      run_ys "$yres"
      check_ys
    fi
  done
}
prep_lm() { :; }
check_lm() { :; }
prep_ys() { :; }
check_ys() { :; }

# summarise ID LABEL YARDSTICK_LABEL TARGET: appends the case's row (see print_table for the columns).
#   TARGET: ratio<=X | ratio<X | ms<X | tput>=X (luamig rows/s at least X times the yardstick's) | - (none)
summarise() {
  local id=$1 label=$2 ys_label=$3 target=$4
  local ys_file=$work/res/$id.ys
  [ -f "$ys_file" ] || ys_file=/dev/null
  awk -v id="$id" -v label="$label" -v ys_label="$ys_label" -v target="$target" -v limit="$RSS_LIMIT_KIB" '
    function median(a, n,   i, j, t) {
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    FNR == NR { t = $1 / 1e6; lm[++n] = t; lcpu[n] = $4 / 1e6
                if (n == 1 || t < mn) mn = t; if (t > mx) mx = t; if ($2 > rss) rss = $2; next }
    { ys[++m] = $1 / 1e6; ycpu[m] = $4 / 1e6; if ($2 > yrss) yrss = $2 }
    END {
      lmed = median(lm, n); lcmed = median(lcpu, n)
      ymed = m ? median(ys, m) : -1; ycmed = m ? median(ycpu, m) : -1
      ratio = m ? lmed / ymed : -1
      verdict = "-"
      if (target ~ /^ratio<=/) { x = substr(target, 8) + 0; verdict = (ratio <= x) ? "ok" : "MISSED" }
      else if (target ~ /^ratio</) { x = substr(target, 7) + 0; verdict = (ratio < x) ? "ok" : "MISSED" }
      else if (target ~ /^ms</) { x = substr(target, 4) + 0; verdict = (lmed < x) ? "ok" : "MISSED" }
      else if (target ~ /^tput>=/) { x = substr(target, 7) + 0; verdict = (ratio > 0 && 1 / ratio >= x) ? "ok" : "MISSED" }
      flag = rss > limit ? "RSS>64MiB" : ""
      printf "%s\t%s\t%.3f\t%.3f\t%.3f\t%s\t%.3f\t%.3f\t%s\t%s\t%d\t%d\t%d\t%.3f\t%.3f\t%s\n", id, label, lmed, mn, mx, ys_label, ymed, ratio, target, verdict, rss, yrss, n, lcmed, ycmed, flag
    }' "$work/res/$id.lm" "$ys_file" >>"$rows_file"
  print_row "$(tail -1 "$rows_file")" >&2
}

failed_case() { # failed_case ID LABEL: the case could not run to the end; shows the tail of its latest log
  printf '%s\t%s\tFAILED\n' "$1" "$2" >>"$rows_file"
  local latest
  latest=$(ls -t "$work"/logs/* 2>/dev/null | head -1)
  if [ -n "$latest" ]; then
    echo "bench: --- last lines of $(basename "$latest") ---" >&2
    tail -20 "$latest" >&2
  fi
  echo "bench: case $1 FAILED (BENCH_KEEP=1 keeps $work)" >&2
}
skipped_case() { printf '%s\t%s\tSKIPPED\t%s\n' "$1" "$2" "$3" >>"$rows_file"; echo "bench: $2: skipped ($3)" >&2; }

fmt_ms() { awk -v t="$1" 'BEGIN { if (t < 0) print "-"; else if (t >= 1000) printf "%.2f s", t / 1000; else printf "%.1f ms", t }'; }

print_row() {
  local IFS=$'\t'
  # shellcheck disable=SC2086
  set -- $1
  case "$3" in
  FAILED) printf '%-48s %s\n' "$2" "FAILED (the reason is printed above the table)"; return ;;
  SKIPPED) printf '%-48s skipped (%s)\n' "$2" "$4"; return ;;
  esac
  local ratio target
  ratio=$(awk -v r="$8" 'BEGIN { print (r < 0) ? "-" : sprintf("%.2fx", r) }')
  case "$9" in
  -) target="-" ;;
  ratio\<=*) target="<=${9#ratio<=}x ${10}" ;;
  ratio\<*) target="<${9#ratio<}x ${10}" ;;
  ms\<*) target="<${9#ms<} ms ${10}" ;;
  tput\>=*) target="rows/s>=${9#tput>=}x ${10}" ;;
  esac
  printf '%-48s %9s %9s %9s %9s  %-8s %9s %9s %7s  %-21s %6.1f MiB %s\n' "$2" "$(fmt_ms "$3")" "$(fmt_ms "$4")" \
    "$(fmt_ms "$5")" "$(fmt_ms "${14}")" "$6" "$(fmt_ms "$7")" "$(fmt_ms "${15}")" "$ratio" "$target" \
    "$(awk -v k="${11}" 'BEGIN { print k / 1024 }')" "${16:-}"
}

print_header() {
  printf '%-48s %9s %9s %9s %9s  %-8s %9s %9s %7s  %-21s %10s\n' "case" "median" "min" "max" "CPU" "vs" \
    "median" "CPU" "ratio" "target" "peak RSS"
}

# run_case ID LABEL FUNCTION: runs FUNCTION in a subshell (its hooks stay local); a failure is reported, not fatal.
run_case() {
  local id=$1 label=$2 fn=$3
  wanted "$id" || return 0
  echo "bench: $label ..." >&2
  set +e
  (
    set -e
    "$fn"
  )
  local rc=$?
  set -e
  [ $rc = 0 ] || failed_case "$id" "$label"
}

# ------------------------------------------------------------------------------------------------ cases
SIZES=(1 100 1000 10000)
need_project() { # need_project N: generates the fixture once
  local dir=$work/p$1
  [ -d "$dir" ] || gen_project "$dir" "$1"
}
luamig_in() { local dir=$1; shift; (cd "$dir" && "$LUAMIG" "$@"); }

# upgrade head with nothing to do, N revisions: the container entrypoint's case.
noop_case() {
  local n=$NOOP_N proj=$work/p$NOOP_N db=noop_$NOOP_N log=$work/logs/noop_$NOOP_N.log
  need_project "$n"
  sql -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  luamig_in "$proj" --url "$(url $db)" stamp head >>"$log" 2>&1 || die "stamp head failed (log: $log)"
  local head
  head=$(tail -1 "$proj/ids")
  [ "$(sql_in $db -tAc 'select version_num from alembic_version')" = "$head" ] || die "stamp did not reach $head"
  HAS_YS=1
  # NOOP_COLD=1: no header cache and no remembered heads, as in a container whose image was built without them.
  if [ -n "${NOOP_COLD:-}" ]; then prep_lm() { rm -f "$proj"/migrations/versions/.luamig-cache*; }; fi
  run_lm() { timed "$1" "$log" "$proj" "$LUAMIG" --url "$(url $db)" upgrade head; }
  check_lm() { tail -1 "$log" | grep -q "Nothing to do" || die "upgrade head did something (log: $log)"; }
  run_ys() { timed "$1" /dev/null "$work" "$PSQL" -X -q -d "$(url $db)" -c "select version_num from alembic_version"; }
  local id=noop_$n${NOOP_COLD:+_cold} target=-
  repeat_case "$id"
  luamig_in "$proj" heads >/dev/null   # leaves the caches warm for the cases that follow
  if [ -z "${NOOP_COLD:-}" ]; then
    [ "$n" = 1000 ] && target="ratio<=2"
    [ "$n" = 10000 ] && target="ratio<3"
  fi
  summarise "$id" "upgrade head, nothing to do, $n rev${NOOP_COLD:+, no cache}" "psql -c" "$target"
}

# Full upgrade head from an empty database (tables only), 1,000 revisions, vs psql -1 -f of the same SQL.
# ONE_TX=1: with transaction_per_migration = false (one transaction for the run, as psql -1 and Alembic's default).
config_args() {
  if [ -n "${ONE_TX:-}" ]; then
    printf 'script_location = "migrations"\ntransaction_per_migration = false\n' >"$proj/luamig-one-tx.lua"
    echo "-c luamig-one-tx.lua"
  fi
}
full_upgrade_case() {
  local n=1000 proj=$work/p1000 suffix=${ONE_TX:+_1tx}${PER_REV_YS:+_per_rev}
  local log=$work/logs/upgrade_1000$suffix.log id=upgrade_1000$suffix
  need_project "$n"
  sql_from_luamig "$proj"
  local -a cfg
  read -r -a cfg <<<"$(config_args)"
  sql -c "DROP DATABASE IF EXISTS tpl_empty_$n" -c "CREATE DATABASE tpl_empty_$n"
  tables_sql "$n" | sql_in "tpl_empty_$n" -f -
  HAS_YS=1
  local expect
  expect=$(tail -1 "$proj/ids")
  verify_up() {
    local got cols
    got=$(sql_in run_up -tAc "select version_num from alembic_version")
    cols=$(sql_in run_up -tAc "select count(*) from information_schema.columns where table_name = 't0'")
    [ "$got" = "$expect" ] && [ "$cols" = $((n + 1)) ] || die "$1: database at '$got' with $cols columns (log: $log)"
  }
  prep_lm() { clone_db run_up "tpl_empty_$n" >/dev/null; }
  run_lm() { timed "$1" "$log" "$proj" "$LUAMIG" "${cfg[@]}" --url "$(url run_up)" upgrade head; }
  check_lm() { verify_up "luamig upgrade head"; }
  prep_ys() { clone_db run_up "tpl_empty_$n" >/dev/null; }
  if [ -n "${PER_REV_YS:-}" ]; then
    # The same durability as luamig's default: `upgrade --sql` output, one BEGIN ... COMMIT per revision.
    run_ys() { timed "$1" "$log" "$work" "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(url run_up)" -f "$proj/up.luamig"; }
    check_ys() { verify_up "psql -f up.luamig (one transaction per revision)"; }
  else
    run_ys() { timed "$1" "$log" "$work" "$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$(url run_up)" -f "$proj/up.sql"; }
    check_ys() { verify_up "psql -1 -f up.sql"; }
  fi
  repeat_case "$id"
  local target="ratio<=1.5" ys="psql -1"
  [ -z "${PER_REV_YS:-}" ] || { target="ratio<=1.3"; ys="psql, 1 tx/rev"; }
  [ -z "${ONE_TX:-}" ] || target=-   # the issue's target is for the default configuration
  summarise "$id" "upgrade head from empty, $n rev${ONE_TX:+, 1 tx}" "$ys" "$target"
}

# downgrade base from head, 1,000 revisions, vs psql -1 -f of the reversed SQL.
downgrade_case() {
  local n=1000 proj=$work/p1000 log=$work/logs/downgrade_1000${ONE_TX:+_1tx}.log id=downgrade_1000${ONE_TX:+_1tx}
  need_project "$n"
  sql_from_luamig "$proj"
  local -a cfg
  read -r -a cfg <<<"$(config_args)"
  sql -c "DROP DATABASE IF EXISTS tpl_head_$n" -c "CREATE DATABASE tpl_head_$n"
  tables_sql "$n" | sql_in "tpl_head_$n" -f -
  sql_in "tpl_head_$n" -1 -f "$proj/up.sql"
  HAS_YS=1
  verify_down() {
    local rows cols
    rows=$(sql_in run_down -tAc "select count(*) from alembic_version")
    cols=$(sql_in run_down -tAc "select count(*) from information_schema.columns where table_name = 't0'")
    [ "$rows" = 0 ] && [ "$cols" = 1 ] || die "$1: $rows version rows, $cols columns left (log: $log)"
  }
  prep_lm() { clone_db run_down "tpl_head_$n" >/dev/null; }
  run_lm() { timed "$1" "$log" "$proj" "$LUAMIG" "${cfg[@]}" --url "$(url run_down)" downgrade base; }
  check_lm() { verify_down "luamig downgrade base"; }
  prep_ys() { clone_db run_down "tpl_head_$n" >/dev/null; }
  run_ys() { timed "$1" "$log" "$work" "$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$(url run_down)" -f "$proj/down.sql"; }
  check_ys() { verify_down "psql -1 -f down.sql"; }
  repeat_case "$id"
  local target="ratio<=1.5"
  [ -z "${ONE_TX:-}" ] || target=-
  summarise "$id" "downgrade base, $n rev${ONE_TX:+, 1 tx}" "psql -1" "$target"
}

# history / heads / current with 10,000 revisions (header cache warm after the warm-up run).
inspect_case() {
  local n=10000 proj=$work/p10000 verb=$INSPECT_VERB log=$work/logs/$INSPECT_VERB.log
  need_project "$n"
  local -a args=("$verb")
  if [ "$verb" = current ]; then
    sql -c "DROP DATABASE IF EXISTS inspect_$n" -c "CREATE DATABASE inspect_$n"
    luamig_in "$proj" --url "$(url inspect_$n)" stamp head >>"$log" 2>&1 || die "stamp head failed (log: $log)"
    args=(--url "$(url inspect_$n)" current)
  fi
  if [ -n "${INSPECT_COLD:-}" ]; then prep_lm() { rm -f "$proj/migrations/versions/.luamig-cache"; }; fi
  local lines=$n
  [ "$verb" = history ] || lines=1
  run_lm() { : >"$log.out"; timed "$1" "$log.out" "$proj" "$LUAMIG" "${args[@]}"; }
  check_lm() {
    [ "$(grep -c . "$log.out")" = "$lines" ] || die "$verb printed $(grep -c . "$log.out") lines, expected $lines"
  }
  repeat_case "$INSPECT_ID"
  luamig_in "$proj" heads >/dev/null
  summarise "$INSPECT_ID" "$INSPECT_LABEL" "-" "$INSPECT_TARGET"
}

# luamig lint over 1000 revisions, offline (no URL: the plans come from running the revisions in --sql mode).
lint_case() {
  local n=1000 proj=$work/p1000 log=$work/logs/lint_1000.log
  need_project "$n"
  run_lm() { : >"$log.out"; timed "$1" "$log.out" "$proj" "$LUAMIG" lint --all; }
  check_lm() { grep -q "^$n revisions linted" "$log.out" || die "lint did not lint $n revisions (log: $log.out)"; }
  repeat_case lint_1000
  summarise lint_1000 "lint --all, 1000 rev, offline" "-" "ms<1000"
}

version_case() {
  local log=$work/logs/version.log
  HAS_YS=1
  run_lm() { timed "$1" "$log" "$work" "$LUAMIG" --version; }
  run_ys() { timed "$1" "$log" "$work" true; }
  repeat_case version
  summarise version "luamig --version" "true" "ms<5"
}

# Backfill: luamig.backfill.update over ROWS rows vs one SQL UPDATE (psql). Each run starts from a fresh copy of
# the same VACUUM ANALYZEd table, after a CHECKPOINT.
backfill_case() {
  local rows=$BACKFILL_N db=bf_$BACKFILL_N log=$work/logs/backfill_$BACKFILL_N.log proj=$work/backfill
  mkdir -p "$proj/migrations/versions"
  printf 'script_location = "migrations"\n' >"$proj/luamig.lua"
  cat >"$proj/migrations/versions/b1_backfill_domain.lua" <<EOF
-- backfill users.domain
revision = "b1"
down_revision = nil
local backfill = require("luamig.backfill")
function upgrade()
  backfill.update{
    table = "users", key = "id", batch = $BACKFILL_BATCH,
    columns = { "email" },
    set = function(row) return { domain = row.email:match("@(.*)\$") } end,
  }
end
function downgrade() op.execute("UPDATE users SET domain = NULL") end
EOF
  echo "bench: building the $rows-row table" >&2
  sql -c "DROP DATABASE IF EXISTS tpl_$db" -c "CREATE DATABASE tpl_$db"
  sql_in "tpl_$db" <<EOF
CREATE TABLE users (id bigserial PRIMARY KEY, email text, domain text);
INSERT INTO users (email) SELECT 'user' || g || '@example' || (g % 1000) || '.com' FROM generate_series(1, $rows) g;
VACUUM ANALYZE users;
EOF
  HAS_YS=1
  verify_bf() {
    local wrong
    wrong=$(sql_in "$db" -tAc "select count(*) from users where domain is distinct from split_part(email, '@', 2)")
    [ "$wrong" = 0 ] || die "$1 left $wrong rows wrong (log: $log)"
  }
  fresh() { clone_db "$db" "tpl_$db" >/dev/null && sql -c CHECKPOINT; }
  prep_lm() { fresh; }
  run_lm() { timed "$1" "$log" "$proj" "$LUAMIG" -q --url "$(url "$db")" upgrade head; }
  check_lm() { verify_bf "luamig backfill"; }
  prep_ys() { fresh; }
  run_ys() {
    timed "$1" "$log" "$work" "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(url "$db")" \
      -c "UPDATE users SET domain = split_part(email, '@', 2)"
  }
  check_ys() { verify_bf "UPDATE"; }
  repeat_case "backfill_$rows" "$BACKFILL_RUNS" "$BACKFILL_WARMUP"
  sql -c "DROP DATABASE IF EXISTS $db" -c "DROP DATABASE IF EXISTS tpl_$db" >/dev/null
  summarise "backfill_$rows" "backfill $rows rows" "UPDATE" "tput>=0.7"
}

# ------------------------------------------------------------------------------------------------ run
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
load_before=$(uptime | sed 's/.*load average: //')
{
  echo "luamig bench: $("$LUAMIG" --version 2>&1 | head -1) ($(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)), $started"
  echo "machine: $(nproc) CPU ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
  echo "PostgreSQL $server_version on 127.0.0.1:$port (fsync, synchronous_commit and full_page_writes off; shared_buffers 128MB)"
  echo "runs per case: $RUNS timed after $WARMUP warm-up (backfill: $BACKFILL_RUNS after $BACKFILL_WARMUP); load average before: $load_before"
} >"$work/header.txt"
cat "$work/header.txt" >&2

run_case version "luamig --version" version_case
for n in "${SIZES[@]}"; do
  NOOP_N=$n run_case "noop_$n" "upgrade head, nothing to do, $n rev" noop_case
done
for n in 1000 10000; do
  NOOP_N=$n NOOP_COLD=1 run_case "noop_${n}_cold" "upgrade head, nothing to do, $n rev, no cache" noop_case
done
run_case upgrade_1000 "upgrade head from empty, 1000 rev" full_upgrade_case
PER_REV_YS=1 run_case upgrade_1000_per_rev "upgrade head from empty, 1000 rev, vs 1 tx/rev" full_upgrade_case
run_case lint_1000 "lint --all, 1000 rev, offline" lint_case
ONE_TX=1 run_case upgrade_1000_1tx "upgrade head from empty, 1000 rev, 1 tx" full_upgrade_case
run_case downgrade_1000 "downgrade base, 1000 rev" downgrade_case
ONE_TX=1 run_case downgrade_1000_1tx "downgrade base, 1000 rev, 1 tx" downgrade_case
for verb in history heads current; do
  INSPECT_VERB=$verb INSPECT_ID=${verb}_10000 INSPECT_LABEL="$verb, 10000 rev" INSPECT_TARGET="ms<100" \
    run_case "${verb}_10000" "$verb, 10000 rev" inspect_case
done
INSPECT_VERB=heads INSPECT_COLD=1 INSPECT_ID=heads_10000_cold INSPECT_LABEL="heads, 10000 rev, no header cache" \
  INSPECT_TARGET=- run_case heads_10000_cold "heads, 10000 rev, no header cache" inspect_case
for rows in $BACKFILL_SIZES; do
  if ! grep -aq "luamig/backfill.lua" "$LUAMIG"; then
    wanted "backfill_$rows" && skipped_case "backfill_$rows" "backfill $rows rows" "backfill helper not available"
    continue
  fi
  BACKFILL_N=$rows run_case "backfill_$rows" "backfill $rows rows" backfill_case
done

load_after=$(uptime | sed 's/.*load average: //')
{
  cat "$work/header.txt"
  [ -f "$work/notes.txt" ] && cat "$work/notes.txt"
  echo "load average after: $load_after"
  echo
  print_header
  while IFS= read -r row; do print_row "$row"; done <"$rows_file"
  echo
  echo "median/min/max: luamig wall time per run (process start to exit, connection included); CPU: median user+system"
  echo "time of the client process (the server's work is not in it); vs/median/CPU: the yardstick, measured in the same"
  echo "run, alternating with luamig; ratio: luamig median / yardstick median (wall); peak RSS: the luamig process's"
  echo "maximum over the runs. A busy machine inflates wall times far more than CPU times: compare the load averages."
  awk -F'\t' '$1 ~ /^backfill_/ && $3 != "SKIPPED" && $3 != "FAILED" {
      sub(/^backfill_/, "", $1)
      printf "backfill %s rows: luamig %.0f rows/s, SQL UPDATE %.0f rows/s (%.2fx)\n", $1, $1 / ($3 / 1000), $1 / ($7 / 1000), $7 / $3
    }' "$rows_file"
  cut -f16 "$rows_file" | grep -q . && echo "FLAGGED: peak RSS above 64 MiB (see the last column)"
  true
} >"$work/report.txt"
mkdir -p "$(dirname "$OUT")"
cp "$work/report.txt" "$OUT"
echo
cat "$work/report.txt"
echo "(saved to $OUT)" >&2
