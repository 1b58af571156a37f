#!/usr/bin/env bash
# End-to-end checks of wsagent-loadgen against real servers on loopback: the Node stand-in
# (v1_server.js), Mosquitto over MQTT/TCP and MQTT/WebSocket, and wsagent when built.
# Each run is short; the JSON report is checked with assertions that fail on wrong
# counting (loss, disconnects, merged process results, replays, pongs, refused tokens).
#
# Usage: bench/loadgen/testdata/smoke.sh BUILD_DIR
#   needs node + `npm install` in this folder (ws), mosquitto optional, wsagent optional.
set -euo pipefail

build=${1:?usage: smoke.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
lg="$build/bench/loadgen/wsagent-loadgen"
wsagent="$build/wsagent"
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0

free_port() {
  "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # bounded wait until something listens on $1
  for _ in $(seq 1 100); do
    if "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "nothing listens on port $1"; return 1
}

# check NAME PYTHON_CONDITION -- LOADGEN ARGS: runs the load generator with --json and
# evaluates the condition with the report bound to `r`.
check() {
  local name=$1 cond=$2
  shift 3
  local out="$tmp/out.json"
  if ! timeout 60 "$lg" "$@" --json >"$out" 2>"$tmp/err"; then
    echo "FAIL $name: exit status $? ($(tail -1 "$tmp/err"))"; fails=$((fails + 1)); return
  fi
  if "$py" -c "import json,sys; r=json.load(open('$out')); sys.exit(0 if ($cond) else 1)"; then
    echo "ok   $name"
  else
    echo "FAIL $name: ($cond) is false for:"; cat "$out"; fails=$((fails + 1))
  fi
}

lossless='r["loss"]==0 and r["received"]==r["expected"]>0 and r["errors"]["disconnects"]==0'
short=(--warmup 300ms --duration 1s --drain 2s)

# --- protocol v1 against the stand-in --------------------------------------------------
if [ ! -d "$here/node_modules/ws" ]; then
  echo "skip v1 stand-in: run 'npm install' in $here"
else
  port=$(free_port)
  node "$here/v1_server.js" --port "$port" --token t0k --ping-ms 50 >"$tmp/v1.log" 2>&1 &
  v1=$!; pids+=("$v1"); wait_port "$port"
  url=ws://127.0.0.1:$port/ws
  check "v1 fixed rate, 3 tags, 2 pubs" "$lossless and r['gaps']==0 and r['subs_ready']==30" -- \
    fanout --url "$url" --token t0k --subs 30 --tags 3 --pubs 2 --rate 400 "${short[@]}"
  check "v1 two processes merge" "$lossless and r['procs']==2 and r['subs_ready']==40" -- \
    fanout --url "$url" --token t0k --subs 40 --pubs 2 --rate 200 --procs 2 "${short[@]}"
  check "v1 acks and closed loop" "$lossless and r['acked']>=r['published']>0" -- \
    fanout --url "$url" --token t0k --subs 10 --rate 0 --acks 8 --window 20 "${short[@]}"
  check "v1 churn replays since" "r['cycles_ok']>=100 and r['cycles_failed']==0 and r['replayed']>0" -- \
    churn --url "$url" --token t0k --rate 200 --pubs 1 --pub-rate 200 --duration 1s
  if timeout 30 "$lg" fanout --url "$url" --token bad --subs 2 --duration 1s >/dev/null 2>"$tmp/err"; then
    echo "FAIL v1 wrong token accepted"; fails=$((fails + 1))
  elif grep -q "401" "$tmp/err"; then
    echo "ok   v1 wrong token refused with 401"
  else
    echo "FAIL v1 wrong token: $(cat "$tmp/err")"; fails=$((fails + 1))
  fi
  kill -TERM "$v1"; wait "$v1" 2>/dev/null || true
  if grep -qE "^pongs [1-9]" "$tmp/v1.log"; then
    echo "ok   v1 pings answered ($(grep pongs "$tmp/v1.log"))"
  else
    echo "FAIL v1 pings not answered: $(cat "$tmp/v1.log")"; fails=$((fails + 1))
  fi

  port=$(free_port)
  node "$here/v1_server.js" --port "$port" --fragment >/dev/null 2>&1 &
  pids+=("$!"); wait_port "$port"
  check "v1 fragmented 4 KiB messages" "$lossless and r['malformed']==0" -- \
    fanout --url ws://127.0.0.1:$port/ws --subs 20 --size 4096 --rate 300 "${short[@]}"

  port=$(free_port)
  node "$here/v1_server.js" --port "$port" --kick-after 50 >/dev/null 2>&1 &
  pids+=("$!"); wait_port "$port"
  check "v1 4008 kicks counted as disconnects and loss" \
    "r['errors']['disconnects']==8 and r['received']==8*50 and r['loss']==r['expected']-400" -- \
    fanout --url ws://127.0.0.1:$port/ws --subs 8 --rate 200 --warmup 0 --duration 1s --drain 1s
fi

# --- MQTT against Mosquitto -------------------------------------------------------------
if ! command -v mosquitto >/dev/null; then
  echo "skip mosquitto: not installed"
else
  mport=$(free_port); wport=$(free_port)
  cat >"$tmp/mosquitto.conf" <<CONF
listener $mport 127.0.0.1
protocol mqtt
set_tcp_nodelay true
listener $wport 127.0.0.1
protocol websockets
allow_anonymous true
persistence false
CONF
  mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
  pids+=("$!"); wait_port "$mport"; wait_port "$wport"
  check "mqtt fixed rate" "$lossless and r['gaps']==0" -- \
    fanout --proto mqtt --url mqtt://127.0.0.1:$mport --subs 20 --tags 2 --pubs 2 --rate 400 "${short[@]}"
  check "mqtt qos 1" "$lossless and r['acked']>=r['published']" -- \
    fanout --proto mqtt --url mqtt://127.0.0.1:$mport --subs 10 --qos 1 --rate 200 "${short[@]}"
  check "mqtt-ws fixed rate, 4 KiB" "$lossless" -- \
    fanout --proto mqtt-ws --url ws://127.0.0.1:$wport/ --subs 10 --size 4096 --rate 200 "${short[@]}"
  check "mqtt conns" "r['conns_ready']==500 and r['conns_failed']==0" -- \
    conns --proto mqtt --url mqtt://127.0.0.1:$mport --conns 500 --duration 500ms
  check "mqtt churn" "r['cycles_ok']>=150 and r['cycles_failed']==0" -- \
    churn --proto mqtt --url mqtt://127.0.0.1:$mport --rate 200 --duration 1s
fi

# --- wsagent itself, when built ----------------------------------------------------------
if [ ! -x "$wsagent" ]; then
  echo "skip wsagent: $wsagent not built"
else
  port=$(free_port)
  # --pub-rate 0: a saturating load generator publishes faster than any client should.
  "$wsagent" serve --listen 127.0.0.1:"$port" --no-auth --shards 1 --no-pin --pub-rate 0 \
    >"$tmp/wsagent.log" 2>&1 &
  ws=$!; pids+=("$ws"); wait_port "$port"
  url=ws://127.0.0.1:$port/ws
  check "wsagent fixed rate" "$lossless and r['server']['cpu_pct']>=0" -- \
    fanout --url "$url" --subs 50 --rate 1000 --server-pid "$ws" "${short[@]}"
  check "wsagent closed-loop saturation" "$lossless and r['delivered_per_s']>0" -- \
    fanout --url "$url" --subs 20 --rate 0 --window 100 "${short[@]}"
  check "wsagent conns with RSS" "r['conns_ready']==1000 and r['server']['rss_kib']>0" -- \
    conns --url "$url" --conns 1000 --duration 500ms --server-pid "$ws"
  check "wsagent churn with since" "r['cycles_ok']>=150 and r['cycles_failed']==0" -- \
    churn --url "$url" --rate 200 --pubs 1 --pub-rate 100 --duration 1s
fi

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"; exit 1
fi
echo "all checks passed"
