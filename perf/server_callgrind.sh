#!/usr/bin/env bash
# Instructions the whole server spends per delivery, counted by valgrind's callgrind: unlike
# wall-clock figures they hardly move with other load on the machine, so two builds can be
# compared on a busy machine. One shard, SUBS subscribers of one tag, RATE messages/s for
# SECONDS; only the measured window is counted (callgrind_control turns instrumentation on after a
# warm-up), and deliveries come from the server's own wsagent_deliveries_total.
#   perf/server_callgrind.sh WSAGENT LOADGEN [SUBS] [RATE] [SECONDS]
# e.g. perf/server_callgrind.sh build/wsagent build/bench/loadgen/wsagent-loadgen 100 100 10
# PROTO=mqtt (MQTT 3.1.1 over TCP, --mqtt-listen) or PROTO=mqtt-ws (/mqtt) measures the same
# fan-out to MQTT subscribers; QOS=1 makes them QoS 1 (default 0). BROKER=redis://HOST:PORT
# measures the server with that Redis as its broker (start the Redis yourself).
# The figure includes everything the server runs in the window (loop turns, sends, timers),
# not only fan-out; compare runs with the same arguments.
set -euo pipefail
server=${1:?usage: $0 WSAGENT LOADGEN [SUBS] [RATE] [SECONDS]}
loadgen=${2:?usage: $0 WSAGENT LOADGEN [SUBS] [RATE] [SECONDS]}
subs=${3:-100}
rate=${4:-100}
seconds=${5:-10}
out=$(mktemp -d)
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
proto=${PROTO:-wsagent}
server_args=()
if [ -n "${BROKER:-}" ]; then server_args+=(--broker "$BROKER"); fi
url="ws://127.0.0.1:$port/ws"
case $proto in
  mqtt)
    mqtt_port=$(free_port)
    server_args+=(--mqtt-listen "127.0.0.1:$mqtt_port")
    url="mqtt://127.0.0.1:$mqtt_port"
    ;;
  mqtt-ws)
    server_args+=(--mqtt-ws)
    url="ws://127.0.0.1:$port/mqtt"
    ;;
esac

valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/callgrind.out" \
  "$server" serve --no-auth --shards 1 --listen "127.0.0.1:$port" "${server_args[@]}" \
  >"$out/server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done

deliveries() {
  curl -sf "http://127.0.0.1:$port/metrics" |
    awk '/^wsagent_deliveries_total/ { sum += $2 } END { printf "%d\n", sum }'
}

"$loadgen" fanout --proto "$proto" --url "$url" --qos "${QOS:-0}" --subs "$subs" --rate "$rate" --size 64 \
  --warmup 3s --duration "$((seconds + 4))s" --drain 2s >"$out/loadgen.txt" 2>&1 &
load=$!
sleep 5  # connected, subscribed and warm
before=$(deliveries)
callgrind_control -i on "$pid" >/dev/null
sleep "$seconds"
callgrind_control -i off "$pid" >/dev/null
after=$(deliveries)
wait $load || true
kill -TERM $pid
wait $pid || true
trap - EXIT

total=$(callgrind_annotate "$out/callgrind.out" 2>/dev/null |
  awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print $1; done = 1}')
n=$((after - before))
echo "deliveries in the window: $n; instructions: $total; per delivery: $((total / (n > 0 ? n : 1)))"
callgrind_annotate --inclusive=no --threshold=90 "$out/callgrind.out" 2>/dev/null |
  grep -E '^ *[0-9,]+ \(' | sed -n '2,12p' || true
echo "raw: $out (callgrind_annotate $out/callgrind.out)"
