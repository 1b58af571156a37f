// Tools for the abuse tests (tests/integration/abuse_*_test.cpp): an attacker that writes as
// fast as the server takes bytes and never reads, and a well-behaved bystander on the same
// shard whose ping round trips must keep being answered while the attack runs. The server
// itself is measured with process_probe.h (memory from /proc, not its own word).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "support/tcp_socket.h"
#include "support/ws_client.h"

namespace wsa::test {

struct flood_result {
  std::size_t bytes = 0;  ///< what the server's kernel accepted
  bool stalled = false;   ///< the server stopped taking bytes (its input is not read)
  bool closed = false;    ///< the server closed or reset the connection
};

/// Writes `unit` over and over (in batches of about 64 KiB) until `max_bytes` are sent,
/// `max_time` passes, or the server accepted nothing for `stall`. Never reads.
flood_result flood(tcp_socket& socket, std::string_view unit, std::size_t max_bytes,
                   std::chrono::milliseconds max_time,
                   std::chrono::milliseconds stall = std::chrono::milliseconds(700));

/// A client that minds its manners: subscribes to nothing, reads everything, and checks that
/// the server answers its pings while others attack it.
class bystander {
 public:
  explicit bystander(uint16_t port, const ws_options& options = {});
  /// One `ping` request answered with its `ok`; throws (failing the test) if none comes
  /// within the timeout.
  void round_trip(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int answered() const { return answered_; }

 private:
  ws_client client_;
  int answered_ = 0;
};

/// Runs `attack` on another thread and makes the bystander's round trips meanwhile, every
/// `every`, until the attack returns (at least one round trip). Returns how many were
/// answered; an unanswered round trip throws.
int keep_pinging_during(bystander& by, const std::function<void()>& attack,
                        std::chrono::milliseconds every = std::chrono::milliseconds(100));

/// Answers to `n` requests (by `ok` or `err`, in whatever order; other messages are
/// skipped): how many were ok and how many refused with the `refusal` code. Any other `err`
/// throws.
struct answer_counts {
  int ok = 0;
  int refused = 0;
};
answer_counts count_answers(ws_client& c, int n, std::string_view refusal = "rate_limited");

/// RSS growth of the process in MiB since `base_kib` (from rss_kib).
double grown_mib(pid_t pid, int64_t base_kib);

/// The value of a per-shard metric from GET /metrics (metrics_reader.h), throwing if the
/// server does not export it at all.
uint64_t metric(uint16_t port, std::string_view name, unsigned shard = 0);
/// The same summed over every shard.
uint64_t metric_total(uint16_t port, std::string_view name);

}  // namespace wsa::test
