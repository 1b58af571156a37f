// Nothing acknowledged is lost silently across Redis restarts (issue 14; docs/protocol.md, `gap`
// notices). Redis is SIGKILLed and restarted (append-only, so acknowledged messages survive)
// a few times under a steady publisher on node A, while node B holds an exact and a pattern
// subscriber of the published tag. The exact subscriber gets every acknowledged message (B
// refills it from the history); the pattern subscriber gets each one or, for those published
// while B's pattern was not in Redis, a `gap` notice in its place.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/redis_nodes.h"

namespace wsa::test {
namespace {

using clock_type = std::chrono::steady_clock;

TEST(redis_gap, no_acknowledged_message_is_silently_missed_across_redis_restarts) {
  redis_process redis({.password = "gap-secret", .appendonly = true});
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a", {"--history-size", "10000"}));
  server_process b(redis_node_args(redis, "node-b", {"--history-size", "10000"}));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  const std::string tag = "race.t";

  ws_client exact = ws_client::connect(b.port());
  ASSERT_EQ(exact.call(R"({"op":"sub","id":1,"tags":["race.t"]})").op(), "ok");
  ws_client pattern = ws_client::connect(b.port());
  ASSERT_EQ(pattern.call(R"({"op":"sub","id":1,"tags":["race.*"]})").op(), "ok");

  // About 100 publishes a second, each waiting for its answer, until told to stop.
  std::atomic<bool> stop{false};
  std::set<uint64_t> acked;
  int refused = 0;
  std::thread publisher([&] {
    ws_client pub = ws_client::connect(a.port());
    for (uint64_t id = 1; !stop.load(); ++id) {
      const json_message reply = pub.call(pub_frame(tag, id, std::to_string(id)), 10s);
      if (reply.op() == "ok") {
        acked.insert(reply.u64("/seq"));
      } else {
        EXPECT_EQ(reply.str("/code"), "unavailable") << reply.text();
        ++refused;
      }
      std::this_thread::sleep_for(10ms);
    }
  });

  for (int restart = 0; restart < 3; ++restart) {
    std::this_thread::sleep_for(300ms);
    redis.kill();
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(redis.start());
    EXPECT_TRUE(await_readyz(a.port(), 200, 15s)) << a.log();
    EXPECT_TRUE(await_readyz(b.port(), 200, 15s)) << b.log();
  }
  std::this_thread::sleep_for(300ms);
  stop.store(true);
  publisher.join();
  ASSERT_FALSE(acked.empty());

  // A last message, once both nodes are surely back: everything before it is accounted for.
  ws_client fence_pub = ws_client::connect(a.port());
  const json_message fence = fence_pub.call(pub_frame(tag, 0, "\"fence\""), 10s);
  ASSERT_EQ(fence.op(), "ok") << fence.text();
  const uint64_t last = fence.u64("/seq");
  acked.insert(last);

  observed by_exact;
  read_until(exact, tag, tag, last, by_exact);
  EXPECT_TRUE(by_exact.gaps_after.empty()) << "the history holds everything: no gap";
  EXPECT_EQ(expect_nothing_silently_missed(by_exact, acked, last), 0u);

  observed by_pattern;
  read_until(pattern, tag, "race.*", last, by_pattern);
  const std::size_t announced = expect_nothing_silently_missed(by_pattern, acked, last);
  EXPECT_GE(by_pattern.gaps_after.size(), 1u) << "B's pattern was out of Redis three times";
  std::cerr << "acknowledged " << acked.size() << ", refused " << refused
            << "; pattern subscriber: " << by_pattern.seqs.size() << " received, "
            << announced << " announced by " << by_pattern.gaps_after.size() << " gap notices\n";
}

TEST(redis_gap, a_tag_starting_a_new_life_reaches_pattern_subscribers_from_seq_1) {
  // Redis loses a tag's state: its next publish is seq 1 again, in a new epoch. A pattern
  // subscriber whose last message of that tag was seq 1 of the old life gets it all the same.
  redis_process redis({.password = "gap-secret"});
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a"));
  server_process b(redis_node_args(redis, "node-b"));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  ws_client pattern = ws_client::connect(b.port());
  ASSERT_EQ(pattern.call(R"({"op":"sub","id":1,"tags":["life.*"]})").op(), "ok");
  ws_client pub = ws_client::connect(a.port());
  EXPECT_EQ(publish_ok(pub, "life.t", 1, "\"old\""), 1u);
  EXPECT_EQ(pattern.next_json().raw("data"), "\"old\"");
  EXPECT_EQ(redis.command({"FLUSHALL"}), "+OK");
  EXPECT_EQ(publish_ok(pub, "life.t", 2, "\"new\""), 1u);
  EXPECT_EQ(publish_ok(pub, "life.t", 3, "\"next\""), 2u);
  const json_message first = pattern.next_json();
  EXPECT_EQ(first.raw("data"), "\"new\"") << first.text();
  EXPECT_EQ(first.u64("/seq"), 1u);
  EXPECT_EQ(pattern.next_json().raw("data"), "\"next\"");
}

}  // namespace
}  // namespace wsa::test
