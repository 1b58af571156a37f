#!/usr/bin/env bash
# Installs what wsagent needs to build, test and run on Debian 12, if it is missing.
# Idempotent: packages already present are not downloaded again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  liburing-dev libwslay-dev libsimdjson-dev libsodium-dev libmimalloc-dev
  nettle-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  # redis-server also runs the sentinels (--sentinel, what Debian's redis-sentinel package
  # starts) and the cluster nodes of tests/unit/redis: no other Redis package is needed.
  redis-server python3 python3-websockets python3-redis python3-yaml
  chromium
  # MQTT clients nobody here wrote, for the codec's interop tests (tests/unit/mqtt)
  mosquitto-clients python3-paho-mqtt
  clang libclang-rt-14-dev   # libFuzzer targets (scripts/fuzz.sh)
)
# For the deployment tests and scripts/cluster.sh: a container engine without a daemon
# (podman with runc: crun refuses hybrid cgroup hierarchies) and Debian's HAProxy. Their tests
# are skipped, saying why, when these cannot be installed.
optional=(podman runc haproxy)
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

missing_of() {
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "$p"
    fi
  done
}
mapfile -t missing < <(missing_of "${packages[@]}")
mapfile -t missing_optional < <(missing_of "${optional[@]}")
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_optional[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt (another checkout installing at the same time) instead of failing.
  apt=($sudo apt-get -o DPkg::Lock::Timeout=600)
  "${apt[@]}" update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if [ ${#missing_optional[@]} -gt 0 ]; then
    echo "installing (optional): ${missing_optional[*]}"
    "${apt[@]}" install -y -qq --no-install-recommends "${missing_optional[@]}" ||
      echo "install-deps.sh: could not install ${missing_optional[*]}; the tests that need them" \
        "will be skipped" >&2
  fi
fi

# JavaScript packages (the client library's test dependency ws, the demo's device simulator,
# playwright-core for the browser tests) exactly as package-lock.json pins them; again only
# when the lockfile changed since the last install.
cd "$(dirname "$0")/.."
stamp=node_modules/.wsagent-lock.sha256
if ! sha256sum --status -c "$stamp" 2>/dev/null; then
  echo "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json >"$stamp"
fi
