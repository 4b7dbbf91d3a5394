#!/usr/bin/env bash
# Lua lint: luacheck (Debian's lua-check) with the checked-in .luacheckrc over the engine's Lua (lua/), the
# migration stdlib (stdlib/), the worked example (migrations/) and its luamig.lua. Warnings fail the check.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/timing.sh
status=0
luacheck --no-color --codes lua stdlib migrations luamig.lua || status=$?
echo ".ci/lint.sh: luacheck in $(elapsed) s: $([ "$status" -eq 0 ] && echo ok || echo FAILED)"
exit "$status"
