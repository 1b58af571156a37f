// The cluster client against a real 3-master Redis Cluster (tests/support/redis_cluster.h):
// discovery and routing by slot, MOVED after a slot moved behind its back, ASK in the middle
// of a migration, a tag's order kept while its slot migrates under traffic (TRYAGAIN, ASK and
// MOVED all met), scripts reloaded on NOSCRIPT, sharded pub/sub delivery, the PING barrier,
// resubscription after the slot moves, and each node holding only its own slots' channels.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "cluster_harness.h"
#include "util/xorshift.h"

namespace wsa::test {
namespace {

class cluster_client_test : public cluster_harness {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new redis_cluster(3);
    const testing::AssertionResult started = cluster_->start();
    started_ = started;
    start_message_ = started.message();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    cluster_harness::SetUp();
    ASSERT_TRUE(started_) << start_message_;
  }

  cluster_client& ready_client() {
    cluster_client& c = start_client(options_for(*cluster_));
    EXPECT_TRUE(pump_until([&] { return c.ready(); })) << notes();
    return c;
  }
  std::string address_of(int node) {
    return "127.0.0.1:" + std::to_string(cluster_->node(static_cast<std::size_t>(node)).port());
  }
  std::size_t other_node(int node) { return (static_cast<std::size_t>(node) + 1) % 3; }

  static redis_cluster* cluster_;
  static bool started_;
  static std::string start_message_;
};

redis_cluster* cluster_client_test::cluster_ = nullptr;
bool cluster_client_test::started_ = false;
std::string cluster_client_test::start_message_;

TEST_F(cluster_client_test, key_slots_agree_with_redis) {
  xorshift64 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string key;
    const std::size_t length = rng.next() % 12;
    for (std::size_t j = 0; j < length; ++j) {
      key.push_back("ab{}.:x"[rng.next() % 7]);
    }
    EXPECT_EQ(std::to_string(key_slot(key)),
              reply_text(cluster_->node(0).command({"CLUSTER", "KEYSLOT", key})))
        << "key '" << key << "'";
  }
}

TEST_F(cluster_client_test, discovers_the_topology_and_routes_by_slot) {
  cluster_client& client = ready_client();
  constexpr uint64_t keys = 300;
  for (uint64_t i = 0; i < keys; ++i) {
    const std::string key = "route:" + std::to_string(i);
    ASSERT_TRUE(send(key, i, {"SET", key, std::to_string(i)}));
  }
  ASSERT_TRUE(pump_until([&] { return owner_.replies.size() == keys; })) << notes();
  std::set<int> nodes_used;
  for (uint64_t i = 0; i < keys; ++i) {
    EXPECT_EQ(owner_.replies[i], "OK");
    const std::string key = "route:" + std::to_string(i);
    const int owner = cluster_->owner_of(key_slot(key));
    nodes_used.insert(owner);
    EXPECT_EQ(client.node_of(key_slot(key)), address_of(owner));
    // The key is on the master that owns its slot (read without any redirection).
    EXPECT_EQ(cluster_->node(static_cast<std::size_t>(owner)).command({"GET", key}),
              "$" + std::to_string(i));
  }
  EXPECT_EQ(nodes_used.size(), 3u);
  EXPECT_EQ(client.stats().moved, 0u);
  EXPECT_TRUE(owner_.failed.empty());
}

TEST_F(cluster_client_test, follows_moved_when_a_slot_moved_behind_its_back) {
  cluster_client& client = ready_client();
  const std::string key = "moved:key";
  const uint16_t slot = key_slot(key);
  ASSERT_TRUE(send(key, 1, {"SET", key, "v1"}));
  ASSERT_TRUE(pump_until([&] { return answered(1); }));
  const int from = cluster_->owner_of(slot);
  const std::size_t to = other_node(from);
  ASSERT_TRUE(cluster_->move_slot(slot, to));

  ASSERT_TRUE(send(key, 2, {"GET", key}));
  ASSERT_TRUE(pump_until([&] { return answered(2); })) << notes();
  EXPECT_EQ(owner_.replies[2], "v1");
  EXPECT_GE(client.stats().moved, 1u);
  EXPECT_EQ(client.node_of(slot), address_of(static_cast<int>(to)));
  const uint64_t moved = client.stats().moved;
  ASSERT_TRUE(send(key, 3, {"GET", key}));
  ASSERT_TRUE(pump_until([&] { return answered(3); }));
  EXPECT_EQ(owner_.replies[3], "v1");
  EXPECT_EQ(client.stats().moved, moved);  // the map was updated: no second redirection
}

