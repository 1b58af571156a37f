#!/usr/bin/env bash
# Builds everything and runs the whole test suite (unit, integration over real sockets,
# Redis against a real redis-server the tests start, interop with a third-party client).
#   scripts/test.sh              Release build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   scripts/test.sh --tsan       ThreadSanitizer build in build-tsan/ of what crosses threads:
#                                the mailbox, the doorbell handshake, and the integration tests
#                                of several shards (fan-out, drain, metrics, slow consumers,
#                                Redis gaps). The doorbell's MSG_RING is invisible to TSan;
#                                tests/unit/core/wakeup_test.cpp covers its atomics instead.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

build=build
flags=(-DCMAKE_BUILD_TYPE=Release)
targets=()
only=()
if [ "${1:-}" = "--sanitize" ]; then
  build=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DWSAGENT_SANITIZE=address,undefined -DWSAGENT_BUILD_BENCH=OFF)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
elif [ "${1:-}" = "--tsan" ]; then
  build=build-tsan
  # -Wno-tsan: GCC warns that TSan ignores std::atomic_thread_fence; the fences (core/wakeup.h)
  # order the doorbell against the kernel's MSG_RING, which TSan cannot see anyway.
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSAGENT_SANITIZE=thread -DWSAGENT_BUILD_BENCH=OFF
         -DCMAKE_CXX_FLAGS=-Wno-tsan)
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
  targets=(--target wsagent wsa_core_tests wsa_integration_tests)
  only=(-R '^(mailbox|record|wakeup|Shards|Shutdown|DrainInFlight|Metrics|SlowConsumer|redis_gap)\.')
fi
cmake -S . -B "$build" -G Ninja -DWSAGENT_WERROR=ON -DWSAGENT_BUILD_TESTS=ON "${flags[@]}" >/dev/null
cmake --build "$build" "${targets[@]}"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300 "${only[@]}"
