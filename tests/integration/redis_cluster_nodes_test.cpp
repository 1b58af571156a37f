// Nodes on Redis Cluster (issue 13): two wsagent nodes on a real 3-master cluster
// (--broker redis-cluster://SEEDS). Tags spread over the masters; messages cross nodes in
// seq order; a client recovers with `since` on the other node; each master holds only the
// channels of its own slots (sharded pub/sub, Redis' PUBSUB SHARDNUMSUB); a slot moved under
// a subscriber keeps its stream whole; a pattern starting with a wildcard is refused with a
// reason (docs/redis-cluster.md "Patterns"); a frozen
// master's commands are bounded by --max-broker-backlog without holding up the other masters.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "integration/redis_nodes.h"
#include "support/abuse.h"
#include "support/redis_cluster.h"

namespace wsa::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> cluster_node_args(const redis_cluster& cluster, std::string node_id,
                                           std::string shards = "2") {
  return {"--no-auth", "--shards", std::move(shards), "--node-id", std::move(node_id),
          "--broker", "redis-cluster://" + cluster.seeds()};
}

// Redis' own answer (CLUSTER KEYSLOT) for the slot of the tag's keys.
uint16_t slot_of_tag(redis_cluster& cluster, const std::string& tag) {
  const std::string reply = cluster.node(0).command({"CLUSTER", "KEYSLOT", "wsa:{" + tag + "}"});
  return static_cast<uint16_t>(std::stoul(reply.substr(1)));  // ":N"
}

// Redis node `i`'s PUBSUB SHARDNUMSUB answer for the tag's sharded channel.
std::string shard_subscribers(redis_cluster& cluster, std::size_t i, const std::string& tag) {
  return cluster.node(i).command({"PUBSUB", "SHARDNUMSUB", "wsa:{" + tag + "}"});
}

