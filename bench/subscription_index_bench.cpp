// The per-shard subscription index: fan-out of one tag to its exact subscribers (the hot
// path), matching against an index of 10k subscriptions of which 60% are patterns (with the
// naive scan of 10k pattern_matches for comparison), add/remove churn, and memory per
// subscription for a few shapes (memory_bytes() and glibc's own count of live heap bytes).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "pubsub/subscription_index.h"
#include "pubsub/tag.h"

namespace {

using wsa::subscription_index;

// ---- fan-out of one tag ------------------------------------------------------------------

// One tag with N exact subscribers among 10k other tags; the callback sums the ids, standing
// in for "append a frame reference to this connection's queue".
void fanout_exact(benchmark::State& state) {
  const auto subscribers = static_cast<uint32_t>(state.range(0));
  subscription_index index;
  for (uint32_t t = 0; t < 10'000; ++t) {
    index.add("room." + std::to_string(t) + ".msg", t);
  }
  for (uint32_t s = 0; s < subscribers; ++s) {
    index.add("room.hot.msg", 100'000 + s);
  }
  const std::string tag = "room.hot.msg";
  for (auto _ : state) {
    uint64_t sum = 0;
    index.for_each_subscriber(tag, [&sum](uint32_t s) { sum += s; });
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * subscribers));
}
BENCHMARK(fanout_exact)->Arg(1)->Arg(1000)->Arg(10'000);

// ---- matching against a mixed index ------------------------------------------------------

// 10k subscriptions, 6k of them patterns:
//   4000 exact   room.<i % 2000>.msg      (2 per tag)
//   2000 pattern room.<i % 1000>.*        (2 per pattern)
//   2000 pattern user.<i>.>
//   1000 pattern *.<i % 500>.msg          (a wide `*` branch at the root)
//   1000 pattern room.*.typing            (one pattern, 1000 subscribers)
struct mixed_index {
  subscription_index index;
  std::vector<std::pair<std::string, uint32_t>> subscriptions;
  std::vector<std::string> tags;  // what gets published: mostly room.<k>.msg

  mixed_index() {
    uint32_t s = 0;
    const auto sub = [&](std::string pattern) {
      index.add(pattern, s);
      subscriptions.emplace_back(std::move(pattern), s++);
    };
    for (int i = 0; i < 4000; ++i) {
      sub("room." + std::to_string(i % 2000) + ".msg");
    }
    for (int i = 0; i < 2000; ++i) {
      sub("room." + std::to_string(i % 1000) + ".*");
    }
    for (int i = 0; i < 2000; ++i) {
      sub("user." + std::to_string(i) + ".>");
    }
    for (int i = 0; i < 1000; ++i) {
      sub("*." + std::to_string(i % 500) + ".msg");
    }
    for (int i = 0; i < 1000; ++i) {
      sub("room.*.typing");
    }
    std::mt19937 rng(1);
    for (int i = 0; i < 1024; ++i) {
      const uint32_t kind = rng() % 8;
      if (kind < 6) {
        tags.push_back("room." + std::to_string(rng() % 2500) + ".msg");
      } else if (kind == 6) {
        tags.push_back("user." + std::to_string(rng() % 2500) + ".inbox.new");
      } else {
        tags.push_back("news." + std::to_string(rng() % 100) + ".world");  // nobody
      }
    }
  }
};

const mixed_index& mixed() {
  static const auto* m = new mixed_index();  // built once, shared by the benchmarks
  return *m;
}

void match_mixed_10k(benchmark::State& state) {
  const mixed_index& m = mixed();
  std::size_t i = 0;
  uint64_t reported = 0;
  for (auto _ : state) {
    uint64_t sum = 0;
    m.index.for_each_subscriber(m.tags[i++ & 1023], [&](uint32_t s) {
      sum += s;
      ++reported;
    });
    benchmark::DoNotOptimize(sum);
  }
  state.counters["subscribers_per_match"] =
      static_cast<double>(reported) / static_cast<double>(state.iterations());
  state.counters["trie_nodes"] = static_cast<double>(m.index.trie_nodes());
}
BENCHMARK(match_mixed_10k);

// A tag that only the `room.*.typing` pattern matches (1000 subscribers from the trie).
void match_mixed_10k_pattern_fanout(benchmark::State& state) {
  const mixed_index& m = mixed();
  for (auto _ : state) {
    uint64_t sum = 0;
    m.index.for_each_subscriber("room.1234.typing", [&](uint32_t s) { sum += s; });
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 1000));
}
BENCHMARK(match_mixed_10k_pattern_fanout);

void has_subscribers_mixed_10k(benchmark::State& state) {
  const mixed_index& m = mixed();
  std::size_t i = 0;
  for (auto _ : state) {
    bool any = m.index.has_subscribers(m.tags[i++ & 1023]);
    benchmark::DoNotOptimize(any);
  }
}
BENCHMARK(has_subscribers_mixed_10k);

// What the trie saves: every subscription tested with pattern_matches.
void naive_scan_10k(benchmark::State& state) {
  const mixed_index& m = mixed();
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& tag = m.tags[i++ & 1023];
    uint64_t sum = 0;
    for (const auto& [pattern, s] : m.subscriptions) {
      if (wsa::pattern_matches(pattern, tag)) {
        sum += s;
      }
    }
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(naive_scan_10k);

// ---- churn -------------------------------------------------------------------------------

// One subscriber leaves and rejoins a tag (or pattern) that 10k others hold.
void churn_crowded(benchmark::State& state, const std::string& pattern) {
  subscription_index index;
  for (uint32_t s = 0; s < 10'000; ++s) {
    index.add(pattern, s);
  }
  uint32_t s = 0;
  for (auto _ : state) {
    const uint32_t who = (s++ * 7919) % 10'000;  // not always the last one in the array
    bool removed = index.remove(pattern, who);
    bool added = index.add(pattern, who);
    benchmark::DoNotOptimize(removed);
    benchmark::DoNotOptimize(added);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2));
}
BENCHMARK_CAPTURE(churn_crowded, exact_tag, std::string("room.hot.msg"));
BENCHMARK_CAPTURE(churn_crowded, pattern, std::string("room.*.msg"));

// A subscriber joins and leaves a tag nobody else holds: entry creation and release.
void churn_fresh(benchmark::State& state, bool pattern) {
  subscription_index index;
  std::vector<std::string> names;
  for (int i = 0; i < 4096; ++i) {
    names.push_back("user." + std::to_string(i) + (pattern ? ".>" : ".inbox"));
  }
  for (int i = 0; i < 10'000; ++i) {  // a populated index around it
    index.add("room." + std::to_string(i) + ".msg", static_cast<uint32_t>(i));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& name = names[i++ & 4095];
    bool added = index.add(name, 1);
    bool removed = index.remove(name, 1);
    benchmark::DoNotOptimize(added);
    benchmark::DoNotOptimize(removed);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2));
}
BENCHMARK_CAPTURE(churn_fresh, exact_tag, false);
BENCHMARK_CAPTURE(churn_fresh, pattern, true);