TEST_F(cluster_client_test, follows_ask_in_the_middle_of_a_migration) {
  cluster_client& client = ready_client();
  const std::string key = "{ask}:a";
  const uint16_t slot = key_slot(key);
  ASSERT_TRUE(send(key, 1, {"SET", key, "va"}));
  ASSERT_TRUE(pump_until([&] { return answered(1); }));
  const int from = cluster_->owner_of(slot);
  const std::size_t to = other_node(from);
  ASSERT_TRUE(cluster_->begin_migration(slot, to));
  ASSERT_TRUE(cluster_->migrate_keys(slot));

  // The key has moved, the slot not yet: the source answers ASK for it and for a new key.
  ASSERT_TRUE(send(key, 2, {"GET", key}));
  ASSERT_TRUE(send("{ask}:b", 3, {"SET", "{ask}:b", "vb"}));
  ASSERT_TRUE(pump_until([&] { return answered(2) && answered(3); })) << notes();
  EXPECT_EQ(owner_.replies[2], "va");
  EXPECT_EQ(owner_.replies[3], "OK");
  EXPECT_GE(client.stats().asked, 2u);
  EXPECT_EQ(client.node_of(slot), address_of(from));  // ASK does not change the map

  ASSERT_TRUE(cluster_->finish_migration(slot));
  EXPECT_EQ(cluster_->node(to).command({"GET", "{ask}:b"}), "$vb");
  EXPECT_TRUE(owner_.failed.empty());
}

// A tag's two keys (a list and a counter, like a tag's history and seq) change in one
// script; its slot migrates key by key while the script runs continuously. Every reply must
// be the next number and the list the exact sequence: nothing lost, repeated or reordered,
// through TRYAGAIN (keys split), ASK (keys moved) and MOVED (slot moved).
TEST_F(cluster_client_test, keeps_a_tags_order_while_its_slot_migrates_under_traffic) {
  scripts_ = {"redis.call('RPUSH', KEYS[1], ARGV[1]) return redis.call('INCR', KEYS[2])"};
  cluster_options o = options_for(*cluster_);
  o.tryagain_delay_ms = 20;
  o.max_tryagain = 127;
  cluster_client& client = start_client(std::move(o));
  ASSERT_TRUE(pump_until([&] { return client.ready(); })) << notes();
  const std::string list = "order:{traffic}:list";
  const std::string counter = "order:{traffic}:n";
  const uint16_t slot = key_slot(list);
  const int from = cluster_->owner_of(slot);
  const std::size_t to = other_node(from);

  std::atomic<std::size_t> replies{0};
  std::atomic<uint64_t> tryagain{0}, asked{0}, moved{0};
  std::atomic<bool> done{false};
  std::string failure;
  std::thread migration([&] {
    auto wait_for = [&](auto condition) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!condition() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return condition();
    };
    auto more_replies = [&](std::size_t n) {
      const std::size_t base = replies;
      return wait_for([&] { return replies >= base + n; });
    };
    if (!more_replies(20)) {
      failure = "no traffic";
    } else if (!cluster_->begin_migration(slot, to) || !more_replies(20)) {
      failure = "begin_migration";
    } else if (!cluster_->migrate_keys(slot, 1) || !wait_for([&] { return tryagain > 0; })) {
      failure = "first key: no TRYAGAIN";
    } else if (!cluster_->migrate_keys(slot) || !wait_for([&] { return asked > 0; }) ||
               !more_replies(20)) {
      failure = "other keys: no ASK";
    } else if (!cluster_->finish_migration(slot) || !wait_for([&] { return moved > 0; }) ||
               !more_replies(20)) {
      failure = "finish: no MOVED";
    }
    done = true;
  });

  uint64_t sent = 0;
  const bool finished = pump_until(
      [&] {
        replies = owner_.replies.size() + owner_.failed.size();
        tryagain = client.stats().tryagain;
        asked = client.stats().asked;
        moved = client.stats().moved;
        if (done) {
          return replies == sent;
        }
        while (sent - replies < 16) {
          ++sent;
          const std::string n = std::to_string(sent);
          if (!send(list, sent, {"EVALSHA", shas_[0], "2", list, counter, n})) {
            owner_.failed.push_back(sent);
          }
        }
        return false;
      },
      60000);
  migration.join();
  std::printf("%llu commands; TRYAGAIN %llu, ASK %llu, MOVED %llu\n",
              static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(client.stats().tryagain),
              static_cast<unsigned long long>(client.stats().asked),
              static_cast<unsigned long long>(client.stats().moved));
  ASSERT_TRUE(finished) << "sent " << sent << ", answered " << replies << "\n" << notes();
  EXPECT_EQ(failure, "");
  EXPECT_TRUE(owner_.failed.empty()) << owner_.failed.size() << " failed\n" << notes();
  EXPECT_EQ(client.stats().give_ups, 0u);
  for (uint64_t i = 1; i <= sent; ++i) {
    ASSERT_EQ(owner_.replies[i], std::to_string(i)) << "command " << i;
  }
  std::string expected = "[";
  for (uint64_t i = 1; i <= sent; ++i) {
    expected += (i > 1 ? ",$" : "$") + std::to_string(i);
  }
  EXPECT_EQ(cluster_->node(to).command({"LRANGE", list, "0", "-1"}), expected + "]");
}