TEST(redis_cluster_nodes, two_nodes_share_tags_over_three_masters) {
  redis_cluster cluster(3);
  ASSERT_TRUE(cluster.start());
  server_process a(cluster_node_args(cluster, "node-a"));
  server_process b(cluster_node_args(cluster, "node-b"));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));

  // Tags on every master.
  std::vector<std::string> tags;
  std::vector<bool> master_used(cluster.size(), false);
  for (int i = 0; tags.size() < 6 && i < 1000; ++i) {
    const std::string tag = "cl.t" + std::to_string(i);
    const int owner = cluster.owner_of(slot_of_tag(cluster, tag));
    ASSERT_GE(owner, 0);
    if (!master_used[static_cast<std::size_t>(owner)] || tags.size() >= 3) {
      master_used[static_cast<std::size_t>(owner)] = true;
      tags.push_back(tag);
    }
  }
  ASSERT_EQ(std::count(master_used.begin(), master_used.end(), true), 3);

  ws_client subscriber = ws_client::connect(b.port());
  std::string sub = R"({"op":"sub","id":1,"tags":[)";
  for (std::size_t i = 0; i < tags.size(); ++i) {
    sub += (i ? "," : "") + json_quote(tags[i]);
  }
  sub += "]}";
  const json_message ok = subscriber.call(sub);
  ASSERT_EQ(ok.op(), "ok") << ok.text();

  // Each tag's channel is held by its own master only.
  for (const std::string& tag : tags) {
    const auto owner = static_cast<std::size_t>(cluster.owner_of(slot_of_tag(cluster, tag)));
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      EXPECT_EQ(shard_subscribers(cluster, i, tag),
                "[$wsa:{" + tag + "}," + (i == owner ? ":1]" : ":0]"))
          << "node " << i;
    }
  }

  // Publishers on node a: every message reaches node b, in seq order per tag.
  ws_client publisher = ws_client::connect(a.port());
  uint64_t id = 1;
  for (int round = 1; round <= 5; ++round) {
    for (const std::string& tag : tags) {
      EXPECT_EQ(publish_ok(publisher, tag, id++, std::to_string(round)),
                static_cast<uint64_t>(round));
    }
  }
  std::map<std::string, uint64_t> last;
  for (std::size_t n = 0; n < tags.size() * 5; ++n) {
    const json_message m = subscriber.next_json(10s);
    ASSERT_EQ(m.op(), "msg") << m.text();
    const std::string tag = m.str("/tag");
    EXPECT_EQ(m.u64("/seq"), last[tag] + 1) << tag;
    EXPECT_EQ(m.raw("data"), std::to_string(m.u64("/seq")));
    last[tag] = m.u64("/seq");
  }

  // A slot moved (keys and all) under the subscriber: its tag's stream stays whole.
  const std::string moved = tags[0];
  const uint16_t slot = slot_of_tag(cluster, moved);
  const auto from = static_cast<std::size_t>(cluster.owner_of(slot));
  ASSERT_TRUE(cluster.move_slot(slot, (from + 1) % cluster.size()));
  for (int k = 6; k <= 10; ++k) {
    EXPECT_EQ(publish_ok(publisher, moved, id++, std::to_string(k)), static_cast<uint64_t>(k));
  }
  for (uint64_t seq = 6; seq <= 10; ++seq) {
    const json_message m = subscriber.wait_for("msg", 10s);
    EXPECT_EQ(m.str("/tag"), moved);
    EXPECT_EQ(m.u64("/seq"), seq) << "gap or duplicate after the slot moved";
  }
  // What the move cost, in /metrics: node a's stale map met a MOVED; node b's channel
  // followed its slot; both learnt the topology, and hold links to every master.
  EXPECT_GE(metric_total(a.port(), "wsagent_redis_cluster_moved_total"), 1u);
  EXPECT_GE(metric_total(b.port(), "wsagent_redis_cluster_channel_moves_total"), 1u);
  for (server_process* node : {&a, &b}) {
    EXPECT_GE(metric_total(node->port(), "wsagent_redis_cluster_topology_refreshes_total"), 2u);
    EXPECT_EQ(metric_total(node->port(), "wsagent_redis_cluster_topology_errors_total"), 0u);
    EXPECT_GE(metric_total(node->port(), "wsagent_redis_cluster_links_up"), 3u);
  }

  // Recovery with since on the other node: what followed seq 2, no gap.
  ws_client recovering = ws_client::connect(a.port());
  const json_message back = recovering.call(
      R"({"op":"sub","id":2,"tags":[)" + json_quote(tags[1]) + R"(],"since":{)" +
      json_quote(tags[1]) + R"(:{"seq":2,"epoch":)" +
      json_quote(ok.str("/epoch/" + tags[1])) + "}}}");
  ASSERT_EQ(back.op(), "ok") << back.text();
  EXPECT_FALSE(back.has("/gaps")) << back.text();
  for (uint64_t seq = 3; seq <= 5; ++seq) {
    const json_message m = recovering.next_json(10s);
    EXPECT_EQ(m.u64("/seq"), seq) << m.text();
  }

  // Patterns pull in their tags' channels (redis_cluster_patterns_test.cpp); one starting
  // with a wildcard has no segment to watch: refused, with a reason, not `unavailable`.
  const json_message pattern = subscriber.call(R"({"op":"sub","id":3,"tags":["cl.*"]})");
  EXPECT_EQ(pattern.op(), "ok") << pattern.text();
  const json_message wild = subscriber.call(R"({"op":"sub","id":4,"tags":["*.t1"]})");
  EXPECT_EQ(wild.op(), "err") << wild.text();
  EXPECT_EQ(wild.has("/code") ? wild.str("/code") : "", "bad_request") << wild.text();
  EXPECT_TRUE(wild.has("/reason")) << wild.text();
}

