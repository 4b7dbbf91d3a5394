#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine: installs the dependencies, builds build/luamig and runs
# `luamig upgrade head` on the worked example in migrations/ (luamig.lua at the repository root points there).
#
#   bash scripts/quickstart.sh                    no database set up: luamig's default, the SQLite file ./luamig.db
#   bash scripts/quickstart.sh --postgres         a throwaway PostgreSQL 15 in a temporary directory (Unix socket
#                                                 only, trust authentication), stopped and deleted afterwards
#   bash scripts/quickstart.sh --postgres --keep  the same, left running; prints its DATABASE_URL
#
# apt-get runs as root or through sudo. As root the PostgreSQL server runs as `nobody` (it refuses to run as root);
# otherwise as the current user.
set -euo pipefail
cd "$(dirname "$0")/.."
postgres=false
keep=false
for arg in "$@"; do
  case "$arg" in
    --postgres) postgres=true ;;
    --keep) keep=true ;;
    *) echo "usage: $0 [--postgres [--keep]]" >&2; exit 2 ;;
  esac
done
show() { echo "\$ $*"; "$@"; }

bash scripts/deps.sh

echo "quickstart: building build/luamig"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target luamig >/dev/null

if ! $postgres; then
  unset DATABASE_URL
  show build/luamig upgrade head
  show build/luamig current
  show build/luamig history
  echo "quickstart: the database is ./luamig.db; try: build/luamig downgrade -1 && build/luamig history -i"
  exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
tmp=$(mktemp -d /tmp/luamig-quickstart.XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown nobody "$tmp"
  as_owner=(runuser -u nobody --)
fi
stop_server() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
$keep || trap stop_server EXIT

echo "quickstart: starting a throwaway PostgreSQL in $tmp"
"${as_owner[@]}" "$bindir/initdb" -D "$tmp/data" -U postgres -A trust --no-sync >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -w \
  -o "-c listen_addresses='' -k $tmp -c fsync=off" start >/dev/null ||
  { cat "$tmp/postgres.log" >&2; exit 1; }
"$bindir/createdb" -h "$tmp" -U postgres app

export DATABASE_URL="postgresql://postgres@/app?host=$tmp"
show build/luamig upgrade head
show build/luamig current
show build/luamig history
echo "\$ psql -c '\\d users'"
"$bindir/psql" -h "$tmp" -U postgres app -c '\d users'

if $keep; then
  echo "quickstart: the server keeps running. Try:"
  echo "  export DATABASE_URL='$DATABASE_URL'"
  echo "  build/luamig downgrade -1 && build/luamig history -i"
  echo "Stop it with: ${as_owner[*]} $bindir/pg_ctl -D $tmp/data stop && rm -rf $tmp"
fi
