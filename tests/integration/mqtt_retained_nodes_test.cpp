// Retained MQTT messages across a cluster (docs/mqtt.md "Retained messages"): two nodes on
// a real redis-server started by the test, mosquitto_pub / mosquitto_sub and paho. A retained
// PUBLISH on one node is seen by a SUBSCRIBE on the other, with its 5.0 properties; a clear
// on the other reaches the first; a node started later has them all; a killed client's will
// with the retain flag is retained; the bounds are the cluster's.
#include <gtest/gtest.h>

#include <string>

#include "mqtt_support.h"
#include "redis_nodes.h"

namespace wsa::test {
namespace {

class mqtt_retained_nodes : public two_redis_nodes {
 protected:
  mqtt_retained_nodes() : two_redis_nodes("mqtt-retained-password") {}
  uint16_t a() const { return mqtt_port(*a_); }
  uint16_t b() const { return mqtt_port(*b_); }
};

TEST_F(mqtt_retained_nodes, seen_on_every_node_cleared_anywhere_and_loaded_by_a_new_node) {
  ASSERT_TRUE(have_clients());
  start_nodes({"--mqtt-listen", "127.0.0.1:0"});
  ASSERT_EQ(publish(a(), {"-r", "-q", "1", "-t", "c/1", "-m", "one"}), 0);
  ASSERT_EQ(publish(a(), {"-V", "mqttv5", "-r", "-q", "1", "-t", "c/2", "-m", "two", "-D",
                          "publish", "user-property", "k", "v"}),
            0);
  EXPECT_TRUE(eventually(b(), "c/#", "c/1 one 1\nc/2 two 1\n"));
  // With the publisher's properties, to a 5.0 subscriber of the other node.
  child_process paho({python, paho_script, "--port", std::to_string(b()), "--v5", "--id", "p",
                      "--sub", "c/2:1", "--expect", "1"});
  ASSERT_EQ(paho.wait_exit(wait_time), 0) << paho.output();
  EXPECT_NE(paho.output().find("\"payload\": \"two\", \"qos\": 1, \"retain\": true, "
                               "\"user_properties\": [[\"k\", \"v\"]]"),
            std::string::npos)
      << paho.output();

  // Cleared on node B: gone on node A too.
  ASSERT_EQ(publish(b(), {"-r", "-q", "1", "-t", "c/1", "-n"}), 0);
  EXPECT_TRUE(eventually(a(), "c/#", "c/2 two 1\n"));

  // A killed client's will with the retain flag, published through node A.
  subscriber device(a(), {"-t", "idle", "-i", "dev", "--will-topic", "c/dev", "--will-payload",
                          "offline", "--will-retain"});
  ASSERT_TRUE(device.ready()) << device.process.output();
  device.process.kill_now();
  EXPECT_TRUE(eventually(b(), "c/#", "c/2 two 1\nc/dev offline 1\n"));

  // A node started later (node B restarted) loads them from Redis.
  b_.reset();
  b_ = std::make_unique<server_process>(
      redis_node_args(redis_, "node-b", {"--mqtt-listen", "127.0.0.1:0"}));
  ASSERT_TRUE(start_redis_node(*b_));
  EXPECT_TRUE(eventually(b(), "c/#", "c/2 two 1\nc/dev offline 1\n"));
  // Both shards of each node hold them (gauges are per copy).
  EXPECT_EQ(metric_sum(b_->port(), "wsagent_mqtt_retained_messages"), 2u * 2);
}

TEST_F(mqtt_retained_nodes, the_bound_is_the_clusters) {
  ASSERT_TRUE(have_clients());
  start_nodes({"--mqtt-listen", "127.0.0.1:0", "--mqtt-retained-max", "1"});
  ASSERT_EQ(publish(a(), {"-r", "-q", "1", "-t", "b/1", "-m", "first"}), 0);
  EXPECT_TRUE(eventually(b(), "b/#", "b/1 first 1\n"));
  // A second topic through the other node: published and acknowledged, not retained.
  ASSERT_EQ(publish(b(), {"-r", "-q", "1", "-t", "b/2", "-m", "second"}), 0);
  // The kept topic can still be replaced, from either node; a fence for the refusal.
  ASSERT_EQ(publish(b(), {"-r", "-q", "1", "-t", "b/1", "-m", "again"}), 0);
  EXPECT_TRUE(eventually(a(), "b/#", "b/1 again 1\n"));
  EXPECT_EQ(metric_sum(b_->port(), "wsagent_mqtt_retained_refusals_total"), 1u);
  EXPECT_EQ(retained_now(b(), "b/#"), "b/1 again 1\n");
}

}  // namespace
}  // namespace wsa::test
