#!/usr/bin/env bash
# The load generator against wsagent-loadgen-sender over real loopback sockets, for each
# protocol (wsagent v1, MQTT/TCP, MQTT/WebSocket) and two batch sizes: every subscriber
# ready, deliveries counted, and not one gap, reorder, malformed stamp or error, so the fast
# receive path and the general one agree with what the sender wrote. Also a paced sender
# with --frames: exactly subs x frames deliveries arrive. About 10 s; registered in ctest.
#   bench/loadgen/testdata/sender_check.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: sender_check.sh BUILD_DIR}
lg="$build/bench/loadgen/wsagent-loadgen"
sender="$build/bench/loadgen/wsagent-loadgen-sender"
py=/usr/bin/python3
tmp=$(mktemp -d)
sender_pid=""
cleanup() {
  [ -z "$sender_pid" ] || kill "$sender_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0

# check NAME PROTO CONDITION SENDER_ARGS... -- LOADGEN_ARGS...
check() {
  local name=$1 proto=$2 cond=$3
  shift 3
  local sargs=()
  while [ "$1" != "--" ]; do sargs+=("$1"); shift; done
  shift
  "$sender" "${sargs[@]}" >"$tmp/sender.out" 2>"$tmp/sender.err" &
  sender_pid=$!
  for _ in $(seq 1 100); do
    grep -q listening "$tmp/sender.out" 2>/dev/null && break
    sleep 0.05
  done
  local port url
  port=$(sed -n 's/^listening .*://p' "$tmp/sender.out")
  if [ "$proto" = mqtt ]; then url=mqtt://127.0.0.1:$port; else url=ws://127.0.0.1:$port/ws; fi
  if ! timeout 60 "$lg" fanout --proto "$proto" --url "$url" --pubs 0 --json "$@" \
      >"$tmp/out.json" 2>"$tmp/err"; then
    echo "FAIL $name: load generator failed ($(tail -1 "$tmp/err"))"; fails=$((fails + 1))
  elif "$py" -c "import json,sys; r=json.load(open('$tmp/out.json')); sys.exit(0 if ($cond) else 1)"; then
    echo "ok   $name"
  else
    echo "FAIL $name: ($cond) is false for:"; cat "$tmp/out.json"; fails=$((fails + 1))
  fi
  wait "$sender_pid" 2>/dev/null || true  # it exits once its last subscriber is gone
  sender_pid=""
}

clean='r["gaps"]==0 and r["reordered"]==0 and r["malformed"]==0 and r["errors"]["disconnects"]==0 and r["errors"]["handshake"]==0 and r["errors"]["first"]==""'
short=(--warmup 200ms --duration 800ms --drain 0)
for proto in wsagent mqtt mqtt-ws; do
  for batch in 1 64; do
    check "$proto, 20 subscribers, $batch frames per send" "$proto" \
      "$clean and r['subs_ready']==20 and r['delivered']>20 and r['latency_ms']['count']>0" \
      --batch "$batch" -- --subs 20 "${short[@]}"
  done
  check "$proto, paced 4 KiB frames, exactly 10 x 300 delivered" "$proto" \
    "$clean and r['received_total']==3000" \
    --batch 10 --interval-us 2000 --frames 300 --size 4096 -- \
    --subs 10 --size 4096 --warmup 0 --duration 1500ms --drain 1s
done
# --delayed-acks: reads ACK less often; every frame still arrives, in order.
check "wsagent, paced, --delayed-acks, exactly 20 x 300 delivered" wsagent \
  "$clean and r['received_total']==6000" \
  --batch 3 --interval-us 1000 --frames 300 --size 64 -- \
  --subs 20 --size 64 --warmup 0 --duration 1500ms --drain 1s --delayed-acks
if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all sender checks passed"
