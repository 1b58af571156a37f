#!/usr/bin/env bash
# Runs the Node test files (*.test.mjs) of a directory with Node's test runner, one file at a
# time (they start servers; the machine is small). Fails with a clear message when Node or
# the repository's npm packages (npm ci) are missing: never a silent pass.
# Usage: run_node_tests.sh DIR   (WSAGENT_BINARY names the server binary)
set -euo pipefail
dir=${1:?usage: run_node_tests.sh DIR}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/install-deps.sh)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
((major >= 20)) || { echo "FAIL: node $(node --version) is too old (20 or newer)" >&2; exit 1; }
[[ -d $repo/node_modules/ws ]] || {
  echo "FAIL: npm packages missing in $repo/node_modules: run scripts/install-deps.sh (npm ci)" >&2
  exit 1
}
shopt -s nullglob
files=("$dir"/*.test.mjs)
((${#files[@]} > 0)) || { echo "FAIL: no *.test.mjs in $dir" >&2; exit 1; }
exec node --test --test-concurrency=1 "${files[@]}"
