#!/usr/bin/env bash
# Instruction counts of a microbenchmark under valgrind's callgrind: unlike time, they do not
# move with machine noise, so before/after comparisons of a hot path are exact (same binary
# options, same filter, same min time).
#   perf/callgrind.sh BENCH_BINARY [FILTER] [MIN_TIME_SECONDS]
# e.g. perf/callgrind.sh build/bench/fanout_bench 'BM_fanout_enqueue/1000$' 0.05
# Prints the instructions of the BM_ functions' call trees (their setup included), divided by
# the iterations of the final run; Google Benchmark also runs each BM_ function a few times
# to size that run (`calls=` in callgrind_annotate), so the figure overstates one iteration.
# Compare only runs with the same options, and prefer the top-function rows for details.
set -euo pipefail
bin=${1:?usage: $0 BENCH_BINARY [FILTER] [MIN_TIME_SECONDS]}
filter=${2:-.}
min_time=${3:-0.05}
out=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  --toggle-collect='*BM_*' \
  "$bin" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
  --benchmark_format=json >"$out/bench.json" 2>"$out/valgrind.txt"
total=$(callgrind_annotate "$out/callgrind.out" 2>/dev/null |
  awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
iterations=$(/usr/bin/python3 -c 'import json,sys; print(sum(b["iterations"] for b in json.load(open(sys.argv[1]))["benchmarks"]))' "$out/bench.json")
echo "instructions: $total over $iterations iterations = $((total / (iterations > 0 ? iterations : 1))) per reported iteration (sizing runs included)"
callgrind_annotate --threshold=95 "$out/callgrind.out" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | sed -n '2,16p'
echo "raw: $out/callgrind.out (callgrind_annotate $out/callgrind.out)"
