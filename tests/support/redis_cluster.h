// A real Redis Cluster for tests: N masters (redis-server --cluster-enabled yes) on free
// loopback ports, each with its cluster bus on another free port, the 16384 slots split
// evenly in contiguous ranges (CLUSTER ADDSLOTSRANGE) and the nodes introduced by CLUSTER
// MEET; ready once every node reports cluster_state:ok and the same slot map. Slots are moved
// the way `redis-cli --cluster reshard` moves them (SETSLOT IMPORTING / MIGRATING, MIGRATE
// of every key, SETSLOT NODE everywhere), one step at a time so that tests can send traffic
// in between. Every process is killed, and its directory removed, on every path (RAII).
// Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_process.h"

namespace wsa::test {

class redis_cluster {
 public:
  explicit redis_cluster(std::size_t masters = 3, std::string password = {});
  ~redis_cluster();
  redis_cluster(const redis_cluster&) = delete;
  redis_cluster& operator=(const redis_cluster&) = delete;

  /// Starts the nodes and forms the cluster. Use as ASSERT_TRUE(cluster.start()).
  testing::AssertionResult start(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::size_t size() const { return nodes_.size(); }
  redis_process& node(std::size_t i) { return *nodes_[i]; }
  const std::string& node_id(std::size_t i) const { return ids_[i]; }
  /// "127.0.0.1:P1,127.0.0.1:P2,..." (every node: a client's seed list).
  std::string seeds() const;
  /// The index of the master that node `asked` says serves `slot`; -1 when none.
  int owner_of(uint16_t slot, std::size_t asked = 0) const;

  // Moving a slot, step by step.
  /// SETSLOT IMPORTING on the target, then MIGRATING on the source.
  testing::AssertionResult begin_migration(uint16_t slot, std::size_t to);
  /// MIGRATEs up to `max_keys` of the slot's keys (all with the default) to the target.
  testing::AssertionResult migrate_keys(uint16_t slot, std::size_t max_keys = 1000);
  /// SETSLOT NODE on the target, the source, then every other node; waits until every node
  /// agrees on the new owner.
  testing::AssertionResult finish_migration(uint16_t slot);
  /// All three.
  testing::AssertionResult move_slot(uint16_t slot, std::size_t to);

  /// Kills every node (also done by the destructor).
  void stop();

 private:
  testing::AssertionResult start_node(std::size_t i,
                                      std::chrono::steady_clock::time_point deadline);
  testing::AssertionResult wait_converged(std::chrono::steady_clock::time_point deadline);

  std::string password_;
  std::vector<std::unique_ptr<redis_process>> nodes_;
  std::vector<std::string> ids_;
  std::vector<uint16_t> bus_ports_;
  std::vector<std::pair<uint16_t, uint16_t>> ranges_;  // initial slots of each node
  // The migration under way.
  int migrating_slot_ = -1;
  std::size_t migration_from_ = 0;
  std::size_t migration_to_ = 0;
  std::size_t migrated_keys_ = 0;  // by migrate_keys, since begin_migration
};

/// The bare text of a redis_process::command reply ("$abc" -> "abc", ":5" -> "5").
std::string reply_text(const std::string& reply);

}  // namespace wsa::test
