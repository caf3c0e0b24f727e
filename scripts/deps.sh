#!/usr/bin/env bash
# Installs the Debian 12 packages tbpay needs to build, test and benchmark, if any is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libpq-dev postgresql-server-dev-15 libsqlite3-dev librdkafka-dev liblz4-dev libzstd-dev
  libsasl2-dev libssl-dev openssl
  nlohmann-json3-dev libboost-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql postgresql-client pgbouncer kcat wrk curl zip unzip jq python3 python3-yaml sqlite3
  prometheus
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