// ---- memory ------------------------------------------------------------------------------

std::size_t live_heap_bytes() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Builds an index of `count` subscriptions of one shape and reports bytes per subscription:
// index_bytes from memory_bytes() (capacities, so vector/table growth slack included),
// heap_bytes from glibc's count of live heap and mmap'd blocks (allocator headers and
// rounding included; the benchmarks are not linked with mimalloc).
void memory(benchmark::State& state, int shape) {
  constexpr uint32_t count = 100'000;
  double index_bytes = 0;
  double heap_bytes = 0;
  for (auto _ : state) {
    const std::size_t before = live_heap_bytes();
    auto index = std::make_unique<subscription_index>();
    for (uint32_t i = 0; i < count; ++i) {
      switch (shape) {
        case 0:  // one tag, 100k subscribers
          index->add("room.hot.msg", i);
          break;
        case 1:  // 100k tags, one subscriber each (private inboxes)
          index->add("user." + std::to_string(i) + ".inbox", i);
          break;
        case 2:  // 10k tags, 10 subscribers each
          index->add("room." + std::to_string(i / 10) + ".msg", i);
          break;
        case 3:  // 100k patterns, one subscriber each
          index->add("user." + std::to_string(i) + ".>", i);
          break;
        default:  // 1000 patterns, 100 subscribers each
          index->add("room." + std::to_string(i / 100) + ".*", i);
          break;
      }
    }
    index_bytes = static_cast<double>(index->memory_bytes()) / count;
    heap_bytes =
        static_cast<double>(live_heap_bytes() - before - sizeof(subscription_index)) / count;
    benchmark::DoNotOptimize(index.get());
  }
  state.counters["index_bytes_per_sub"] = index_bytes;
  state.counters["heap_bytes_per_sub"] = heap_bytes;
}
BENCHMARK_CAPTURE(memory, one_tag_100k_subs, 0)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(memory, 100k_tags_1_sub, 1)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(memory, 10k_tags_10_subs, 2)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(memory, 100k_patterns_1_sub, 3)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(memory, 1k_patterns_100_subs, 4)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
