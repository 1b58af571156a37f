#include "support/redis_sentinel.h"

#include <thread>

#include "support/redis_cluster.h"

namespace wsa::test {
namespace {

using clock_type = std::chrono::steady_clock;

// The value after `field` in a flat "[$k1,$v1,$k2,$v2,...]" reply ("" when absent).
std::string field_of(const std::string& reply, const std::string& field) {
  const std::string key = "$" + field + ",";
  const std::size_t at = reply.find(key);
  if (at == std::string::npos) {
    return {};
  }
  const std::size_t start = at + key.size();
  const std::size_t end = reply.find_first_of(",]", start);
  return reply_text(reply.substr(start, end - start));
}

}  // namespace

redis_sentinels::redis_sentinels(redis_sentinel_options options) : options_(std::move(options)) {}

redis_sentinels::~redis_sentinels() { stop(); }

void redis_sentinels::stop() {
  for (auto& s : sentinels_) {
    s->kill();
  }
  for (auto& s : servers_) {
    s->kill();
  }
}

std::string redis_sentinels::sentinel_list() const {
  return loopback_list(sentinels_);
}

testing::AssertionResult redis_sentinels::start(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  auto server_options = [&] {
    redis_process_options o;
    o.password = options_.password;
    o.appendonly = options_.appendonly;
    // Redis 7 waits 5 s before a diskless full sync, in case more replicas come: none will.
    o.extra_args = {"--repl-diskless-sync-delay", "0"};
    if (!options_.password.empty()) {
      o.extra_args.insert(o.extra_args.end(), {"--masterauth", options_.password});
    }
    if (options_.min_replicas_to_write > 0) {
      o.extra_args.insert(o.extra_args.end(), {"--min-replicas-to-write",
                                               std::to_string(options_.min_replicas_to_write),
                                               "--min-replicas-max-lag", "10"});
    }
    return o;
  };
  servers_.push_back(std::make_unique<redis_process>(server_options()));
  if (auto r = servers_[0]->start(); !r) {
    return r;
  }
  redis_process_options replica = server_options();
  replica.extra_args.insert(replica.extra_args.end(),
                            {"--replicaof", "127.0.0.1", std::to_string(servers_[0]->port())});
  servers_.push_back(std::make_unique<redis_process>(replica));
  if (auto r = servers_[1]->start(); !r) {
    return r;
  }
  while (servers_[1]->command({"INFO", "replication"}).find("master_link_status:up") ==
         std::string::npos) {
    if (clock_type::now() >= deadline) {
      return testing::AssertionFailure() << "the replica did not sync with the master";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::string config = "sentinel monitor " + std::string(master_name) + " 127.0.0.1 " +
                       std::to_string(servers_[0]->port()) + " 2\n" +
                       "sentinel down-after-milliseconds " + master_name + " " +
                       std::to_string(options_.down_after_ms) + "\n" +
                       "sentinel failover-timeout " + master_name + " 5000\n" +
                       "sentinel parallel-syncs " + master_name + " 1\n";
  if (!options_.password.empty()) {
    config += "sentinel auth-pass " + std::string(master_name) + " " + options_.password + "\n";
  }
  for (int i = 0; i < 3; ++i) {
    redis_process_options o;
    o.sentinel_config = config;
    sentinels_.push_back(std::make_unique<redis_process>(o));
    if (auto r = sentinels_.back()->start(); !r) {
      return r;
    }
  }
  // Failover needs each sentinel to know the replica (from the master's INFO) and the other
  // sentinels (from their hello messages, every 2 s).
  for (auto& s : sentinels_) {
    if (!options_.ready_for_failover) {
      break;
    }
    while (true) {
      const std::string master = s->command({"SENTINEL", "MASTER", master_name});
      if (field_of(master, "num-slaves") == "1" && field_of(master, "num-other-sentinels") == "2") {
        break;
      }
      if (clock_type::now() >= deadline) {
        return testing::AssertionFailure() << "sentinels did not find each other: " << master;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return testing::AssertionSuccess();
}

int redis_sentinels::master_index(std::size_t asked) const {
  const std::string reply =
      sentinels_[asked]->command({"SENTINEL", "get-master-addr-by-name", master_name});
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    if (reply == "[$127.0.0.1,$" + std::to_string(servers_[i]->port()) + "]") {
      return static_cast<int>(i);
    }
  }
  return -1;
}

testing::AssertionResult redis_sentinels::wait_master(std::size_t i,
                                                      std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  while (clock_type::now() < deadline) {
    bool all = servers_[i]->command({"ROLE"}).starts_with("[$master");
    for (std::size_t s = 0; s < sentinels_.size() && all; ++s) {
      all = master_index(s) == static_cast<int>(i);
    }
    if (all) {
      return testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  testing::AssertionResult failure = testing::AssertionFailure();
  failure << "server " << i << " did not become the master; ROLE: "
          << servers_[i]->command({"ROLE"});
  for (std::size_t s = 0; s < sentinels_.size(); ++s) {
    failure << "\nsentinel " << s << " names server " << master_index(s) << "; its log:\n"
            << sentinels_[s]->log();
  }
  return failure;
}

}  // namespace wsa::test
