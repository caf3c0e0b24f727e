#!/usr/bin/env bash
# `make run`: migrates and starts `tbpay serve` on config/dev.env's demo settings, after printing
# how to try it by hand. A variable already set in the environment wins over the file:
#   LISTEN_ADDR=127.0.0.1:8081 make run
# Usage: scripts/run-dev.sh [BUILD_DIR]   (run from the folder that holds var/)
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
# The file's NAME=value lines, each only where the environment does not set NAME.
while IFS='=' read -r name value; do
  case $name in '' | '#'*) continue ;; esac
  [ -n "${!name+x}" ] || export "$name=$value"
done <"$here/config/dev.env"
mkdir -p var
"$build/tbpay" migrate
"$here/scripts/run-banner.sh" "$build"
exec "$build/tbpay" serve
