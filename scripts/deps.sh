#!/usr/bin/env bash
# Installs what building and testing luamig needs on Debian 12 (bookworm): compiler, CMake, LuaJIT, libpqxx,
# CLI11, fmt, SQLite, Catch2 and PostgreSQL 15. Runs apt-get as root, or through sudo; does nothing when every
# package is already installed.
set -euo pipefail

build_packages=(
  cmake g++ make pkg-config
  libluajit-5.1-dev luajit libpqxx-dev libcli11-dev libfmt-dev libsqlite3-dev catch2
  postgresql
)

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: run as root, or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi

missing=()
for p in "${build_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps.sh: all packages are installed"
  exit 0
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