// A slot mid-migration: a new tag's publish (both keys missing: ASK, then TRYAGAIN on the
// importing node, which cannot create multi-key state before it owns the slot) and an idem
// publish of a known tag (its idem key never exists: TRYAGAIN on the source, then on the
// importing node once the keys moved) wait for the migration and are acknowledged, rather
// than given up after a few redirections (docs/redis-cluster.md, "Running on Redis Cluster").
TEST(redis_cluster_nodes, publishes_during_a_slot_migration_wait_for_it) {
  redis_cluster cluster(3);
  ASSERT_TRUE(cluster.start());
  server_process node(cluster_node_args(cluster, "node-a", "1"));
  ASSERT_TRUE(start_redis_node(node));
  ws_client publisher = ws_client::connect(node.port());
  const std::string known = "mg.known";
  ASSERT_EQ(publish_ok(publisher, known, 1, "1"), 1u);

  const auto migrate_during = [&](const std::string& tag, const std::string& frame,
                                  bool move_keys_first) {
    const uint16_t slot = slot_of_tag(cluster, tag);
    const auto from = static_cast<std::size_t>(cluster.owner_of(slot));
    ASSERT_TRUE(cluster.begin_migration(slot, (from + 1) % cluster.size()));
    const uint64_t before = metric_total(node.port(), "wsagent_redis_cluster_tryagain_total");
    publisher.send_text(frame);
    // Refused and retried while the slot migrates (counted; more often than a command may be
    // redirected), then the migration ends.
    const auto await_tryagains = [&](uint64_t at_least) {
      for (int i = 0; i < 1000 && metric_total(node.port(),
                                               "wsagent_redis_cluster_tryagain_total") < at_least;
           ++i) {
        std::this_thread::sleep_for(10ms);
      }
      EXPECT_GE(metric_total(node.port(), "wsagent_redis_cluster_tryagain_total"), at_least);
    };
    await_tryagains(before + 12);
    if (move_keys_first) {
      ASSERT_TRUE(cluster.migrate_keys(slot));
      await_tryagains(metric_total(node.port(), "wsagent_redis_cluster_tryagain_total") + 12);
    }
    ASSERT_TRUE(cluster.finish_migration(slot));
  };
  migrate_during("mg.new", pub_frame("mg.new", 2, "\"first\""), false);
  const json_message created = publisher.next_json(20s);
  EXPECT_EQ(created.op(), "ok") << created.text();
  EXPECT_EQ(created.has("/seq") ? created.u64("/seq") : 0, 1u) << created.text();

  migrate_during(known,
                 R"({"op":"pub","id":3,"tag":")" + known + R"(","idem":"k1","data":"2"})", true);
  const json_message idem = publisher.next_json(20s);
  EXPECT_EQ(idem.op(), "ok") << idem.text();
  EXPECT_EQ(idem.has("/seq") ? idem.u64("/seq") : 0, 2u) << idem.text();
  EXPECT_EQ(metric_total(node.port(), "wsagent_redis_cluster_give_ups_total"), 0u);
  EXPECT_GE(metric_total(node.port(), "wsagent_redis_cluster_ask_total"), 1u);
}

// A frozen master: its slots' commands pile up in the node. Past --max-broker-backlog they
// are refused at once (unavailable), while the other masters' tags go on being acknowledged
// (the bound is per master, not one sum that a single stuck node would fill).
TEST(redis_cluster_nodes, a_frozen_master_refuses_past_the_backlog_only_its_own_tags) {
  redis_cluster cluster(3);
  ASSERT_TRUE(cluster.start());
  std::vector<std::string> args = cluster_node_args(cluster, "node-a", "1");
  args.insert(args.end(), {"--max-broker-backlog", "64KiB", "--max-message-bytes", "64KiB"});
  server_process node(args);
  ASSERT_TRUE(start_redis_node(node));

  std::string frozen_tag;
  std::string other_tag;
  for (int i = 0; (frozen_tag.empty() || other_tag.empty()) && i < 1000; ++i) {
    const std::string tag = "bl.t" + std::to_string(i);
    const int owner = cluster.owner_of(slot_of_tag(cluster, tag));
    if (owner == 0 && frozen_tag.empty()) {
      frozen_tag = tag;
    } else if (owner == 1 && other_tag.empty()) {
      other_tag = tag;
    }
  }
  ASSERT_FALSE(frozen_tag.empty());
  ASSERT_FALSE(other_tag.empty());
  ws_client stalled = ws_client::connect(node.port());
  ws_client other = ws_client::connect(node.port());
  ASSERT_GT(publish_ok(stalled, frozen_tag, 1, "1"), 0u);
  ASSERT_GT(publish_ok(other, other_tag, 1, "1"), 0u);

  cluster.node(0).pause();
  const std::string data = "\"" + std::string(8 * 1024, 'x') + "\"";
  for (uint64_t id = 2; id <= 40; ++id) {
    stalled.send_text(pub_frame(frozen_tag, id, data));
  }
  // Sent after the burst, on a tag of another master: acknowledged.
  EXPECT_GT(publish_ok(other, other_tag, 2, "2"), 0u);
  for (int answered = 0; answered < 39; ++answered) {
    const json_message m = stalled.next_json(20s);
    ASSERT_EQ(m.op(), "err") << m.text();  // nothing can be acknowledged by a frozen master
    EXPECT_EQ(m.str("/code"), "unavailable");
  }
  cluster.node(0).resume();
  // At most about 64 KiB of commands were queued: most of the 39 were refused at once.
  EXPECT_GE(metric(node.port(), "wsagent_broker_backlog_refusals_total"), 20u);
}

