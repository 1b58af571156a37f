// Cross-shard mailbox: records per second through one SPSC ring, on one thread (the cost of
// writing + reading a record) and across two threads (what two shards see).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "core/mailbox.h"

namespace {

void BM_mailbox_same_thread(benchmark::State& state) {
  wsa::mailbox box(1 << 20);
  const auto size = static_cast<uint32_t>(state.range(0));
  std::string payload(size, 'x');
  uint64_t sum = 0;
  for (auto _ : state) {
    for (int i = 0; i < 64; ++i) {
      char* at = box.begin_record(1, size);
      std::memcpy(at, payload.data(), size);
      box.end_record();
    }
    box.publish();
    box.consume([&](uint32_t, std::string_view p) { sum += p.size(); });
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_mailbox_same_thread)->Arg(16)->Arg(128)->Arg(1024);

void BM_mailbox_two_threads(benchmark::State& state) {
  wsa::mailbox box(1 << 20);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> received{0};
  std::thread consumer([&] {
    uint64_t n = 0;
    while (!done.load(std::memory_order_relaxed) || box.readable()) {
      n += box.consume([](uint32_t, std::string_view) {});
    }
    received = n;
  });
  uint64_t sent = 0;
  char payload[128] = {};
  for (auto _ : state) {
    for (int i = 0; i < 64; ++i) {
      char* at = box.begin_record(1, sizeof payload);
      std::memcpy(at, payload, sizeof payload);
      box.end_record();
    }
    box.publish();
    sent += 64;
  }
  while (box.has_overflow()) {
    box.publish();
  }
  box.publish();
  done = true;
  consumer.join();
  state.SetItemsProcessed(static_cast<int64_t>(sent));
  state.counters["received"] = static_cast<double>(received.load());
}
BENCHMARK(BM_mailbox_two_threads)->UseRealTime();

}  // namespace
