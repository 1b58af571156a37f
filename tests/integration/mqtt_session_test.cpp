// Persistent MQTT sessions on one node (docs/mqtt.md "Sessions"), with mosquitto_sub's own
// persistent sessions (-c -i ID: 3.1.1 clean session 0, 5.0 session expiry): what was
// published while the device was away comes when it reconnects, out of the tag's history
// from the seq it last acknowledged; what history no longer holds is counted; a clean
// session discards it; the node's session bound refuses one more.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "mqtt_support.h"
#include "support/process_probe.h"

namespace wsa::test {
namespace {

TEST(mqtt_session, a_persistent_session_gets_what_was_published_while_away) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());  // two shards: the session's owner may be the other
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  for (const std::string version : {"31", "5"}) {
    const std::string id = "dev-" + version;
    const std::string topic = "s" + version + "/t";
    std::vector<std::string> session{"-V", version == "5" ? "mqttv5" : "mqttv311", "-c", "-i",
                                     id, "-t", topic};
    if (version == "5") {
      session.insert(session.end(), {"-x", "600"});  // session expiry 10 minutes
    }
    // Subscribed once, with one message received and acknowledged.
    {
      subscriber first(port, with(session, {"-q", "1", "-C", "1"}));
      ASSERT_TRUE(first.ready());
      ASSERT_EQ(publish(port, {"-q", "1", "-t", topic, "-m", "one"}), 0);
      ASSERT_EQ(first.process.wait_exit(wait_time), 0) << first.process.output();
    }
    // Away: three more.
    for (const std::string m : {"two", "three", "four"}) {
      ASSERT_EQ(publish(port, {"-q", "1", "-t", topic, "-m", m}), 0);
    }
    // Back: exactly those, in order, and not "one" again.
    EXPECT_EQ(receive(port, session, 3),
              topic + " two\n" + topic + " three\n" + topic + " four\n");
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_sessions_resumed_total"), 2u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_sessions"), 2u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_resume_gaps_total"), 0u);

  // A clean session discards it: nothing published meanwhile comes.
  ASSERT_EQ(publish(port, {"-q", "1", "-t", "s31/t", "-m", "five"}), 0);
  int status = 0;
  const std::string clean = receive(port, {"-i", "dev-31", "-t", "s31/t"}, 1, &status);
  EXPECT_NE(status, 0) << clean;  // timed out (-W) with no message
  EXPECT_EQ(clean.find("five"), std::string::npos) << clean;
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_sessions"), 1u);
}

TEST(mqtt_session, a_delivery_left_unacknowledged_comes_again_on_resume) {
  // A tag's very first message (seq 1) and a later one, each delivered at QoS 1 and not
  // acknowledged when the device left, or when a new connection took its session over: the
  // resumed session gets it again.
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  for (const bool v5 : {false, true}) {
    for (const bool taken_over : {false, true}) {
      const std::string id = std::string(v5 ? "ua5" : "ua31") + (taken_over ? "-taken" : "-left");
      const std::string topic = id + "/t";
      for (const std::string m : {"m1", "m2"}) {
        SCOPED_TRACE(id + " " + m);
        std::optional<raw_device> left(std::in_place, port, id, v5,
                                       std::vector<std::string>{topic});
        ASSERT_TRUE(left->accepted());
        ASSERT_EQ(publish(port, {"-q", "1", "-t", topic, "-m", m}), 0);
        ASSERT_EQ(left->receive(/*acknowledge=*/false), m);
        if (!taken_over) {
          left.reset();
        }
        raw_device back(port, id, v5, {});
        ASSERT_TRUE(back.accepted());
        EXPECT_EQ(back.connack[2], 1) << "session present";
        EXPECT_EQ(back.receive(), m);
        if (taken_over) {
          EXPECT_TRUE(left->s.wait_eof(wait_time));
        }
        back.disconnect();
      }
    }
  }
}

