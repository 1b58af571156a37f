// The load generator's per-frame readers (bench/loadgen/payload.h) on wsagent 1.1 `msg`
// frames with a 64-byte body: read_msg_stamp walks the envelope (tag, seq, ts) to the body,
// read_msg_tail_stamp finds the body from the frame's end; parse_stamp is the general search
// both fall back to. Frames as wsagent writes them, seqs and stamps of realistic widths.
//   build/bench/loadgen_stamp_bench
//   valgrind --tool=callgrind build/bench/loadgen_stamp_bench --benchmark_min_time=0.05
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "payload.h"

namespace wsa::loadgen {
namespace {

constexpr std::size_t body_size = 64;

std::vector<std::string> frames() {
  std::vector<std::string> out;
  for (uint32_t k = 0; k < 256; ++k) {
    const stamp s{58123456789012ull + k * 1000ull, k % 4, 1234567 + k};
    std::string body(data_size(s, body_size), '\0');
    write_data(body.data(), s, body_size);
    out.push_back(msg_prefix("bench.t0") + std::to_string(7654321 + k) +
                  ",\"ts\":" + std::to_string(1764950400123ull + k) + ",\"data\":" + body + "}");
  }
  return out;
}

template <class Read>
void run(benchmark::State& state, Read&& read) {
  const std::vector<std::string> all = frames();
  uint64_t sum = 0;
  for (auto _ : state) {
    for (const std::string& f : all) {
      stamp s;
      if (!read(f, s)) {
        state.SkipWithError("a frame was not read");
        return;
      }
      sum += s.t + s.seq + s.publisher;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * all.size()));
}

void BM_read_msg_tail_stamp(benchmark::State& state) {
  run(state, [](const std::string& f, stamp& s) {
    return read_msg_tail_stamp(f.data(), f.size(), body_size, s);
  });
}
BENCHMARK(BM_read_msg_tail_stamp);

void BM_read_msg_stamp(benchmark::State& state) {
  const std::string prefix = msg_prefix("bench.t0");
  run(state, [&prefix](const std::string& f, stamp& s) {
    return read_msg_stamp(f.data(), f.size(), prefix, s);
  });
}
BENCHMARK(BM_read_msg_stamp);

void BM_parse_stamp(benchmark::State& state) {
  run(state, [](const std::string& f, stamp& s) { return parse_stamp(f.data(), f.size(), s); });
}
BENCHMARK(BM_parse_stamp);

}  // namespace
}  // namespace wsa::loadgen
