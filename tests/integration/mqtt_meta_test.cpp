// What an MQTT publisher's message carries besides its payload (docs/mqtt.md "What a message
// carries"), against the real server with clients nobody here wrote (paho 5.0 through
// mqtt_paho.py, mosquitto_pub / mosquitto_sub): user properties and content type reach 5.0
// subscribers, on one node and on the other node of a Redis cluster; Message Expiry (the
// interval left, and an expired retained or replayed message not sent); No Local; Retain As
// Published; WebSocket subscribers see exactly the `msg` frame protocol.md describes.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "mqtt_support.h"
#include "redis_nodes.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

std::vector<std::string> paho(uint16_t port, std::string id, std::vector<std::string> more) {
  return with({python, paho_script, "--port", std::to_string(port), "--v5", "--id",
               std::move(id)},
              std::move(more));
}

// The number after `"key": ` in the first line of `out` that holds `line_part`; -1: none.
long number_after(const std::string& out, const std::string& line_part, const std::string& key) {
  const std::size_t line = out.find(line_part);
  if (line == std::string::npos) {
    return -1;
  }
  const std::size_t at = out.find("\"" + key + "\": ", line);
  if (at == std::string::npos || out.find('\n', line) < at) {
    return -1;
  }
  return std::strtol(out.c_str() + at + key.size() + 4, nullptr, 10);
}

// What mosquitto_sub printed, without its -d lines (subscriber waits for SUBACK with -d).
std::string printed(const std::string& output) {
  std::string out;
  std::size_t start = 0;
  while (start < output.size()) {
    const std::size_t end = output.find('\n', start);
    const std::string line = output.substr(start, end - start);
    if (!line.starts_with("Client ") && !line.starts_with("Subscribed ")) {
      out += line + "\n";
    }
    start = end == std::string::npos ? output.size() : end + 1;
  }
  return out;
}

const std::vector<std::string> properties{"--content-type", "application/x-reading",
                                          "--user-property", "unit=C", "--user-property",
                                          "site=north"};
const std::string carried =
    "\"user_properties\": [[\"unit\", \"C\"], [\"site\", \"north\"]], "
    "\"content_type\": \"application/x-reading\"";

TEST(mqtt_meta, properties_and_expiry_reach_subscribers_and_websocket_frames_are_unchanged) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());  // two shards: the message crosses between them
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  child_process sub(paho(port, "sub5", {"--sub", "m/#:1", "--expect", "1"}));
  ASSERT_TRUE(sub.wait_for("suback", wait_time)) << sub.output();
  subscriber v311(port, {"-q", "1", "-t", "m/#", "-C", "1", "-F", "%t %p %r"});
  ASSERT_TRUE(v311.ready()) << v311.process.output();
  ws_client ws = ws_client::connect(server.port());
  ASSERT_EQ(ws.call(R"({"op":"sub","id":"s","tags":["m.>"]})").op(), "ok");

  child_process pub(paho(port, "pub5", with({"--pub", "m/1:1:21.5", "--expiry", "600"},
                                            properties)));
  ASSERT_EQ(pub.wait_exit(wait_time), 0) << pub.output();
  ASSERT_EQ(sub.wait_exit(wait_time), 0) << sub.output();
  const std::string got = sub.output();
  EXPECT_NE(got.find("\"payload\": \"21.5\", \"qos\": 1, \"retain\": false, " + carried),
            std::string::npos)
      << got;
  // The interval left, counted from the publication: at most what was sent.
  const long left = number_after(got, "\"event\": \"message\"", "expiry");
  EXPECT_LE(left, 600) << got;
  EXPECT_GE(left, 590) << got;
  // 3.1.1 has no properties: the same PUBLISH without them.
  EXPECT_EQ(v311.process.wait_exit(wait_time), 0) << v311.process.output();
  EXPECT_EQ(printed(v311.process.output()), "m/1 21.5 0\n");
  // WebSocket: exactly op, tag, seq, ts and data.
  const json_message msg = ws.wait_for("msg");
  EXPECT_EQ(msg.text(), R"({"op":"msg","tag":"m.1","seq":1,"ts":)" +
                            std::to_string(msg.i64("/ts")) + R"(,"data":21.5})");
}

