#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (see tests/fuzz/README.md), built with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/.
#   scripts/fuzz.sh TARGET [SECONDS]   one target for SECONDS (default 300): a local run
#   scripts/fuzz.sh --all SECONDS      every target in turn, SECONDS each (what CI runs)
#   scripts/fuzz.sh --list             the targets
# TARGET is <name> of tests/fuzz/<name>_fuzz.cpp (e.g. ws_frame_stream). The working corpus
# grows in build-fuzz/corpus/<name>/, seeded from tests/fuzz/<name>_seeds/. A crash, leak,
# broken contract or hang (one input over 10 s) stops the run and fails it; the reproducer
# is left in build-fuzz/artifacts/<name>/ and printed in base64. Replay it with
#   build-fuzz/tests/fuzz/<name>_fuzz FILE
# and, once fixed, add it to tests/fuzz/<name>_seeds/ so that every build replays it.
# Environment: FUZZ_JOBS (parallel workers of one target, default 1), FUZZ_ARTIFACTS
# (where reproducers go, default build-fuzz/artifacts).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage

targets() {
  for f in tests/fuzz/*_fuzz.cpp; do
    basename "$f" _fuzz.cpp
  done
}
if [ "$1" = "--list" ]; then
  targets
  exit 0
fi

scripts/install-deps.sh
build=build-fuzz
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DWSAGENT_FUZZ=ON \
    -DWSAGENT_BUILD_TESTS=OFF -DWSAGENT_BUILD_BENCH=OFF >/dev/null
fi
artifacts="${FUZZ_ARTIFACTS:-$build/artifacts}"

# Runs one target for $2 seconds; returns non-zero on a finding.
run_one() {
  local name=$1 seconds=$2
  local exe="$build/tests/fuzz/${name}_fuzz"
  local corpus="$build/corpus/$name"
  local out="$artifacts/$name"
  mkdir -p "$corpus" "$out"
  local flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
               -artifact_prefix="$out/")
  if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    flags+=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
  fi
  [ -f "tests/fuzz/$name.dict" ] && flags+=(-dict="tests/fuzz/$name.dict")
  if [ -f "tests/fuzz/$name.options" ]; then
    read -r -a extra < "tests/fuzz/$name.options"
    flags+=("${extra[@]}")
  fi
  echo "== $name: ${seconds}s"
  local status=0
  # The seeds come second: libFuzzer reads every directory but writes new inputs only to
  # the first one, so tests/fuzz stays as committed.
  ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}" UBSAN_OPTIONS="print_stacktrace=1" \
    "$exe" "${flags[@]}" "$corpus" "tests/fuzz/${name}_seeds" \
    > "$out/log.txt" 2>&1 || status=$?
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^Done [0-9]+ runs" "$out/log.txt" || true
  if [ $status -ne 0 ]; then
    echo "!! $name failed (status $status); the end of its log:"
    tail -n 60 "$out/log.txt"
    for f in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
      [ -f "$f" ] || continue
      echo "!! reproducer $f (base64):"
      base64 -w 0 "$f"
      echo
    done
  fi
  return $status
}

if [ "$1" = "--all" ]; then
  seconds=${2:?"--all needs SECONDS"}
  mapfile -t names < <(targets)
  cmake --build "$build" --target $(printf '%s_fuzz ' "${names[@]}")
  failed=()
  for name in "${names[@]}"; do
    run_one "$name" "$seconds" || failed+=("$name")
  done
  if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzzing found problems in: ${failed[*]} (reproducers in $artifacts)"
    exit 1
  fi
  echo "fuzzing: no finding in ${#names[@]} targets"
  exit 0
fi

name=$1
[ -f "tests/fuzz/${name}_fuzz.cpp" ] || { echo "no target $name; scripts/fuzz.sh --list"; exit 2; }
cmake --build "$build" --target "${name}_fuzz"
run_one "$name" "${2:-300}"
