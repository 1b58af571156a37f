// Inbound QoS accounting (Receive Maximum, QoS 2 identifiers held until PUBREL, reception
// numbers that never repeat), QoS 2 idem keys, and topic aliases in both directions.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "mqtt/inbound.h"
#include "mqtt/topic_alias.h"

namespace wsa::mqtt {
namespace {

TEST(mqtt_inbound, receive_maximum) {
  inbound_flow f(2);
  uint64_t n = 0;
  EXPECT_EQ(f.on_publish(1, 1, true, n), inbound_flow::verdict::publish);
  EXPECT_EQ(f.on_publish(2, 2, true, n), inbound_flow::verdict::publish);
  EXPECT_TRUE(f.saturated());
  EXPECT_EQ(f.on_publish(1, 3, true, n), inbound_flow::verdict::exceeded);
  // 3.1.1 is not refused (it was never told the maximum): it is throttled.
  EXPECT_EQ(f.on_publish(1, 3, false, n), inbound_flow::verdict::publish);
  EXPECT_EQ(f.unacknowledged(), 3u);
  f.qos1_done();
  f.qos1_done();
  EXPECT_EQ(f.unacknowledged(), 1u);  // the QoS 2 one is held until PUBREL
  EXPECT_FALSE(f.saturated());
  EXPECT_TRUE(f.on_pubrel(2));
  EXPECT_EQ(f.unacknowledged(), 0u);
  f.qos1_done();  // more PUBACKs than PUBLISHes never underflow
  EXPECT_EQ(f.unacknowledged(), 0u);
}

TEST(mqtt_inbound, qos2_exactly_once) {
  inbound_flow f(10);
  uint64_t first = 0;
  uint64_t again = 0;
  ASSERT_EQ(f.on_publish(2, 7, true, first), inbound_flow::verdict::publish);
  // A retransmission (DUP) of a held identifier: the same reception, not counted twice.
  ASSERT_EQ(f.on_publish(2, 7, true, again), inbound_flow::verdict::duplicate);
  EXPECT_EQ(again, first);
  EXPECT_EQ(f.unacknowledged(), 1u);
  EXPECT_TRUE(f.on_pubrel(7));
  EXPECT_FALSE(f.on_pubrel(7));
  // The identifier is free again: a new message under it is a new reception.
  uint64_t next = 0;
  ASSERT_EQ(f.on_publish(2, 7, true, next), inbound_flow::verdict::publish);
  EXPECT_NE(next, first);
}

TEST(mqtt_inbound, restore_never_reuses_numbers) {
  inbound_flow f(10);
  f.restore({{5, 41}, {6, 44}}, 42);
  EXPECT_EQ(f.next_number(), 45u);
  uint64_t n = 0;
  EXPECT_EQ(f.on_publish(2, 5, true, n), inbound_flow::verdict::duplicate);
  EXPECT_EQ(n, 41u);
  EXPECT_EQ(f.on_publish(2, 8, true, n), inbound_flow::verdict::publish);
  EXPECT_EQ(n, 45u);
}

TEST(mqtt_inbound, idem_keys) {
  const std::string k = qos2_idem_key("alice/sensor-1", 7);
  EXPECT_EQ(k.size(), 4u + 32 + 1 + 1);
  EXPECT_EQ(k.substr(0, 4), "mq2:");
  EXPECT_EQ(k.substr(36), ":7");
  EXPECT_EQ(k, qos2_idem_key("alice/sensor-1", 7)) << "the same on every node";
  EXPECT_NE(k, qos2_idem_key("alice/sensor-2", 7));
  EXPECT_NE(k, qos2_idem_key("alice/sensor-1", 8));
  const std::string longest = qos2_idem_key(std::string(1000, 'x'), UINT64_MAX);
  EXPECT_LE(longest.size(), 64u);  // an idem key is 1-64 printable ASCII
  for (const char c : longest) {
    EXPECT_TRUE(c >= 0x21 && c <= 0x7e);
  }
  // BLAKE2b-128 of "abc", so that other implementations can derive the same keys.
  EXPECT_EQ(qos2_idem_key("abc", 1), "mq2:cf4ab791c62b8d2b2109c90275287816:1");
}

TEST(mqtt_topic_alias, inbound) {
  inbound_aliases a(2);
  std::string_view tag;
  EXPECT_EQ(a.resolve("x/y", 0, tag), inbound_aliases::result::ok);
  EXPECT_EQ(tag, "x.y");
  EXPECT_EQ(a.resolve("", 1, tag), inbound_aliases::result::alias_unknown);
  EXPECT_EQ(a.resolve("a/b", 1, tag), inbound_aliases::result::ok);
  EXPECT_EQ(tag, "a.b");
  EXPECT_EQ(a.resolve("", 1, tag), inbound_aliases::result::ok);
  EXPECT_EQ(tag, "a.b");
  EXPECT_EQ(a.resolve("c", 1, tag), inbound_aliases::result::ok);  // reassigned
  EXPECT_EQ(a.resolve("", 1, tag), inbound_aliases::result::ok);
  EXPECT_EQ(tag, "c");
  EXPECT_EQ(a.resolve("d", 3, tag), inbound_aliases::result::alias_invalid);
  EXPECT_EQ(a.resolve("$x", 2, tag), inbound_aliases::result::topic_invalid);
  EXPECT_EQ(a.resolve("", 2, tag), inbound_aliases::result::alias_unknown);
  EXPECT_EQ(a.resolve("", 0, tag), inbound_aliases::result::alias_unknown);
  inbound_aliases none(0);
  EXPECT_EQ(none.resolve("a", 1, tag), inbound_aliases::result::alias_invalid);
}

TEST(mqtt_topic_alias, outbound_lru) {
  outbound_aliases a(2);
  bool send = false;
  EXPECT_EQ(a.assign("a", send), 1);
  EXPECT_TRUE(send);
  EXPECT_EQ(a.assign("a", send), 1);
  EXPECT_FALSE(send);
  EXPECT_EQ(a.assign("b", send), 2);
  EXPECT_TRUE(send);
  EXPECT_EQ(a.assign("a", send), 1);  // a is now the most recently used
  EXPECT_FALSE(send);
  EXPECT_EQ(a.assign("c", send), 2);  // b was the least recently used
  EXPECT_TRUE(send);
  EXPECT_EQ(a.assign("b", send), 1);
  EXPECT_TRUE(send);
  EXPECT_EQ(a.assign("c", send), 2);
  EXPECT_FALSE(send);
  outbound_aliases off(0);
  EXPECT_EQ(off.assign("a", send), 0);
  EXPECT_TRUE(send);
  // Many topics through a small table: aliases stay within the maximum, topics always
  // travel with a new or reassigned alias.
  outbound_aliases small(3);
  std::string last_topic_of[4];
  for (int i = 0; i < 1000; ++i) {
    const std::string topic = "t/" + std::to_string(i * 7 % 11);
    const uint16_t alias = small.assign(topic, send);
    ASSERT_GE(alias, 1);
    ASSERT_LE(alias, 3);
    if (!send) {
      EXPECT_EQ(last_topic_of[alias], topic) << "an alias sent without its topic must mean it";
    }
    last_topic_of[alias] = topic;
  }
}

}  // namespace
}  // namespace wsa::mqtt
