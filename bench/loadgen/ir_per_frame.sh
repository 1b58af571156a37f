#!/usr/bin/env bash
# Instructions the load generator executes per received frame (user space, counted by
# valgrind's callgrind, so machine noise does not move them), against wsagent-loadgen-sender
# sending a fixed workload: SUBS subscribers, BATCH frames to each per send, one round every
# 20 ms. Two runs, with FRAMES and 3 x FRAMES frames per subscriber, the same duration; the
# difference of their instruction totals over the difference of frames received is the
# marginal cost of one frame, receive loop and completions included, setup cancelled out.
# The pace is slow enough for valgrind to keep up, so that each receive completion holds about
# one batch (the report prints frames per completion: check it).
#   bench/loadgen/ir_per_frame.sh BUILD_DIR [PROTO=wsagent] [BATCH=16] [SUBS=20] [FRAMES=1600]
# PROTO: wsagent, mqtt or mqtt-ws. Kernel time is not in these counts (see README.md).
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [PROTO] [BATCH] [SUBS] [FRAMES]}
proto=${2:-wsagent}
batch=${3:-16}
subs=${4:-20}
frames=${5:-1600}
lg="$build/bench/loadgen/wsagent-loadgen"
sender="$build/bench/loadgen/wsagent-loadgen-sender"
tmp=$(mktemp -d)
sender_pid=""
cleanup() {
  [ -z "$sender_pid" ] || kill "$sender_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
interval_us=20000
# Long enough for 3 x FRAMES at one round per interval, plus slack for valgrind's slowness.
duration_s=$((3 * frames / batch * interval_us / 1000000 + 8))

# run F: prints "<instructions> <frames received> <receive completions>"
run() {
  local f=$1
  "$sender" --batch "$batch" --interval-us "$interval_us" --frames "$f" >"$tmp/sender.out" \
    2>"$tmp/sender.err" &
  sender_pid=$!
  for _ in $(seq 1 100); do
    grep -q listening "$tmp/sender.out" 2>/dev/null && break
    sleep 0.05
  done
  local port url
  port=$(sed -n 's/^listening .*://p' "$tmp/sender.out")
  if [ "$proto" = mqtt ]; then url=mqtt://127.0.0.1:$port; else url=ws://127.0.0.1:$port/ws; fi
  rm -f "$tmp"/cg.*
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.%p" "$lg" fanout --proto "$proto" \
    --url "$url" --subs "$subs" --pubs 0 --warmup 0 --duration "${duration_s}s" --drain 0 \
    --json >"$tmp/lg.json" 2>"$tmp/valgrind.txt"
  wait "$sender_pid" || true
  sender_pid=""
  local ir=0
  for f in "$tmp"/cg.*; do
    ir=$((ir + $(awk '/^summary:/ {print $2}' "$f")))
  done
  /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]));
print(sys.argv[2], r["received_total"], r["recv_cqes"], r["malformed"], r["gaps"], r["reordered"])' \
    "$tmp/lg.json" "$ir"
}

read -r ir1 got1 cqes1 bad1 gaps1 ro1 < <(run "$frames")
read -r ir3 got3 cqes3 bad3 gaps3 ro3 < <(run $((3 * frames)))
echo "proto $proto, $subs subscribers, $batch frames per send, one round per ${interval_us} us"
echo "run 1: $ir1 instructions, $got1 frames, $cqes1 receive completions ($((got1 / (cqes1 > 0 ? cqes1 : 1))) frames each)"
echo "run 2: $ir3 instructions, $got3 frames, $cqes3 receive completions ($((got3 / (cqes3 > 0 ? cqes3 : 1))) frames each)"
if [ "$got1" -ne $((subs * frames)) ] || [ "$got3" -ne $((subs * 3 * frames)) ] ||
  [ $((bad1 + bad3 + gaps1 + gaps3 + ro1 + ro3)) -ne 0 ]; then
  echo "frames missing, malformed or out of order: the figure below is not a clean one" >&2
fi
/usr/bin/python3 -c 'import sys; a,b,c,d=map(int,sys.argv[1:]); print("instructions per frame: %.1f" % ((b-a)/(d-c)))' \
  "$ir1" "$ir3" "$got1" "$got3"
