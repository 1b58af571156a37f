#!/usr/bin/env bash
# Newcomer's first command: install what is missing, build (Release), start one wsagent node
# with the embedded broker and say how to connect. Extra arguments go to `wsagent serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DWSAGENT_BUILD_TESTS=OFF >/dev/null
cmake --build build --target wsagent

listen="${WSAGENT_LISTEN:-127.0.0.1:8080}"
cat <<MSG

wsagent is starting on ${listen} (embedded broker, authentication off for this local trial).
  WebSocket:  ws://${listen}/ws   (subprotocol wsagent.v1)
  try it:     /usr/bin/python3 scripts/try_client.py ws://${listen}/ws
  health:     curl http://${listen}/healthz    metrics: curl http://${listen}/metrics
Stop with Ctrl-C.

MSG
exec build/wsagent serve --listen "${listen}" --no-auth "$@"
