// A real Redis Sentinel setup for tests: a master and a replica (redis-server --replicaof)
// and three sentinels (redis-server sentinel.conf --sentinel, which is what Debian's
// redis-sentinel runs) watching them with quorum 2 and a short down-after-milliseconds, on
// free loopback ports. Ready once the replica is in sync and every sentinel knows the replica
// and both other sentinels, so that killing the master leads to a real failover. Every
// process is killed, and its directory removed, on every path (RAII). Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_process.h"

namespace wsa::test {

struct redis_sentinel_options {
  std::string password;           ///< of the master and replica (sentinels get auth-pass)
  bool appendonly = false;        ///< the servers' append-only file, fsync'd on every write
  int down_after_ms = 1000;       ///< sentinel down-after-milliseconds
  int min_replicas_to_write = 0;  ///< min-replicas-to-write of both servers
  /// start() waits until the sentinels know the replica and each other (hello messages come
  /// every 2 s), which a failover needs; tests that only ask for the master skip that wait.
  bool ready_for_failover = true;
};

class redis_sentinels {
 public:
  explicit redis_sentinels(redis_sentinel_options options = {});
  ~redis_sentinels();
  redis_sentinels(const redis_sentinels&) = delete;
  redis_sentinels& operator=(const redis_sentinels&) = delete;

  /// Starts everything and waits until failover is possible. ASSERT_TRUE(s.start()).
  testing::AssertionResult start(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  static constexpr const char* master_name = "wsamaster";
  /// The two data servers: 0 starts as master, 1 as its replica.
  redis_process& server(std::size_t i) { return *servers_[i]; }
  redis_process& sentinel(std::size_t i) { return *sentinels_[i]; }
  std::size_t sentinel_count() const { return sentinels_.size(); }
  /// "127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3".
  std::string sentinel_list() const;

  /// The server that sentinel `asked` names master now, -1 if neither.
  int master_index(std::size_t asked = 0) const;
  /// Waits until every sentinel names server `i` and it says ROLE master.
  testing::AssertionResult wait_master(
      std::size_t i, std::chrono::milliseconds timeout = std::chrono::seconds(60));

  void stop();

 private:
  redis_sentinel_options options_;
  std::vector<std::unique_ptr<redis_process>> servers_;
  std::vector<std::unique_ptr<redis_process>> sentinels_;
};

}  // namespace wsa::test
