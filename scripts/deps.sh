#!/usr/bin/env bash
# Installs the Debian 12 packages chime needs to build and test, if missing.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config git python3
          libjansson-dev libsqlite3-dev libpq-dev postgresql postgresql-client libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev
          clang libclang-rt-14-dev tzdata
          python3-pytest python3-fastapi python3-uvicorn python3-apscheduler python3-sqlalchemy
          python3-dotenv python3-jsonschema python3-matplotlib curl wrk valgrind
          chromium nodejs)
# The dashboard's end-to-end test drives chromium with playwright-core from npm
# (tests/e2e). A nodejs that bundles npm (as NodeSource's does) needs no npm package.
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
  { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
