// Reads the server's own counters from GET /metrics (Prometheus text), for tests that check
// what a limit counted.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace wsa::test {

/// The sum over shards of metric `name` (e.g. "wsagent_history_bytes"); 0 when absent.
uint64_t metric_sum(uint16_t port, std::string_view name);

/// metric_sum, read again until it is `expected` or `timeout` has passed; the last value read.
uint64_t await_metric_sum(uint16_t port, std::string_view name, uint64_t expected,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// The same from an already fetched exposition text.
uint64_t metric_sum_in(std::string_view text, std::string_view name);

/// The value of `name` for one shard (the series labelled shard="N"); 0 when absent.
uint64_t metric_of_shard(std::string_view text, std::string_view name, unsigned shard);

/// A histogram's cumulative bucket `le` ("0.001", "+Inf"): name_bucket{le="..."}; 0 when absent.
uint64_t histogram_bucket_in(std::string_view text, std::string_view name, std::string_view le);

/// Every metric of the text, summed over its series (latency sums are fractional).
std::map<std::string, double> metric_sums_in(std::string_view text);

}  // namespace wsa::test
