// Patterns on Redis Cluster (docs/redis-cluster.md "Patterns"): two wsagent nodes on a real
// 3-master cluster. A pattern subscriber on node a receives, exactly once and in seq order,
// messages published on node b to tags a has never seen (announced on their first
// segment's channel, their first messages read from the history), on every master; tags
// published before the subscription come from the registry; a pattern pulls in at most
// --max-recovery-tags tags (then a `gap` notice and a counter); the announce channel's slot
// moved keeps new tags coming; what cannot be served is refused with a reason. And presence
// (protocol 1.1) across the two nodes, for tags on two masters.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mqtt_support.h"
#include "integration/redis_nodes.h"
#include "support/abuse.h"
#include "support/redis_cluster.h"

namespace wsa::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> node_args(const redis_cluster& cluster, std::string node_id,
                                   std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--no-auth", "--shards", "2", "--node-id", std::move(node_id),
                                   "--broker", "redis-cluster://" + cluster.seeds()};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

uint16_t key_slot_of(redis_cluster& cluster, const std::string& key) {
  const std::string reply = cluster.node(0).command({"CLUSTER", "KEYSLOT", key});
  return static_cast<uint16_t>(std::stoul(reply.substr(1)));  // ":N"
}

int owner_of_tag(redis_cluster& cluster, const std::string& tag) {
  return cluster.owner_of(key_slot_of(cluster, "wsa:{" + tag + "}"));
}

// `count` tags made by `make(i)`, spread so that every master owns at least one.
std::vector<std::string> tags_on_every_master(redis_cluster& cluster, std::size_t count,
                                              const std::function<std::string(int)>& make) {
  std::vector<std::string> tags;
  std::set<int> owners;
  for (int i = 0; tags.size() < count && i < 1000; ++i) {
    const std::string tag = make(i);
    const int owner = owner_of_tag(cluster, tag);
    if (owners.insert(owner).second || owners.size() == cluster.size()) {
      tags.push_back(tag);
    }
  }
  EXPECT_EQ(owners.size(), cluster.size());
  return tags;
}

// Reads messages until every tag of `last` reached its last seq; each tag's seqs must come
// from `first` on without gap, duplicate or reorder, and no other tag may come.
void expect_streams(ws_client& c, const std::map<std::string, uint64_t>& first,
                    const std::map<std::string, uint64_t>& last) {
  std::map<std::string, uint64_t> at;
  std::size_t left = 0;
  for (const auto& [tag, seq] : last) {
    left += seq - first.at(tag) + 1;
  }
  while (left > 0) {
    const json_message m = c.next_json(10s);
    ASSERT_EQ(m.op(), "msg") << m.text();
    const std::string tag = m.str("/tag");
    ASSERT_TRUE(last.contains(tag)) << "not wanted: " << m.text();
    const uint64_t want = at.contains(tag) ? at[tag] + 1 : first.at(tag);
    ASSERT_EQ(m.u64("/seq"), want) << m.text();
    ASSERT_LE(want, last.at(tag)) << m.text();
    at[tag] = want;
    --left;
  }
}

// A 3-master cluster and two nodes on it: `a` (with `a_options`) and `b`.
class redis_cluster_patterns : public testing::Test {
 protected:
  void start(std::vector<std::string> a_options = {}) {
    ASSERT_TRUE(cluster.start());
    a_.emplace(node_args(cluster, "node-a", std::move(a_options)));
    b_.emplace(node_args(cluster, "node-b"));
    ASSERT_TRUE(start_redis_node(*a_));
    ASSERT_TRUE(start_redis_node(*b_));
  }
  server_process& a() { return *a_; }
  server_process& b() { return *b_; }

  redis_cluster cluster{3};

 private:
  std::optional<server_process> a_;
  std::optional<server_process> b_;
};

