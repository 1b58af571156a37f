// Retained MQTT messages against the real server (docs/mqtt.md "Retained messages"), with
// mosquitto_pub / mosquitto_sub and paho: kept per tag, replaced by a newer one, cleared by an
// empty payload, sent after the SUBACK with the retain flag, on every shard of the node;
// 5.0 Retain Handling; the node's bound and the metrics.
#include <gtest/gtest.h>

#include <string>

#include "mqtt_support.h"

namespace wsa::test {
namespace {

// mosquitto_sub printing "topic payload retain-flag" lines.
std::string retained_lines(uint16_t port, const std::string& filter, int count) {
  child_process sub({mosquitto_sub, "-h", "127.0.0.1", "-p", std::to_string(port), "-t", filter,
                     "-C", std::to_string(count), "-F", "%t %p %r", "-W", "10"});
  EXPECT_EQ(sub.wait_exit(wait_time), 0) << sub.output();
  return sub.output();
}

TEST(mqtt_retained, kept_per_tag_replaced_cleared_and_sent_on_subscribe) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());  // two shards: each holds a copy
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  ASSERT_EQ(publish(port, {"-r", "-q", "1", "-t", "r/1", "-m", "one"}), 0);
  ASSERT_EQ(publish(port, {"-r", "-t", "r/2", "-m", "two"}), 0);
  ASSERT_EQ(publish(port, {"-r", "-q", "1", "-t", "r/1", "-m", "uno"}), 0);
  ASSERT_EQ(publish(port, {"-t", "r/2", "-m", "not retained"}), 0);
  for (int attempt = 0; attempt < 3; ++attempt) {  // new connections, on either shard
    const std::string got = retained_lines(port, "r/#", 2);
    EXPECT_NE(got.find("r/1 uno 1\n"), std::string::npos) << got;
    EXPECT_NE(got.find("r/2 two 1\n"), std::string::npos) << got;
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_retained_messages"), 2u * 2);
  const uint64_t bytes = metric_sum(server.port(), "wsagent_mqtt_retained_bytes");
  EXPECT_GT(bytes, 0u);

  // An empty retained payload clears the tag's retained message.
  ASSERT_EQ(publish(port, {"-r", "-q", "1", "-t", "r/1", "-n"}), 0);
  const std::string got = retained_lines(port, "r/#", 1);
  EXPECT_EQ(got, "r/2 two 1\n");
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_retained_messages"), 1u * 2);
  EXPECT_LT(metric_sum(server.port(), "wsagent_mqtt_retained_bytes"), bytes);
  // An exact filter finds its tag's message.
  EXPECT_EQ(retained_lines(port, "r/2", 1), "r/2 two 1\n");
}

TEST(mqtt_retained, retain_handling_of_5_0) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  ASSERT_EQ(publish(port, {"-r", "-t", "h/old", "-m", "kept"}), 0);
  // Retain Handling 0: the retained message first (retain set), then a live one (not set).
  {
    child_process p({python, paho_script, "--port", std::to_string(port), "--v5", "--id", "rh0",
                     "--sub", "h/#:1:0", "--pub", "h/new:1:live", "--expect", "2"});
    EXPECT_EQ(p.wait_exit(wait_time), 0) << p.output();
    EXPECT_NE(p.output().find("\"topic\": \"h/old\", \"payload\": \"kept\", \"qos\": 0, "
                              "\"retain\": true"),
              std::string::npos)
        << p.output();
  }
  // Retain Handling 2: never; the first message is the live one.
  {
    child_process p({python, paho_script, "--port", std::to_string(port), "--v5", "--id", "rh2",
                     "--sub", "h/#:1:2", "--pub", "h/new:1:live", "--expect", "1"});
    EXPECT_EQ(p.wait_exit(wait_time), 0) << p.output();
    EXPECT_EQ(p.output().find("h/old"), std::string::npos) << p.output();
    EXPECT_NE(p.output().find("\"topic\": \"h/new\", \"payload\": \"live\""), std::string::npos)
        << p.output();
  }
}

TEST(mqtt_retained, the_nodes_bound_refuses_new_topics_and_counts_them) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args({"--no-auth", "--mqtt-retained-max", "1"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  ASSERT_EQ(publish(port, {"-r", "-q", "1", "-t", "b/1", "-m", "first"}), 0);
  // A second topic is published (and acknowledged) but not retained.
  ASSERT_EQ(publish(port, {"-r", "-q", "1", "-t", "b/2", "-m", "second"}), 0);
  // The kept topic can still be replaced.
  ASSERT_EQ(publish(port, {"-r", "-q", "1", "-t", "b/1", "-m", "again"}), 0);
  EXPECT_EQ(retained_lines(port, "b/#", 1), "b/1 again 1\n");
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_retained_refusals_total"), 1u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_retained_messages"), 1u * 2);
}

}  // namespace
}  // namespace wsa::test
