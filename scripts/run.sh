#!/usr/bin/env bash
# Newcomer's first command: install what is missing, build (Release), start one wsagent node
# with the embedded broker and say how to connect. Extra arguments go to `wsagent serve`.
#
# Authentication stays on, as in production: the first run makes a development key pair in
# .dev-keys/ (never used unless you point a server at it) and every run prints a fresh token
# allowed to publish and subscribe to every tag for 24 hours.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target wsagent

keys=.dev-keys
if [ ! -f "$keys/private.jwk" ]; then
  mkdir -p "$keys"
  build/wsagent keygen --out-private "$keys/private.jwk" --out-jwks "$keys/jwks.json" >/dev/null
fi
token=$(build/wsagent token --key "$keys/private.jwk" --sub dev --pub '>' --subscribe '>' --ttl 24h)

listen="${WSAGENT_LISTEN:-127.0.0.1:8080}"
cat <<MSG

wsagent is starting on ${listen} (embedded broker, token authentication on).
  WebSocket:  ws://${listen}/ws   (subprotocol wsagent.v1)
  token:      ${token}
              (a development token for every tag, valid 24 h; send it as
               "Authorization: Bearer <token>", as ?token=<token>, or in an auth frame)
  try it:     /usr/bin/python3 scripts/try_client.py ws://${listen}/ws --token ${token}
  publish:    curl -H 'Authorization: Bearer ${token}' -d '{"tag":"chat.lobby","data":"hi"}' http://${listen}/api/publish
  health:     curl http://${listen}/healthz    metrics: curl http://${listen}/metrics
More tokens: build/wsagent token --key ${keys}/private.jwk --sub NAME --pub 'chat.*' --subscribe 'chat.>' --ttl 1h
Stop with Ctrl-C.

MSG
exec build/wsagent serve --listen "${listen}" --jwks "$keys/jwks.json" "$@"
