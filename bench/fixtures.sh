#!/usr/bin/env bash
# bench/fixtures.sh: the benchmark fixtures, sourced by bench/run.sh; also usable alone for profiling:
#
#   bench/fixtures.sh DIR N      # writes DIR/luamig.lua, DIR/migrations/versions/*.lua (N revisions), DIR/up.sql,
#                                # DIR/down.sql and DIR/ids
#   cd DIR && valgrind --tool=callgrind luamig heads
#
# gen_project DIR N: a project of N linear revisions; revision i adds integer column c<i> to table t<(i-1)/1000>.
# Also writes DIR/up.sql and DIR/down.sql: the same DDL and version-table changes as one script each, which is
# what `psql -1 -f` runs as the yardstick. DIR/ids holds the revision ids in order.
gen_project() {
  local dir=$1 n=$2
  mkdir -p "$dir/migrations/versions"
  printf 'script_location = "migrations"\n' >"$dir/luamig.lua"
  awk -v n="$n" -v dir="$dir" '
    function id(i) { return sprintf("%06x%06x", (i * 2654435761) % 16777216, i) }
    BEGIN {
      vt = "\"alembic_version\""
      up = dir "/up.sql"; down = dir "/down.sql"
      print "CREATE TABLE " vt " (\n    version_num VARCHAR(32) NOT NULL,\n    CONSTRAINT \"alembic_version_pkc\" PRIMARY KEY (version_num)\n);" > up
      for (i = 1; i <= n; i++) {
        rev = id(i); prev = i > 1 ? id(i - 1) : ""
        tbl = "t" int((i - 1) / 1000); col = "c" i
        f = dir "/migrations/versions/" rev "_add_" col ".lua"
        print "-- add " tbl "." col "\n--\n-- Revision ID: " rev "\n-- Revises: " prev "\n-- Create Date: 2026-01-01 00:00:00\n" > f
        print "revision = \"" rev "\"" > f
        print "down_revision = " (prev == "" ? "nil" : "\"" prev "\"") > f
        print "branch_labels = nil\ndepends_on = nil\n" > f
        print "function upgrade()\n  op.add_column(\"" tbl "\", { \"" col "\", \"integer\" })\nend\n" > f
        print "function downgrade()\n  op.drop_column(\"" tbl "\", \"" col "\")\nend" > f
        close(f)
        print rev > (dir "/ids")
        print "ALTER TABLE \"" tbl "\" ADD COLUMN \"" col "\" integer;" > up
        if (prev == "") print "INSERT INTO " vt " (version_num) VALUES (\047" rev "\047);" > up
        else print "UPDATE " vt " SET version_num = \047" rev "\047 WHERE version_num = \047" prev "\047;" > up
      }
      for (i = n; i >= 1; i--) {
        rev = id(i); prev = i > 1 ? id(i - 1) : ""
        print "ALTER TABLE \"t" int((i - 1) / 1000) "\" DROP COLUMN \"c" i "\";" > down
        if (prev == "") print "DELETE FROM " vt " WHERE version_num = \047" rev "\047;" > down
        else print "UPDATE " vt " SET version_num = \047" prev "\047 WHERE version_num = \047" rev "\047;" > down
      }
    }'
}


if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ $# = 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 DIR N" >&2; exit 2; }
  [ -e "$1/migrations" ] && { echo "$0: $1/migrations exists already" >&2; exit 1; }
  gen_project "$1" "$2"
fi
