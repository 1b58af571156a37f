#!/usr/bin/env bash
# Counts what a running wsagent does for N seconds with `perf stat`: CPU time, context
# switches, migrations, page faults (software events; hardware counters are reported too
# where the machine has them: a VM without them answers `<not supported>`).
#   perf/stat.sh [--pid PID] [--seconds N]
set -euo pipefail
pid="" seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --pid) pid=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--pid PID] [--seconds N]" >&2; exit 2 ;;
  esac
done
[ -n "$pid" ] || pid=$(pgrep -nx wsagent || true)
[ -n "$pid" ] || { echo "no wsagent process found (give --pid)" >&2; exit 1; }
events=task-clock,context-switches,cpu-migrations,page-faults
if perf stat -x, -e instructions true 2>&1 | grep -q '^[0-9]'; then
  events=$events,cycles,instructions
fi
perf stat -e "$events" -p "$pid" -- sleep "$seconds"
