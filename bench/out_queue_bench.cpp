// A connection's output queue through bursts of frames, as a subscriber's queue sees them
// when each burst is sent before the next one arrives: push the burst (by reference), hand
// it to the kernel (gather), retire it (consume). The queue empties between bursts; it keeps
// its array across them (net/out_queue.h), so a burst of two or more frames allocates
// nothing.
#include <benchmark/benchmark.h>

#include "net/out_queue.h"

namespace {

void BM_out_queue_burst(benchmark::State& state) {
  const auto burst = static_cast<unsigned>(state.range(0));
  wsa::frame* f = wsa::frame::make_raw(R"({"op":"msg","tag":"chat.lobby","seq":1,"ts":0})");
  wsa::out_queue q;
  iovec iov[64];
  for (auto _ : state) {
    for (unsigned i = 0; i < burst; ++i) {
      q.push(f);
    }
    benchmark::DoNotOptimize(q.gather(iov, 64));
    q.consume(q.bytes());
  }
  f->unref();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * burst));
}
BENCHMARK(BM_out_queue_burst)->Arg(1)->Arg(4)->Arg(32);

}  // namespace
