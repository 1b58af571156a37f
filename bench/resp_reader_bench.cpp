// Reading Redis replies as a broker link does: one receive holding a batch of publish
// replies ([seq, ts] arrays) and pub/sub pushes (["message", channel, "seq epoch ts data"]),
// fed to the reader and every reply walked; and the live payloads of those pushes parsed as
// the broker does.
#include <benchmark/benchmark.h>

#include <string>

#include "broker/redis_scripts.h"
#include "redis/resp_reader.h"

namespace {

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// `n` publish replies followed by `n` pushes of a 64-byte payload, as one receive.
std::string receive(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "*2\r\n:" + std::to_string(100000 + i) + "\r\n:1764950400123\r\n";
  }
  const std::string data = "{\"text\":\"" + std::string(53, 'x') + "\"}";
  for (int i = 0; i < n; ++i) {
    out += "*3\r\n" + bulk("message") + bulk("wsa:{chat.lobby}") +
           bulk(std::to_string(100000 + i) + " 7f3a9c 1764950400123 " + data);
  }
  return out;
}

void BM_read_replies_and_pushes(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string input = receive(n);
  wsa::resp_reader reader;
  std::size_t bytes = 0;
  for (auto _ : state) {
    reader.feed(input.data(), input.size());
    wsa::resp_view v;
    while (reader.next(v) == wsa::resp_reader::result::reply) {
      bytes += v[1].str().size() + static_cast<std::size_t>(v[0].integer());
    }
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations() * 2 * n);  // replies + pushes
}
BENCHMARK(BM_read_replies_and_pushes)->Arg(1)->Arg(16);

// What the broker reads of each pub/sub message after the reader: the live payload's seq,
// epoch and ts (redis_parse_live), on the pushes of the receive above.
void BM_parse_live_payloads(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string input = receive(n);
  wsa::resp_reader reader;
  uint64_t sum = 0;
  for (auto _ : state) {
    reader.feed(input.data(), input.size());
    wsa::resp_view v;
    while (reader.next(v) == wsa::resp_reader::result::reply) {
      uint64_t seq = 0;
      std::string_view epoch;
      int64_t ts_ms = 0;
      std::string_view data;
      if (v.size() == 3 && wsa::redis_parse_live(v[2].str(), seq, epoch, ts_ms, data)) {
        sum += seq + static_cast<uint64_t>(ts_ms) + epoch.size() + data.size();
      }
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * n);  // pushes
}
BENCHMARK(BM_parse_live_payloads)->Arg(16);

}  // namespace
