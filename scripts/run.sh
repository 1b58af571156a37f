#!/usr/bin/env bash
# Newcomer's first command: install what is missing, build (Release), start one wsagent node
# with the embedded broker serving the demo applications (chat, IoT board, live dashboard)
# with a few simulated devices, MQTT for devices on 127.0.0.1:1883 (TCP) and at /mqtt
# (WebSocket), and say how to connect. Extra arguments go to `wsagent serve`.
# WSAGENT_DEVICES=0 starts no device simulator; WSAGENT_MQTT_LISTEN moves the MQTT port.
#
# Authentication stays on, as in production: the first run makes a development key pair in
# .dev-keys/ (never used unless you point a server at it) and every run prints a fresh token
# allowed to publish and subscribe to every tag for 24 hours. The demo URLs carry it in the
# fragment (#token=...), which browsers never send to a server.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target wsagent demo_site

keys=.dev-keys
if [ ! -f "$keys/private.jwk" ]; then
  mkdir -p "$keys"
  build/wsagent keygen --out-private "$keys/private.jwk" --out-jwks "$keys/jwks.json" >/dev/null
fi
mint() { build/wsagent token --key "$keys/private.jwk" --ttl 24h "$@"; }
token=$(mint --sub dev --pub '>' --subscribe '>')
# Two chat users with tokens of their own: who is online (presence) shows them by name.
chat_token() { mint --sub "$1" --pub 'chat.>' --subscribe 'chat.>'; }
alice=$(chat_token alice)
bob=$(chat_token bob)
# Each simulated device may publish only its telemetry and read only its commands.
: >"$keys/devices.txt"
device_token() { mint --sub "device-$1" --pub "iot.$1.telemetry" --subscribe "iot.$1.cmd"; }
for device in d1 d2 d3; do
  echo "$device $(device_token "$device")" >>"$keys/devices.txt"
done
# These two speak MQTT over TCP (MQTT.js), as real hardware would.
: >"$keys/mqtt-devices.txt"
for device in m1 m2; do
  echo "$device $(device_token "$device")" >>"$keys/mqtt-devices.txt"
done

listen="${WSAGENT_LISTEN:-127.0.0.1:8080}"
mqtt_listen="${WSAGENT_MQTT_LISTEN:-127.0.0.1:1883}"
mqtt_host="${mqtt_listen/#0.0.0.0:/127.0.0.1:}"
mqtt_host="${mqtt_host/#:/127.0.0.1:}"
host="${listen/#0.0.0.0:/127.0.0.1:}"
host="${host/#:/127.0.0.1:}"
cat <<MSG

wsagent is starting on ${listen} (embedded broker, token authentication on).
  Demo applications (the development token rides in the URL fragment):
    chat:       http://${host}/chat/#token=${alice}&name=alice
                (a second user: http://${host}/chat/#token=${bob}&name=bob)
    IoT board:  http://${host}/iot/#token=${token}
    dashboard:  http://${host}/dashboard/#token=${token}
  WebSocket:  ws://${host}/ws   (subprotocol wsagent.v1)
  token:      ${token}
              (a development token for every tag, valid 24 h; send it as
               "Authorization: Bearer <token>", as ?token=<token>, or in an auth frame)
  try it:     /usr/bin/python3 scripts/try_client.py ws://${host}/ws --token ${token}
  MQTT:       mqtt://${mqtt_host} (TCP) and ws://${host}/mqtt (WebSocket, subprotocol mqtt);
              the token is the password: mosquitto_sub -h ${mqtt_host%:*} -p ${mqtt_host##*:} -u dev -P ${token} -t 'iot/#' -v
  publish:    curl -H 'Authorization: Bearer ${token}' -d '{"tag":"chat.lobby","data":"hi"}' http://${host}/api/publish
  health:     curl http://${host}/healthz    metrics: curl http://${host}/metrics
More tokens: build/wsagent token --key ${keys}/private.jwk --sub NAME --pub 'chat.*' --subscribe 'chat.>' --ttl 1h
Simulated devices d1 d2 d3 (WebSocket) and m1 m2 (MQTT) log to ${keys}/devices.log.
  A device of your own on the IoT board, from a shell:
    mosquitto_pub -h ${mqtt_host%:*} -p ${mqtt_host##*:} -u dev -P ${token} -t iot/m9/telemetry -m '{"temperature":30.5}'
Stop with Ctrl-C.

MSG
simulator=
if [ "${WSAGENT_DEVICES:-1}" != 0 ]; then
  node demo/iot/devices.mjs --url "ws://${host}/ws" --tokens "$keys/devices.txt" \
    --mqtt-url "mqtt://${mqtt_host}" --mqtt-tokens "$keys/mqtt-devices.txt" >"$keys/devices.log" 2>&1 &
  simulator=$!
fi
trap '[ -n "$simulator" ] && kill "$simulator" 2>/dev/null; true' EXIT
build/wsagent serve --listen "${listen}" --jwks "$keys/jwks.json" --static build/demo-site \
  --stats-tag sys.wsagent.stats --mqtt-listen "${mqtt_listen}" --mqtt-ws "$@"
