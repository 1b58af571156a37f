// Tag validation (every `pub`/`sub` validates its tag), pattern matching (permission checks,
// the naive alternative to the index's trie), coverage (permission checks of `sub` patterns)
// and the MQTT mapping, per call.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "pubsub/tag.h"

namespace {

const std::string short_tag = "chat.room42.msg";  // 15 bytes, 3 segments
const std::string medium_tag = "tenant-0042.project-alpha.channel.general.thread-8812.replies";
const std::string max_tag = [] {  // 255 bytes, 32 segments
  std::string t;
  while (t.size() + 8 < 255) {
    t += "segment.";
  }
  return t + std::string(255 - t.size(), 'x');
}();

void set_bytes(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void is_valid_tag(benchmark::State& state, const std::string& tag) {
  for (auto _ : state) {
    bool ok = wsa::is_valid_tag(tag);
    benchmark::DoNotOptimize(ok);
  }
  set_bytes(state, tag.size());
}
BENCHMARK_CAPTURE(is_valid_tag, short_15B, short_tag);
BENCHMARK_CAPTURE(is_valid_tag, medium_61B, medium_tag);
BENCHMARK_CAPTURE(is_valid_tag, max_255B, max_tag);

void is_valid_pattern(benchmark::State& state, const std::string& pattern) {
  for (auto _ : state) {
    bool ok = wsa::is_valid_pattern(pattern);
    benchmark::DoNotOptimize(ok);
  }
  set_bytes(state, pattern.size());
}
BENCHMARK_CAPTURE(is_valid_pattern, wildcards, std::string("chat.*.msg.>"));
BENCHMARK_CAPTURE(is_valid_pattern, max_255B, max_tag);

void pattern_matches(benchmark::State& state, const std::string& pattern, const std::string& tag,
                     bool expected) {
  for (auto _ : state) {
    bool m = wsa::pattern_matches(pattern, tag);
    benchmark::DoNotOptimize(m);
  }
  if (wsa::pattern_matches(pattern, tag) != expected) {
    state.SkipWithError("unexpected result");
  }
}
BENCHMARK_CAPTURE(pattern_matches, exact_hit, short_tag, short_tag, true);
BENCHMARK_CAPTURE(pattern_matches, star_hit, std::string("chat.*.msg"), short_tag, true);
BENCHMARK_CAPTURE(pattern_matches, gt_hit, std::string("chat.>"), short_tag, true);
BENCHMARK_CAPTURE(pattern_matches, first_segment_miss, std::string("news.*.msg"), short_tag, false);
BENCHMARK_CAPTURE(pattern_matches, last_segment_miss, std::string("chat.*.typing"), short_tag,
                  false);
BENCHMARK_CAPTURE(pattern_matches, medium_gt_hit, std::string("tenant-0042.*.channel.>"),
                  medium_tag, true);
BENCHMARK_CAPTURE(pattern_matches, max_exact_hit, max_tag, max_tag, true);

void pattern_covers(benchmark::State& state, const std::string& outer, const std::string& inner,
                    bool expected) {
  for (auto _ : state) {
    bool c = wsa::pattern_covers(outer, inner);
    benchmark::DoNotOptimize(c);
  }
  if (wsa::pattern_covers(outer, inner) != expected) {
    state.SkipWithError("unexpected result");
  }
}
BENCHMARK_CAPTURE(pattern_covers, gt_covers_star, std::string("chat.>"), std::string("chat.*.msg"),
                  true);
BENCHMARK_CAPTURE(pattern_covers, star_not_gt, std::string("chat.*"), std::string("chat.>"), false);

void mqtt_topic_to_tag(benchmark::State& state) {
  const std::string topic = "sensors/building-7/floor-3/+/temperature";
  std::string out;
  out.reserve(64);
  for (auto _ : state) {
    bool ok = wsa::mqtt_topic_to_tag(topic, true, out);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, topic.size());
}
BENCHMARK(mqtt_topic_to_tag);

}  // namespace