TEST_F(cluster_client_test, reloads_scripts_on_noscript) {
  scripts_ = {"return 'hello ' .. KEYS[1]"};
  ready_client();
  for (std::size_t i = 0; i < cluster_->size(); ++i) {
    ASSERT_EQ(cluster_->node(i).command({"SCRIPT", "FLUSH"}), "+OK");
  }
  ASSERT_TRUE(send("noscript", 1, {"EVALSHA", shas_[0], "1", "noscript"}));
  ASSERT_TRUE(pump_until([&] { return answered(1); })) << notes();
  EXPECT_EQ(owner_.replies[1], "hello noscript");
}

TEST_F(cluster_client_test, shard_channel_follows_its_slot) {
  cluster_client& client = ready_client();
  const std::string channel = "wsa:{room.1}";
  const uint16_t slot = key_slot(channel);
  client.subscribe(channel);
  ASSERT_TRUE(pump_until([&] { return client.subscribed(channel); })) << notes();
  EXPECT_EQ(owner_.events, std::vector<std::string>{"up " + channel});
  const int from = cluster_->owner_of(slot);
  redis_process& source = cluster_->node(static_cast<std::size_t>(from));
  EXPECT_EQ(source.command({"PUBSUB", "SHARDNUMSUB", channel}), "[$" + channel + ",:1]");

  EXPECT_EQ(source.command({"SPUBLISH", channel, "m1"}), ":1");
  ASSERT_TRUE(pump_until([&] { return owner_.messages.size() == 1; }));

  // The PING barrier: its answer comes after every message sent before it.
  EXPECT_EQ(source.command({"SPUBLISH", channel, "m2"}), ":1");
  EXPECT_EQ(source.command({"SPUBLISH", channel, "m3"}), ":1");
  link_request ping;
  ping.kind = 1;
  ping.token = 99;
  ASSERT_TRUE(client.ping_channel(channel, ping));
  ASSERT_TRUE(pump_until([&] { return answered(99); }));
  EXPECT_EQ(owner_.payloads(channel), (std::vector<std::string>{"m1", "m2", "m3"}));

  const std::size_t to = other_node(from);
  ASSERT_TRUE(cluster_->move_slot(slot, to));
  ASSERT_TRUE(pump_until([&] { return owner_.count("up " + channel) == 2; })) << notes();
  EXPECT_EQ(owner_.events,
            (std::vector<std::string>{"up " + channel, "down " + channel, "up " + channel}));
  EXPECT_GE(client.stats().channel_moves, 1u);
  EXPECT_EQ(source.command({"PUBSUB", "SHARDNUMSUB", channel}), "[$" + channel + ",:0]");
  redis_process& target = cluster_->node(to);
  EXPECT_EQ(target.command({"PUBSUB", "SHARDNUMSUB", channel}), "[$" + channel + ",:1]");
  EXPECT_EQ(target.command({"SPUBLISH", channel, "m4"}), ":1");
  ASSERT_TRUE(pump_until([&] { return owner_.messages.size() == 4; }));
  EXPECT_EQ(owner_.payloads(channel), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));

  client.unsubscribe(channel);
  ASSERT_TRUE(pump_until([&] {
    return target.command({"PUBSUB", "SHARDNUMSUB", channel}) == "[$" + channel + ",:0]";
  }));
  EXPECT_FALSE(client.subscribed(channel));
}