TEST_F(redis_cluster_patterns, new_tags_on_every_master_reach_a_pattern_on_another_node) {
  ASSERT_NO_FATAL_FAILURE(start());
  ws_client publisher = ws_client::connect(b().port());
  uint64_t id = 1;
  // Published before the subscription: found in the registry, live from then on.
  ASSERT_EQ(publish_ok(publisher, "pt.old.room", id++, "1"), 1u);

  ws_client subscriber = ws_client::connect(a().port());
  const json_message ok = subscriber.call(R"({"op":"sub","id":1,"tags":["pt.*.room"]})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  // And a subscriber of the pattern and of one of its tags: each message once.
  ws_client both = ws_client::connect(a().port());
  ASSERT_EQ(both.call(R"({"op":"sub","id":1,"tags":["pt.*.room","pt.old.room"]})").op(), "ok");

  // Tags node a never saw, on every master, three messages each, back to back: the first
  // ones are published before node a can have subscribed to their channels.
  const std::vector<std::string> tags =
      tags_on_every_master(cluster, 4, [](int i) { return "pt.n" + std::to_string(i) + ".room"; });
  std::map<std::string, uint64_t> first;
  std::map<std::string, uint64_t> last;
  for (uint64_t round = 1; round <= 3; ++round) {
    for (const std::string& tag : tags) {
      ASSERT_EQ(publish_ok(publisher, tag, id++, std::to_string(round)), round);
      first[tag] = 1;
      last[tag] = round;
    }
    ASSERT_GT(publish_ok(publisher, "pt.n1.other", id++, "0"), 0u);  // not matched
  }
  ASSERT_EQ(publish_ok(publisher, "pt.old.room", id++, "2"), 2u);
  first["pt.old.room"] = 2;
  last["pt.old.room"] = 2;
  expect_streams(subscriber, first, last);
  expect_streams(both, first, last);

  // More of the same tags: live, still in order, nothing repeated.
  for (const std::string& tag : tags) {
    ASSERT_EQ(publish_ok(publisher, tag, id++, "4"), 4u);
    first[tag] = 4;
    last[tag] = 4;
  }
  first.erase("pt.old.room");
  last.erase("pt.old.room");
  expect_streams(subscriber, first, last);
  expect_streams(both, first, last);

  EXPECT_GE(metric_total(b().port(), "wsagent_redis_cluster_announces_total"), tags.size() + 2);
  EXPECT_GE(metric_total(b().port(), "wsagent_redis_cluster_announced_cached"), tags.size() + 2);
  EXPECT_GE(metric_total(a().port(), "wsagent_redis_cluster_pattern_tags"), tags.size() + 1);
  EXPECT_EQ(metric_total(a().port(), "wsagent_redis_cluster_pattern_tags_refused_total"), 0u);

  // Unsubscribed: the pulled-in channels are left (Redis' own count on every master).
  ASSERT_EQ(subscriber.call(R"({"op":"unsub","id":2,"tags":["pt.*.room"]})").op(), "ok");
  ASSERT_EQ(both.call(R"({"op":"unsub","id":2,"tags":["pt.*.room"]})").op(), "ok");
  ASSERT_GT(publish_ok(publisher, "pt.old.room", id++, "3"), 0u);
  EXPECT_EQ(both.wait_for("msg", 10s).u64("/seq"), 3u);  // its exact subscription stays
  // (The pattern's owner shard hears of the unsub through its mailbox: asked until it has.)
  uint64_t pulled = 1;
  for (int i = 0; i < 500 && pulled != 0; ++i) {
    pulled = metric_total(a().port(), "wsagent_redis_cluster_pattern_tags");
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(pulled, 0u);
}

TEST_F(redis_cluster_patterns, a_pattern_pulls_in_at_most_max_recovery_tags) {
  ASSERT_NO_FATAL_FAILURE(start({"--max-recovery-tags", "2"}));
  ws_client subscriber = ws_client::connect(a().port());
  ASSERT_EQ(subscriber.call(R"({"op":"sub","id":1,"tags":["bd.>"]})").op(), "ok");
  ws_client publisher = ws_client::connect(b().port());
  uint64_t id = 1;
  // One after the other, each waiting until the pattern has it: the third is one too many.
  ASSERT_EQ(publish_ok(publisher, "bd.one", id++, "1"), 1u);
  EXPECT_EQ(subscriber.wait_for("msg", 10s).str("/tag"), "bd.one");
  ASSERT_EQ(publish_ok(publisher, "bd.two", id++, "1"), 1u);
  EXPECT_EQ(subscriber.wait_for("msg", 10s).str("/tag"), "bd.two");
  ASSERT_EQ(publish_ok(publisher, "bd.three", id++, "1"), 1u);
  const json_message gap = subscriber.next_json(10s);
  ASSERT_EQ(gap.op(), "gap") << gap.text();
  EXPECT_EQ(gap.str("/tags/0"), "bd.>");
  // The two pulled in go on; the third never comes (the next message is bd.one's).
  ASSERT_EQ(publish_ok(publisher, "bd.three", id++, "2"), 2u);
  ASSERT_EQ(publish_ok(publisher, "bd.one", id++, "2"), 2u);
  const json_message next = subscriber.next_json(10s);
  EXPECT_EQ(next.str("/tag"), "bd.one") << next.text();
  EXPECT_EQ(next.u64("/seq"), 2u) << next.text();
  EXPECT_EQ(metric_total(a().port(), "wsagent_redis_cluster_pattern_tags"), 2u);
  EXPECT_GE(metric_total(a().port(), "wsagent_redis_cluster_pattern_tags_refused_total"), 1u);

  // A second pattern over the same tags counts those the first pulled in (it counted none
  // of them, and pulled in as many again): bd.three, in the registry, is one too many for
  // it too.
  ASSERT_EQ(subscriber.call(R"({"op":"sub","id":2,"tags":["bd.*"]})").op(), "ok");
  const json_message gap2 = subscriber.next_json(10s);
  ASSERT_EQ(gap2.op(), "gap") << gap2.text();
  EXPECT_EQ(gap2.str("/tags/0"), "bd.*");
  EXPECT_EQ(metric_total(a().port(), "wsagent_redis_cluster_pattern_tags"), 2u);
  // The first pattern gone, its tags stay for the second, within the same bound: a new tag
  // is left out, the two go on.
  ASSERT_EQ(subscriber.call(R"({"op":"unsub","id":3,"tags":["bd.>"]})").op(), "ok");
  ASSERT_EQ(publish_ok(publisher, "bd.four", id++, "1"), 1u);
  ASSERT_EQ(publish_ok(publisher, "bd.one", id++, "3"), 3u);
  const json_message after = subscriber.next_json(10s);
  EXPECT_EQ(after.str("/tag"), "bd.one") << after.text();
  EXPECT_EQ(after.u64("/seq"), 3u) << after.text();
  EXPECT_EQ(metric_total(a().port(), "wsagent_redis_cluster_pattern_tags"), 2u);
}

TEST_F(redis_cluster_patterns, announce_channel_slot_moved_and_refusals_with_reasons) {
  ASSERT_NO_FATAL_FAILURE(start({"--mqtt-listen", "127.0.0.1:0"}));
  ws_client subscriber = ws_client::connect(a().port());
  ASSERT_EQ(subscriber.call(R"({"op":"sub","id":1,"tags":["mv.*"]})").op(), "ok");
  ws_client publisher = ws_client::connect(b().port());
  uint64_t id = 1;
  ASSERT_EQ(publish_ok(publisher, "mv.first", id++, "1"), 1u);
  EXPECT_EQ(subscriber.wait_for("msg", 10s).str("/tag"), "mv.first");

  // The segment's announce channel (and registry) move to another master: tags new after
  // the move still reach the pattern, from their first message.
  const uint16_t slot = key_slot_of(cluster, "wsa:{mv}:new");
  const auto from = static_cast<std::size_t>(cluster.owner_of(slot));
  ASSERT_TRUE(cluster.move_slot(slot, (from + 1) % cluster.size()));
  std::map<std::string, uint64_t> first;
  std::map<std::string, uint64_t> last;
  for (int i = 0; i < 3; ++i) {
    const std::string tag = "mv.after" + std::to_string(i);
    ASSERT_EQ(publish_ok(publisher, tag, id++, "1"), 1u);
    ASSERT_EQ(publish_ok(publisher, tag, id++, "2"), 2u);
    first[tag] = 1;
    last[tag] = 2;
  }
  expect_streams(subscriber, first, last);
  EXPECT_GE(metric_total(a().port(), "wsagent_redis_cluster_channel_moves_total"), 1u);

  // Not served on a cluster: refused with words a client can act on (not `unavailable`,
  // which a client library would retry).
  const json_message wild = subscriber.call(R"({"op":"sub","id":2,"tags":["*.x"]})");
  EXPECT_EQ(wild.op(), "err") << wild.text();
  EXPECT_EQ(wild.str("/code"), "bad_request") << wild.text();
  EXPECT_NE(wild.str("/reason").find("first segment is a wildcard"), std::string::npos)
      << wild.text();
  const json_message since = subscriber.call(
      R"({"op":"sub","id":3,"tags":["mv.*"],"since":{"mv.*":{"ts":1}}})");
  EXPECT_EQ(since.op(), "err") << since.text();
  EXPECT_EQ(since.str("/code"), "bad_request") << since.text();
  EXPECT_NE(since.str("/reason").find("pattern-since"), std::string::npos) << since.text();
  EXPECT_EQ(subscriber.hello().text().find("pattern-since"), std::string::npos);

  // Over MQTT the same refusal is the SUBACK's code: 5.0 Wildcard Subscriptions not
  // supported (0xA2) for a filter whose first level is a wildcard, the others granted;
  // 3.1.1 Failure (0x80). (Was granted, and never delivered anything.)
  tcp_socket v5 = tcp_socket::connect(mqtt_port(a()));
  std::string buffered;
  v5.send_all(connect_v5_packet(60, "wild5"));
  const std::string connack = next_packet(v5, buffered);
  ASSERT_GE(connack.size(), 4u);
  ASSERT_EQ(connack[0], '\x20');
  ASSERT_EQ(connack[3], '\0');  // success
  std::string sub{0, 1, 0};  // packet id 1, no properties
  for (const std::string filter : {"+/x", "#", "mv/+"}) {
    sub += std::string{0, static_cast<char>(filter.size())} + filter + '\x01';
  }
  v5.send_all(mqtt_packet(0x82, sub));
  EXPECT_EQ(next_packet(v5, buffered), std::string("\x90\x06\x00\x01\x00\xa2\xa2\x01", 8));
  tcp_socket v311 = tcp_socket::connect(mqtt_port(a()));
  v311.send_all(connect_packet(60));
  ASSERT_EQ(next_packet(v311, buffered), std::string("\x20\x02\x00\x00", 4));
  v311.send_all(subscribe_packet(1, "+/x"));
  EXPECT_EQ(next_packet(v311, buffered), std::string("\x90\x03\x00\x01\x80", 5));
}

// Protocol 1.1 presence on a cluster (each tag's members in its own slot, events on its
// sharded channel): counts, joins and leaves across the two nodes, for tags on two masters.
TEST_F(redis_cluster_patterns, presence_counts_joins_and_leaves_across_nodes) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<std::string> rooms;
  std::set<int> owners;
  for (int i = 0; rooms.size() < 2 && i < 1000; ++i) {
    const std::string tag = "pr.room" + std::to_string(i);
    if (owners.insert(owner_of_tag(cluster, tag)).second) {
      rooms.push_back(tag);
    }
  }
  ASSERT_EQ(rooms.size(), 2u);
  for (const std::string& room : rooms) {
    ws_client watcher = ws_client::connect(a().port());
    ws_client member = ws_client::connect(b().port());
    const std::string sub = R"({"op":"sub","id":1,"tags":[")" + room + R"("])";
    ASSERT_EQ(watcher.call(sub + R"(,"presence":true})").op(), "ok");
    ASSERT_EQ(member.call(sub + "}").op(), "ok");
    const json_message join = watcher.wait_for("join", 10s);
    EXPECT_EQ(join.str("/who/conn"), member.hello().str("/conn")) << join.text();
    const std::string ask = R"({"op":"presence","id":2,"tag":")" + room + R"("})";
    EXPECT_EQ(watcher.call(ask).u64("/count"), 2u);
    EXPECT_EQ(member.call(ask).u64("/count"), 2u);
    ASSERT_EQ(member.call(R"({"op":"unsub","id":3,"tags":[")" + room + R"("]})").op(), "ok");
    const json_message leave = watcher.wait_for("leave", 10s);
    EXPECT_EQ(leave.str("/who/conn"), member.hello().str("/conn")) << leave.text();
    EXPECT_EQ(member.call(ask).u64("/count"), 1u);
  }
}

}  // namespace
}  // namespace wsa::test
