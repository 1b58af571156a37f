// Fan-out enqueue: one encoded frame queued by reference to N connections' outbound queues
// and gathered into iovecs, the per-message work of a shard apart from the kernel's copy.
#include <benchmark/benchmark.h>

#include <vector>

#include "net/out_queue.h"
#include "pubsub/subscription_index.h"
#include "ws/frame.h"

namespace {

void BM_fanout_enqueue(benchmark::State& state) {
  const auto subscribers = static_cast<uint32_t>(state.range(0));
  wsa::subscription_index index;
  for (uint32_t s = 0; s < subscribers; ++s) {
    index.add("bench.t0", s);
  }
  std::vector<wsa::out_queue> queues(subscribers);
  std::vector<uint64_t> stamps(subscribers, 0);
  iovec iov[128];
  uint64_t stamp = 0;
  wsa::frame* f = wsa::make_ws_frame(wsa::ws_opcode::text, std::string(100, 'x'));
  int batch = 0;
  for (auto _ : state) {
    ++stamp;
    index.for_each_subscriber("bench.t0", [&](uint32_t s) {
      if (stamps[s] == stamp) {
        return;
      }
      stamps[s] = stamp;
      queues[s].push(f);
    });
    if (++batch == 32) {  // a loop turn: each queue gathered and sent in one go
      batch = 0;
      for (auto& q : queues) {
        q.gather(iov, 128);
        q.consume(q.bytes());
      }
    }
  }
  for (auto& q : queues) {
    q.clear();
  }
  f->unref();
  state.SetItemsProcessed(state.iterations() * subscribers);
}
BENCHMARK(BM_fanout_enqueue)->Arg(100)->Arg(1000)->Arg(10000);

}  // namespace
