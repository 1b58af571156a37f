#!/usr/bin/env bash
# Profiles a running wsagent: `perf record` call graphs on the software clock (the only
# event these VMs have), then a flame graph, folded stacks and a flat top list.
#   perf/profile.sh [--pid PID] [--seconds N] [--out DIR]
# Defaults: the newest `wsagent` process, 5 seconds, perf-out/. Put load on the server
# first (e.g. wsagent-loadgen fanout, or `bench/compare/run --profile`). Read the result:
# docs/profiling.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pid="" seconds=5 out=perf-out
while [ $# -gt 0 ]; do
  case "$1" in
    --pid) pid=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--pid PID] [--seconds N] [--out DIR]" >&2; exit 2 ;;
  esac
done
[ -n "$pid" ] || pid=$(pgrep -nx wsagent || true)
[ -n "$pid" ] || { echo "no wsagent process found (give --pid)" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
mkdir -p "$out"
perf record -e cpu-clock -F 1999 -g -p "$pid" -o "$out/perf.data" -- sleep "$seconds" 2>"$out/record.log"
perf script -i "$out/perf.data" 2>/dev/null |
  /usr/bin/python3 "$here/flamegraph.py" --title "wsagent pid $pid, ${seconds}s" \
    -o "$out/flame.svg" --folded "$out/folded.txt"
perf report -i "$out/perf.data" --no-children --stdio --percent-limit 0.5 2>/dev/null |
  grep -E '^ +[0-9.]+%' >"$out/top.txt" || true
echo "--- top (self time) ---"
head -25 "$out/top.txt"
echo "flame graph: $out/flame.svg   folded stacks: $out/folded.txt   raw: $out/perf.data"
