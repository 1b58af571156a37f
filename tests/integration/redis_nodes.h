// Helpers for the integration tests of the Redis broker (issue 4): wsagent nodes started
// on one test-owned redis-server, readiness polling, and publishing with acknowledgements.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/redis_process.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {

/// `serve` arguments for a node on `redis`: two shards, no auth, the broker URL (with its
/// password) from a config file rather than the command line.
inline std::vector<std::string> redis_node_args(const redis_process& redis, std::string node_id,
                                                std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--no-auth",  "--shards",   "2", "--config",
                                   redis.config_file(), "--node-id", std::move(node_id)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// The status of GET /readyz, or 0 when the node could not be asked.
inline int readyz_status(uint16_t port) {
  try {
    return http_get(port, "/readyz", std::chrono::seconds(2)).status;
  } catch (const std::exception&) {
    return 0;
  }
}

/// Polls /readyz until it answers `status` (each poll may reach either shard).
inline testing::AssertionResult await_readyz(uint16_t port, int status,
                                             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int last = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    last = readyz_status(port);
    if (last == status) {
      return testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return testing::AssertionFailure() << "/readyz still " << last << " after " << timeout.count()
                                     << " ms, wanted " << status;
}

/// Starts a node and waits until it is ready (both shards reached Redis: a node answers
/// /readyz from whichever shard accepted, so readiness is confirmed a few times in a row).
inline testing::AssertionResult start_redis_node(server_process& node) {
  testing::AssertionResult started = node.start();
  if (!started) {
    return started;
  }
  for (int confirmations = 0; confirmations < 6; ++confirmations) {
    testing::AssertionResult ready = await_readyz(node.port(), 200, std::chrono::seconds(10));
    if (!ready) {
      return ready << "\nnode log:\n" << node.log();
    }
  }
  return testing::AssertionSuccess();
}

/// `{"op":"pub","id":<id>,"tag":<tag>,"data":<data>}`.
inline std::string pub_frame(std::string_view tag, uint64_t id, std::string_view data) {
  return R"({"op":"pub","id":)" + std::to_string(id) + R"(,"tag":)" + json_quote(tag) +
         R"(,"data":)" + std::string(data) + "}";
}

/// Publishes and returns the seq of the `ok`; fails the test (and returns 0) on `err`.
inline uint64_t publish_ok(ws_client& client, std::string_view tag, uint64_t id,
                           std::string_view data) {
  const json_message reply = client.call(pub_frame(tag, id, data));
  EXPECT_EQ(reply.op(), "ok") << reply.text();
  return reply.op() == "ok" ? reply.u64("/seq") : 0;
}

}  // namespace wsa::test