TEST(mqtt_meta, no_local_and_retain_as_published) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  // No Local: the client's own message is not sent back to it; another's is. A plain
  // subscriber gets both (the own one was published, before the other one).
  subscriber plain(port, {"-q", "1", "-t", "n/t", "-C", "2"});
  ASSERT_TRUE(plain.ready()) << plain.process.output();
  child_process self(paho(port, "self", {"--sub", "n/t:1:0:1", "--pub", "n/t:1:own",
                                         "--expect", "1"}));
  ASSERT_TRUE(self.wait_for("\"published\"", wait_time)) << self.output();
  ASSERT_EQ(publish(port, {"-q", "1", "-t", "n/t", "-m", "other"}), 0);
  ASSERT_EQ(self.wait_exit(wait_time), 0) << self.output();
  EXPECT_EQ(self.output().find("\"payload\": \"own\""), std::string::npos) << self.output();
  EXPECT_NE(self.output().find("\"payload\": \"other\""), std::string::npos) << self.output();
  ASSERT_EQ(plain.process.wait_exit(wait_time), 0) << plain.process.output();
  EXPECT_EQ(printed(plain.process.output()), "n/t own\nn/t other\n");

  // Retain As Published: a live retained PUBLISH keeps its flag for a subscription that
  // asks for it, and loses it for others (Retain Handling 2: nothing retained on subscribe).
  child_process as_published(paho(port, "rap1", {"--sub", "r/t:1:2:0:1", "--expect", "2"}));
  child_process cleared(paho(port, "rap0", {"--sub", "r/t:1:2:0:0", "--expect", "2"}));
  ASSERT_TRUE(as_published.wait_for("suback", wait_time)) << as_published.output();
  ASSERT_TRUE(cleared.wait_for("suback", wait_time)) << cleared.output();
  ASSERT_EQ(publish(port, {"-V", "mqttv5", "-r", "-q", "1", "-t", "r/t", "-m", "kept"}), 0);
  ASSERT_EQ(publish(port, {"-V", "mqttv5", "-q", "1", "-t", "r/t", "-m", "plain"}), 0);
  ASSERT_EQ(as_published.wait_exit(wait_time), 0) << as_published.output();
  ASSERT_EQ(cleared.wait_exit(wait_time), 0) << cleared.output();
  EXPECT_NE(as_published.output().find("\"payload\": \"kept\", \"qos\": 1, \"retain\": true"),
            std::string::npos)
      << as_published.output();
  EXPECT_NE(as_published.output().find("\"payload\": \"plain\", \"qos\": 1, \"retain\": false"),
            std::string::npos)
      << as_published.output();
  EXPECT_NE(cleared.output().find("\"payload\": \"kept\", \"qos\": 1, \"retain\": false"),
            std::string::npos)
      << cleared.output();
}

TEST(mqtt_meta, expired_messages_are_neither_retained_for_new_subscribers_nor_replayed) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  // A persistent session that receives one message, then goes away.
  const std::vector<std::string> session{"-V", "mqttv5", "-c", "-i", "away", "-x", "600",
                                         "-q", "1", "-t", "x/live"};
  {
    subscriber first(port, with(session, {"-C", "1"}));
    ASSERT_TRUE(first.ready()) << first.process.output();
    ASSERT_EQ(publish(port, {"-q", "1", "-t", "x/live", "-m", "first"}), 0);
    ASSERT_EQ(first.process.wait_exit(wait_time), 0) << first.process.output();
  }
  // Meanwhile: a retained message and a queued one that expire in 1 s, and two that do not.
  const std::vector<std::string> short_lived{"-V", "mqttv5", "-q", "1", "-D", "publish",
                                             "message-expiry-interval", "1"};
  ASSERT_EQ(publish(port, with(short_lived, {"-r", "-t", "x/gone", "-m", "stale"})), 0);
  ASSERT_EQ(publish(port, with(short_lived, {"-t", "x/live", "-m", "stale"})), 0);
  ASSERT_EQ(publish(port, {"-V", "mqttv5", "-q", "1", "-r", "-t", "x/kept", "-m", "kept"}), 0);
  ASSERT_EQ(publish(port, {"-q", "1", "-t", "x/live", "-m", "fresh"}), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));

  // The retained one: a new subscriber of x/# gets only x/kept; the live fence after it
  // proves nothing else was on its way.
  subscriber retained(port, {"-q", "1", "-t", "x/+", "-C", "2", "-F", "%t %p %r"});
  ASSERT_TRUE(retained.ready()) << retained.process.output();
  ASSERT_EQ(publish(port, {"-q", "1", "-t", "x/fence", "-m", "fence"}), 0);
  ASSERT_EQ(retained.process.wait_exit(wait_time), 0) << retained.process.output();
  EXPECT_EQ(printed(retained.process.output()), "x/kept kept 1\nx/fence fence 0\n");
  // The replay of the session: only what has not expired.
  child_process back(with({mosquitto_sub, "-h", "127.0.0.1", "-p", std::to_string(port), "-v",
                           "-C", "1", "-W", "5"},
                          session));
  ASSERT_EQ(back.wait_exit(wait_time), 0) << back.output();
  EXPECT_EQ(back.output(), "x/live fresh\n");
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_messages_expired_total"), 2u);
}