// Redis' own view: every node holds exactly the channels whose slots it serves, so a
// message goes only to the one node that owns its tag.
TEST_F(cluster_client_test, each_node_holds_only_the_channels_of_its_slots) {
  cluster_client& client = ready_client();
  std::vector<std::string> channels;
  for (int i = 0; i < 30; ++i) {
    channels.push_back("wsa:{spread." + std::to_string(i) + "}");
    client.subscribe(channels.back());
  }
  ASSERT_TRUE(pump_until([&] {
    return std::all_of(channels.begin(), channels.end(),
                       [&](const std::string& c) { return client.subscribed(c); });
  })) << notes();
  auto held_by = [&](std::size_t node, std::size_t first) {
    std::set<std::string> expected;
    for (std::size_t i = first; i < channels.size(); ++i) {
      if (cluster_->owner_of(key_slot(channels[i])) == static_cast<int>(node)) {
        expected.insert("$" + channels[i]);
      }
    }
    return expected;
  };
  auto holds = [&](std::size_t node) {
    std::string reply = cluster_->node(node).command({"PUBSUB", "SHARDCHANNELS", "wsa:{spread.*"});
    std::set<std::string> out;
    std::size_t start = 1;
    while (start + 1 < reply.size()) {
      const std::size_t comma = reply.find(',', start);
      const std::size_t end = comma == std::string::npos ? reply.size() - 1 : comma;
      out.insert(reply.substr(start, end - start));
      start = end + 1;
    }
    return out;
  };
  for (std::size_t n = 0; n < 3; ++n) {
    EXPECT_EQ(holds(n), held_by(n, 0)) << "node " << n;
  }
  for (std::size_t i = 0; i < 10; ++i) {
    client.unsubscribe(channels[i]);
  }
  ASSERT_TRUE(pump_until([&] {
    for (std::size_t n = 0; n < 3; ++n) {
      if (holds(n) != held_by(n, 10)) {
        return false;
      }
    }
    return true;
  }));
  const int owner = cluster_->owner_of(key_slot(channels[0]));
  EXPECT_EQ(cluster_->node(static_cast<std::size_t>(owner)).command({"SPUBLISH", channels[0], "x"}),
            ":0");
}

// A master dies (no replica to take over): its slots' commands fail, its channels go down;
// it comes back with its slots: the client reconnects, resubscribes, and commands work.
class cluster_node_failure_test : public cluster_harness {};

TEST_F(cluster_node_failure_test, recovers_when_a_master_comes_back) {
  redis_cluster cluster(3);
  ASSERT_TRUE(cluster.start());
  cluster_client& client = start_client(options_for(cluster));
  ASSERT_TRUE(pump_until([&] { return client.ready(); })) << notes();
  const std::string channel = "wsa:{fail.1}";
  const uint16_t slot = key_slot(channel);
  const auto victim = static_cast<std::size_t>(cluster.owner_of(slot));
  client.subscribe(channel);
  ASSERT_TRUE(pump_until([&] { return client.subscribed(channel); })) << notes();

  cluster.node(victim).kill();
  ASSERT_TRUE(pump_until([&] { return owner_.count("down " + channel) == 1; })) << notes();
  EXPECT_FALSE(client.ready());
  // Its slots have no route now, or the command fails when the link notices.
  if (send(channel, 1, {"SET", channel, "x"})) {
    ASSERT_TRUE(pump_until([&] { return !owner_.failed.empty() || answered(1); }));
  }

  ASSERT_TRUE(cluster.node(victim).start());
  ASSERT_TRUE(pump_until([&] { return client.ready() && client.subscribed(channel); }, 30000))
      << notes();
  EXPECT_EQ(owner_.count("up " + channel), 2u);
  // Once the cluster agrees it is up again, commands for its slots work.
  ASSERT_TRUE(pump_until(
      [&] {
        owner_.replies.erase(2);
        if (send(channel, 2, {"SET", channel, "back"})) {
          pump_until([&] { return answered(2) || owner_.failed.size() > 1; }, 2000);
        }
        return owner_.replies[2] == "OK";
      },
      30000))
      << notes();
  EXPECT_EQ(cluster.node(victim).command({"SPUBLISH", channel, "again"}), ":1");
  ASSERT_TRUE(pump_until([&] { return owner_.payloads(channel).size() == 1; }));
}

}  // namespace
}  // namespace wsa::test