TEST(mqtt_session, what_history_no_longer_holds_is_counted_not_assumed_delivered) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args({"--no-auth", "--history-size", "2"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  const std::vector<std::string> session{"-c", "-i", "gappy", "-t", "g/t"};
  {
    subscriber first(port, with(session, {"-q", "1", "-C", "1"}));
    ASSERT_TRUE(first.ready());
    ASSERT_EQ(publish(port, {"-q", "1", "-t", "g/t", "-m", "m1"}), 0);
    ASSERT_EQ(first.process.wait_exit(wait_time), 0) << first.process.output();
  }
  for (int i = 2; i <= 5; ++i) {  // history keeps the last 2 of these 4
    ASSERT_EQ(publish(port, {"-q", "1", "-t", "g/t", "-m", "m" + std::to_string(i)}), 0);
  }
  EXPECT_EQ(receive(port, session, 2), "g/t m4\ng/t m5\n");
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_resume_gaps_total"), 1u);
}

TEST(mqtt_session, the_nodes_session_bound_refuses_one_more_until_one_expires) {
  ASSERT_TRUE(have_clients());
  server_process server({"--no-auth", "--mqtt-listen", "127.0.0.1:0", "--mqtt-max-sessions",
                         "1"});
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  {  // 5.0, kept 2 seconds after its end
    subscriber kept(port, {"-V", "mqttv5", "-x", "2", "-c", "-i", "first", "-t", "b/t", "-C",
                           "1"});
    ASSERT_TRUE(kept.ready());
  }
  // A second persistent session is refused (3.1.1 CONNACK 3), a clean one is not.
  int status = 0;
  const std::string refused = receive(port, {"-c", "-i", "second", "-t", "b/t"}, 1, &status);
  EXPECT_NE(refused.find("Connection Refused: broker unavailable"), std::string::npos)
      << status << " " << refused;
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_connect_refusals_total"), 1u);
  {
    subscriber clean(port, {"-i", "third", "-t", "b/t", "-C", "1"});
    ASSERT_TRUE(clean.ready()) << clean.process.output();
    ASSERT_EQ(publish(port, {"-q", "1", "-t", "b/t", "-m", "x"}), 0);
    EXPECT_EQ(clean.process.wait_exit(wait_time), 0) << clean.process.output();
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_sessions"), 1u);
  // Once the first has expired, it makes room.
  usleep(2500 * 1000);
  {
    subscriber second(port, {"-c", "-i", "second", "-t", "b/t", "-C", "1"});
    EXPECT_TRUE(second.ready()) << second.process.output();
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_sessions_expired_total"), 1u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_sessions"), 1u);
}

TEST(mqtt_session, stored_sessions_are_bounded_in_bytes) {
  // Each session: 100 exact filters of 240 bytes, so that its record (filters, and a
  // position per tag) is about 50 KB; the node keeps 1 MiB of them (one shard). A session
  // is admitted at CONNECT while the sessions kept are under the bound; one that has grown
  // past it by the end of its connection is not kept (the next CONNECT gets session
  // present 0); once the bound is reached a CONNECT for a new one is refused.
  ASSERT_TRUE(have_clients());
  small_sanitizer_quarantine();  // (ASan: freed records would otherwise stay in its RSS)
  server_process server({"--no-auth", "--mqtt-listen", "127.0.0.1:0", "--shards", "1",
                         "--mqtt-max-session-bytes", "1m"});
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  const int64_t base_kib = rss_kib(server.pid());
  for (int i = 0; i < 100; ++i) {
    std::vector<std::string> filters;
    for (int f = 0; f < 100; ++f) {
      std::string filter = "d" + std::to_string(i) + "/f" + std::to_string(f) + "/";
      filters.push_back(filter + std::string(240 - filter.size(), 'x'));
    }
    raw_device device(port, "big-" + std::to_string(i), i % 2 == 1, filters);
    ASSERT_TRUE(device.accepted()) << i;
    device.disconnect();
  }
  // Roughly 1 MiB / 50 KB kept; the others were dropped at their end, counted.
  const uint64_t kept = metric_sum(server.port(), "wsagent_mqtt_sessions");
  EXPECT_GE(kept, 10u);
  EXPECT_LE(kept, 30u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_session_bytes_dropped_total"), 100 - kept);
  const uint64_t bytes = metric_sum(server.port(), "wsagent_mqtt_session_bytes");
  EXPECT_GE(bytes, 900u * 1024);
  EXPECT_LE(bytes, 1024u * 1024);
  // What the server grew by (connections came and went too; measured 3.6 MiB in Release):
  // bounded generously, as the other abuse tests do.
  const int64_t grown_kib = rss_kib(server.pid()) - base_kib;
  RecordProperty("rss_growth_kib", std::to_string(grown_kib));
  EXPECT_LT(grown_kib, 64 * 1024);
  {  // The first was kept, the last was not: each is told so.
    raw_device first(port, "big-0", false, {});
    EXPECT_EQ(first.connack, std::string("\x20\x02\x01\x00", 4));
    raw_device last(port, "big-99", true, {});
    ASSERT_TRUE(last.accepted());
    EXPECT_EQ(static_cast<uint8_t>(last.connack[2]), 0) << "session present 0";
  }
  // New small sessions take what is left; then one more is refused (3.1.1: CONNACK 3).
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    raw_device device(port, "small-" + std::to_string(i), false, {});
    refused = !device.accepted();
    if (refused) {
      EXPECT_EQ(static_cast<uint8_t>(device.connack[3]), 3);
    } else {
      device.disconnect();
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_session_bytes_refusals_total"), 1u);
  EXPECT_LE(metric_sum(server.port(), "wsagent_mqtt_session_bytes"), 1024u * 1024);
  {
    subscriber clean(port, {"-i", "clean", "-t", "b/t", "-C", "1"});
    ASSERT_TRUE(clean.ready()) << clean.process.output();
  }
}

}  // namespace
}  // namespace wsa::test