class mqtt_meta_nodes : public two_redis_nodes {
 protected:
  mqtt_meta_nodes() : two_redis_nodes("mqtt-meta-password") {}
};

TEST_F(mqtt_meta_nodes, properties_reach_a_subscriber_on_the_other_node) {
  ASSERT_TRUE(have_clients());
  start_nodes({"--mqtt-listen", "127.0.0.1:0"});
  child_process sub(paho(mqtt_port(*b_), "far", {"--sub", "p/+:1", "--expect", "2"}));
  ASSERT_TRUE(sub.wait_for("suback", wait_time)) << sub.output();
  // Live through Redis, with the properties, the expiry and the publisher's QoS.
  child_process pub(paho(mqtt_port(*a_), "near",
                         with({"--pub", "p/1:1:one", "--pub", "p/2:0:two", "--expiry", "900"},
                              properties)));
  ASSERT_EQ(pub.wait_exit(wait_time), 0) << pub.output();
  ASSERT_EQ(sub.wait_exit(wait_time), 0) << sub.output();
  const std::string got = sub.output();
  EXPECT_NE(got.find("\"payload\": \"one\", \"qos\": 1, \"retain\": false, " + carried),
            std::string::npos)
      << got;
  // The publisher's QoS travels too: a QoS 0 message reaches a QoS 1 subscription at 0.
  EXPECT_NE(got.find("\"payload\": \"two\", \"qos\": 0, \"retain\": false, " + carried),
            std::string::npos)
      << got;
  EXPECT_LE(number_after(got, "\"payload\": \"one\"", "expiry"), 900) << got;
  EXPECT_GE(number_after(got, "\"payload\": \"one\"", "expiry"), 890) << got;
  // Replayed out of Redis' history on the other node (a persistent session resumes with
  // since): the properties come back with the message.
  const std::vector<std::string> session{"-V", "mqttv5", "-c", "-i", "replay", "-x", "600",
                                         "-q", "1", "-t", "h/t", "-F", "%t %p %P"};
  {
    subscriber first(mqtt_port(*b_), with(session, {"-C", "1"}));
    ASSERT_TRUE(first.ready()) << first.process.output();
    ASSERT_EQ(publish(mqtt_port(*a_), {"-q", "1", "-t", "h/t", "-m", "first"}), 0);
    ASSERT_EQ(first.process.wait_exit(wait_time), 0) << first.process.output();
  }
  ASSERT_EQ(publish(mqtt_port(*a_), {"-V", "mqttv5", "-q", "1", "-t", "h/t", "-m", "while-away",
                                     "-D", "publish", "user-property", "unit", "K"}),
            0);
  child_process back(with({mosquitto_sub, "-h", "127.0.0.1", "-p", std::to_string(mqtt_port(*b_)),
                           "-C", "1", "-W", "5"},
                          session));
  ASSERT_EQ(back.wait_exit(wait_time), 0) << back.output();
  EXPECT_EQ(back.output(), "h/t while-away unit:K\n");
}

}  // namespace
}  // namespace wsa::test
