#!/usr/bin/env bash
# Installs what wsagent needs to build, test and run on Debian 12, if it is missing.
# Idempotent: packages already present are not downloaded again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  liburing-dev libwslay-dev libhiredis-dev libsimdjson-dev libsodium-dev libmimalloc-dev
  nettle-dev libgtest-dev libgmock-dev libbenchmark-dev
  redis-server python3 python3-websockets python3-redis
)
# Interop tests use npm's jose and ws (libraries nobody here wrote). A Node.js that did not
# come from Debian (e.g. NodeSource, which bundles npm) is kept: Debian's npm conflicts with it.
if ! command -v node >/dev/null; then
  packages+=(nodejs)
fi
if ! command -v npm >/dev/null; then
  packages+=(npm)
fi
if [ "${WSAGENT_WITH_PEERS:-0}" = 1 ]; then
  packages+=(mosquitto mosquitto-clients)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