// One turn's publishes of a tag go as one batch call (redis_publish.cpp); when the tag's slot
// has moved, the call is redirected whole (MOVED) and every publish is acknowledged, in order,
// and delivered once. The publishing node has no channel on the slot, so that only the MOVED
// can tell it of the move (a node subscribed there learns it from the old master's
// "sunsubscribe" and may have its new map before it publishes); the subscriber is on a
// second node, whose channel moves with the slot.
TEST(redis_cluster_nodes, a_batch_of_publishes_to_a_moved_slot_is_redirected_whole) {
  redis_cluster cluster(3);
  ASSERT_TRUE(cluster.start());
  server_process publishing(cluster_node_args(cluster, "node-a", "1"));
  server_process subscribing(cluster_node_args(cluster, "node-b", "1"));
  ASSERT_TRUE(start_redis_node(publishing));
  ASSERT_TRUE(start_redis_node(subscribing));
  const std::string tag = "bt.moved";
  ws_client subscriber = ws_client::connect(subscribing.port());
  ASSERT_EQ(subscriber.call(R"({"op":"sub","id":1,"tags":[")" + tag + R"("]})").op(), "ok");
  ws_client publisher = ws_client::connect(publishing.port());
  ASSERT_EQ(publish_ok(publisher, tag, 1, "1"), 1u);
  EXPECT_EQ(subscriber.wait_for("msg", 10s).u64("/seq"), 1u);

  const uint16_t slot = slot_of_tag(cluster, tag);
  const auto to = static_cast<std::size_t>(cluster.owner_of(slot) + 1) % cluster.size();
  ASSERT_TRUE(cluster.move_slot(slot, to));  // (with the tag's keys: the harness checks)
  EXPECT_EQ(cluster.node(to).command({"CONFIG", "RESETSTAT"}), "+OK");
  // Six publishes in one write: one read, one loop turn, one call.
  std::string frames;
  for (uint64_t id = 2; id <= 7; ++id) {
    frames += encode_frame({.payload = pub_frame(tag, id, std::to_string(id))});
  }
  publisher.send_raw(frames);
  for (uint64_t id = 2; id <= 7; ++id) {
    const json_message ok = publisher.next_json(20s);
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_EQ(ok.u64("/id"), id);
    EXPECT_EQ(ok.u64("/seq"), id) << ok.text();
  }
  for (uint64_t seq = 2; seq <= 7; ++seq) {
    const json_message m = subscriber.wait_for("msg", 10s);
    EXPECT_EQ(m.u64("/seq"), seq) << "gap or duplicate after the slot moved";
    EXPECT_EQ(m.raw("data"), std::to_string(seq));
  }
  EXPECT_GE(metric_total(publishing.port(), "wsagent_redis_cluster_moved_total"), 1u);
  // Six publishes, far fewer script calls on the new owner (one batch, perhaps an announce).
  const std::string stats = cluster.node(to).command({"INFO", "commandstats"});
  const std::size_t at = stats.find("cmdstat_evalsha:calls=");
  ASSERT_NE(at, std::string::npos) << stats;
  EXPECT_LE(std::stoul(stats.substr(at + 22)), 3u) << stats;
  if (HasFailure()) {  // what the masters saw of the move
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      ADD_FAILURE() << "Redis node " << i << "'s log:\n" << cluster.node(i).log();
    }
  }
}

}  // namespace
}  // namespace wsa::test
