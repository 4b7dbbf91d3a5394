#!/usr/bin/env bash
# bench/backfill.sh: a luamig backfill against the pure-SQL yardstick, in the same run, on the same server.
#
#   bench/backfill.sh                    # 1,000,000 rows, throwaway PostgreSQL server
#   ROWS=5000000 bench/backfill.sh       # another size
#   BENCH_URL=postgresql://u@host/db bench/backfill.sh   # an existing server (tables users/alembic_version replaced)
#
# Table: users(id bigserial primary key, email text, domain text), filled with generated e-mail addresses.
#   yardstick: UPDATE users SET domain = split_part(email, '@', 2)      (psql, server time)
#   luamig:    a revision whose upgrade() calls luamig.backfill with set = email:match("@(.*)$")
#              (luamig process wall time, including start-up and connection)
# Each run starts from a freshly built, VACUUM ANALYZEd table after a CHECKPOINT; the two alternate REPEAT times
# (default 3) so that noise from other processes hits both. Prints the median rows/s of both, their ratio, and the
# peak RSS of the luamig process (/usr/bin/time -v).
# Environment: ROWS, BATCH (default 10000), METHOD (unnest | copy | values), REPEAT, LUAMIG (default
# build/luamig), PGBIN.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${ROWS:-1000000}
BATCH=${BATCH:-10000}
METHOD=${METHOD:-unnest}
REPEAT=${REPEAT:-3}
LUAMIG=${LUAMIG:-$here/build/luamig}
PGBIN=${PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$PGBIN/initdb" ] || PGBIN=/usr/lib/postgresql/15/bin
PSQL=$(command -v psql || echo "$PGBIN/psql")
[ -x "$LUAMIG" ] || { echo "bench: $LUAMIG not found; build first" >&2; exit 2; }

work=$(mktemp -d /tmp/luamig-bench.XXXXXX)
own_server=""
# As root, the server runs as nobody (PostgreSQL refuses root).
run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
cleanup() {
  if [ -n "$own_server" ]; then run_pg "$PGBIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${BENCH_URL:-}" ]; then
  chmod 777 "$work"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  run_pg "$PGBIN/initdb" -D "$work/data" -U postgres -A trust >/dev/null
  run_pg "$PGBIN/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1" start >/dev/null
  own_server=1
  BENCH_URL="postgresql://postgres@127.0.0.1:$port/postgres"
fi

sql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$BENCH_URL" "$@"; }

fresh_table() {
  sql -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS users" -c "DROP TABLE IF EXISTS alembic_version" \
    -c "CREATE TABLE users (id bigserial PRIMARY KEY, email text, domain text)" \
    -c "INSERT INTO users (email) SELECT 'user' || g || '@example' || (g % 1000) || '.com' FROM generate_series(1, $ROWS) g" \
    -c "VACUUM ANALYZE users" -c "CHECKPOINT"
}

wrong_rows() { sql -tAc "SELECT count(*) FROM users WHERE domain IS DISTINCT FROM split_part(email, '@', 2)"; }

yardstick() {
  fresh_table
  local ms
  ms=$(printf '%s\n' '\timing on' "UPDATE users SET domain = split_part(email, '@', 2);" | sql |
    sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
  [ "$(wrong_rows)" = 0 ] || { echo "bench: the yardstick left rows wrong" >&2; exit 1; }
  echo "$ms" >>"$work/sql_ms"
}

proj="$work/proj"
mkdir -p "$proj/migrations/versions"
echo 'script_location = "migrations"' >"$proj/luamig.lua"
cat >"$proj/migrations/versions/b1_backfill_domain.lua" <<LUA
-- backfill domain
revision = "b1"
down_revision = nil
local backfill = require("luamig.backfill")
function upgrade()
  local r = backfill.update{
    table = "users", key = "id", batch = $BATCH, method = "$METHOD",
    columns = { "email" },
    set = function(row) return { domain = row.email:match("@(.*)\$") } end,
  }
  log.info(string.format("phases: read %.2f s, compute %.2f s, write %.2f s", r.timings.read, r.timings.compute,
    r.timings.write))
end
function downgrade() op.execute("UPDATE users SET domain = NULL") end
LUA

luamig_run() {
  fresh_table
  local start end
  start=$(date +%s.%N)
  (cd "$proj" && /usr/bin/time -v -o "$work/time.txt" "$LUAMIG" --url "$BENCH_URL" upgrade head >"$work/out.txt" 2>"$work/err.txt") ||
    { cat "$work/out.txt" "$work/err.txt" >&2; exit 1; }
  end=$(date +%s.%N)
  [ "$(wrong_rows)" = 0 ] || { echo "bench: luamig left rows wrong" >&2; exit 1; }
  echo "$start $end" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$work/lua_s"
  sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$work/time.txt" >>"$work/rss_kb"
  grep -ho "phases: .*" "$work/out.txt" | tail -1 >>"$work/phases"
}

echo "bench: $ROWS rows, batch $BATCH, method $METHOD, $REPEAT alternating runs, server $(sql -tAc 'SHOW server_version')"
for i in $(seq "$REPEAT"); do
  yardstick
  luamig_run
  echo "  run $i: SQL $(tail -1 "$work/sql_ms") ms, luamig $(tail -1 "$work/lua_s") s," \
    "RSS $(($(tail -1 "$work/rss_kb") / 1024)) MiB, $(tail -1 "$work/phases")"
done

python3 - "$ROWS" "$work" <<'PY'
import statistics, sys
rows, work = int(sys.argv[1]), sys.argv[2]
read = lambda name: [float(x) for x in open(f"{work}/{name}").read().split()]
sql_s = statistics.median(read("sql_ms")) / 1000
lua_s = statistics.median(read("lua_s"))
rss = max(read("rss_kb")) / 1024
print(f"yardstick (SQL UPDATE, median):         {sql_s:7.2f} s  {rows / sql_s:10,.0f} rows/s")
print(f"luamig backfill (process wall, median): {lua_s:7.2f} s  {rows / lua_s:10,.0f} rows/s")
print(f"ratio luamig / SQL:                     {sql_s / lua_s:7.2f}x")
print(f"luamig peak RSS (max of runs):          {rss:7.1f} MiB")
PY
