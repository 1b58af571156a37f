// Helpers for the integration tests of the Redis broker (issue 4): wsagent nodes started
// on one test-owned redis-server, readiness polling, and publishing with acknowledgements.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <iterator>
#include <memory>
#include <set>
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

/// Two ready nodes ("node-a", "node-b", two shards each) on one test-owned Redis.
class two_redis_nodes : public testing::Test {
 protected:
  explicit two_redis_nodes(std::string password) : redis_({.password = std::move(password)}) {}

  void start_nodes(std::vector<std::string> extra = {}) {
    ASSERT_TRUE(redis_.start());
    a_ = std::make_unique<server_process>(redis_node_args(redis_, "node-a", extra));
    b_ = std::make_unique<server_process>(redis_node_args(redis_, "node-b", extra));
    ASSERT_TRUE(start_redis_node(*a_));
    ASSERT_TRUE(start_redis_node(*b_));
    ASSERT_EQ(a_->shards(), 2u);
    ASSERT_EQ(b_->shards(), 2u);
  }

  redis_process redis_;
  std::unique_ptr<server_process> a_;
  std::unique_ptr<server_process> b_;
};

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

// ---- "nothing acknowledged is lost silently" (docs/protocol.md, gap notices) ----

// What a subscriber saw, in order: message seqs of the tag, and gap notices between them.
struct observed {
  std::vector<uint64_t> seqs;
  // For each gap notice: how many messages had come before it.
  std::vector<std::size_t> gaps_after;
};

// Reads `c` until the message with seq `last` of `tag`; anything but msg and gap fails.
inline void read_until(ws_client& c, std::string_view tag, std::string_view subscription,
                       uint64_t last, observed& out) {
  while (out.seqs.empty() || out.seqs.back() < last) {
    const json_message m = c.next_json(std::chrono::seconds(15));
    if (m.op() == "gap") {
      ASSERT_EQ(m.str("/tags/0"), subscription) << m.text();
      ASSERT_FALSE(m.has("/tags/1")) << m.text();
      out.gaps_after.push_back(out.seqs.size());
      continue;
    }
    ASSERT_EQ(m.op(), "msg") << m.text();
    ASSERT_EQ(m.str("/tag"), tag) << m.text();
    const uint64_t seq = m.u64("/seq");
    ASSERT_TRUE(out.seqs.empty() || seq > out.seqs.back())
        << "duplicate or out of order: " << m.text();
    out.seqs.push_back(seq);
  }
}

// Every acknowledged seq up to `last` was received, or a gap notice stands between the
// messages received around it. Returns how many were announced by a gap instead.
inline std::size_t expect_nothing_silently_missed(const observed& o, const std::set<uint64_t>& acked,
                                           uint64_t last) {
  const std::set<uint64_t> received(o.seqs.begin(), o.seqs.end());
  std::size_t announced = 0;
  for (const uint64_t seq : acked) {
    if (seq > last || received.contains(seq)) {
      continue;
    }
    // The messages received before it: a gap notice must come after them and before the
    // next message received.
    const auto next = received.upper_bound(seq);
    const std::size_t before = static_cast<std::size_t>(std::distance(received.begin(), next));
    bool covered = false;
    for (const std::size_t g : o.gaps_after) {
      covered = covered || g == before;
    }
    EXPECT_TRUE(covered) << "acknowledged seq " << seq << " silently missed";
    ++announced;
  }
  return announced;
}

// Sends `request` (with an id) until the answer is not `err unavailable`, for at most
// `timeout`: after Redis comes back, a node's shards reconnect each on its own backoff, and
// /readyz answers for whichever shard took the connection.
inline json_message call_when_available(ws_client& c, const std::string& request,
                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    json_message reply = c.call(request);
    if (reply.op() != "err" || !reply.has("/code") || reply.str("/code") != "unavailable" ||
        std::chrono::steady_clock::now() > deadline) {
      return reply;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

inline uint64_t publish_when_available(ws_client& c, std::string_view tag, uint64_t id,
                                       std::string_view data,
                                       std::chrono::milliseconds timeout) {
  const json_message reply = call_when_available(c, pub_frame(tag, id, data), timeout);
  EXPECT_EQ(reply.op(), "ok") << reply.text();
  return reply.op() == "ok" ? reply.u64("/seq") : 0;
}

}  // namespace wsa::test
