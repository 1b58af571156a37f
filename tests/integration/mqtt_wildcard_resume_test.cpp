// Persistent MQTT sessions with wildcard filters resume from history (docs/mqtt.md
// "Sessions"), not live only: a device subscribed to sensors/+/temp that acknowledged some
// messages and left gets, on reconnecting (mosquitto_sub's own -c -i ID, 3.1.1 and 5.0),
// what was published meanwhile on every tag the filter matches (tags it had seen and tags
// new to it), in order per tag, without what it had acknowledged; what history no longer
// holds is counted. On one node (embedded broker) and across two nodes over Redis.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "integration/redis_nodes.h"
#include "mqtt_support.h"

namespace wsa::test {
namespace {

using per_topic = std::map<std::string, std::vector<std::string>>;

// mosquitto_sub -v lines ("topic payload") grouped by topic, in arrival order; other lines
// ("Timed out") under "".
per_topic by_topic(const std::string& output) {
  per_topic out;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t space = line.find(' ');
    if (space == std::string::npos || line == "Timed out") {
      out[""].push_back(line);
    } else {
      out[line.substr(0, space)].push_back(line.substr(space + 1));
    }
  }
  return out;
}

// Each device has a root topic of its own (its id): what another published stays apart.
std::vector<std::string> session_of(const std::string& version, const std::string& id) {
  std::vector<std::string> s{"-V", version == "5" ? "mqttv5" : "mqttv311", "-c", "-i", id,
                             "-t", id + "/+/temp"};
  if (version == "5") {
    s.insert(s.end(), {"-x", "600"});
  }
  return s;
}

// The device's first connection (raw: it acknowledges each message before leaving, so that
// nothing is legitimately due again): subscribed to the wildcard and, overlapping it, to
// one of its tags exactly; receives a1 and b1; leaves with DISCONNECT.
void first_visit(uint16_t device_port, uint16_t publish_port, const std::string& id, bool v5) {
  raw_device device(device_port, id, v5, {id + "/+/temp", id + "/a/temp"});
  ASSERT_TRUE(device.accepted());
  ASSERT_EQ(publish(publish_port, {"-q", "1", "-t", id + "/a/temp", "-m", "a1"}), 0);
  ASSERT_EQ(device.receive(), "a1");
  ASSERT_EQ(publish(publish_port, {"-q", "1", "-t", id + "/b/temp", "-m", "b1"}), 0);
  ASSERT_EQ(device.receive(), "b1");
  device.disconnect();
}

// While away: tags seen (a, b), a tag new to the device (c), and one the filter does not
// match.
void publish_while_away(uint16_t port, const std::string& id) {
  for (const auto& [tail, payload] : std::vector<std::pair<std::string, std::string>>{
           {"/a/temp", "a2"},
           {"/c/temp", "c1"},
           {"/b/temp", "b2"},
           {"/a/humidity", "h1"},
           {"/a/temp", "a3"},
           {"/c/temp", "c2"}}) {
    ASSERT_EQ(publish(port, {"-q", "1", "-t", id + tail, "-m", payload}), 0);
  }
}

// Back: exactly what was published meanwhile, in order per tag, each once. (Waiting for a
// 6th message until -W lets the last PUBACK reach the server and shows that nothing
// acknowledged comes again.)
void expect_resumed(uint16_t port, const std::string& version, const std::string& id) {
  int status = 0;
  const std::string out = receive(port, session_of(version, id), 6, &status);
  const per_topic got = by_topic(out);
  EXPECT_EQ(got, (per_topic{{id + "/a/temp", {"a2", "a3"}},
                            {id + "/b/temp", {"b2"}},
                            {id + "/c/temp", {"c1", "c2"}},
                            {"", {"Timed out"}}}))
      << out;
}

// One node, two shards (tags and the session's owner spread over them).
void resume_on_one_node(const std::string& version) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  const std::string id = "wild" + version;
  first_visit(port, port, id, version == "5");
  publish_while_away(port, id);
  expect_resumed(port, version, id);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_sessions_resumed_total"), 1u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_resume_gaps_total"), 0u);
}

TEST(mqtt_wildcard_resume, a_3_1_1_session_gets_every_matching_tag_published_while_away) {
  resume_on_one_node("31");
}

TEST(mqtt_wildcard_resume, a_5_0_session_gets_every_matching_tag_published_while_away) {
  resume_on_one_node("5");
}

TEST(mqtt_wildcard_resume, what_history_no_longer_holds_is_counted) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args({"--no-auth", "--history-size", "2"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  {
    raw_device device(port, "wildgap", false, {"g/+/t"});
    ASSERT_EQ(publish(port, {"-q", "1", "-t", "g/x/t", "-m", "m1"}), 0);
    ASSERT_EQ(device.receive(), "m1");
    device.disconnect();
  }
  for (int i = 2; i <= 5; ++i) {  // history keeps the last 2 of these 4
    ASSERT_EQ(publish(port, {"-q", "1", "-t", "g/x/t", "-m", "m" + std::to_string(i)}), 0);
  }
  ASSERT_EQ(publish(port, {"-q", "1", "-t", "g/y/t", "-m", "n1"}), 0);
  int status = 0;
  const std::string out =
      receive(port, {"-c", "-i", "wildgap", "-t", "g/+/t"}, 4, &status);
  EXPECT_EQ(by_topic(out),
            (per_topic{{"g/x/t", {"m4", "m5"}}, {"g/y/t", {"n1"}}, {"", {"Timed out"}}}))
      << out;
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_resume_gaps_total"), 1u);
}

TEST(mqtt_wildcard_resume, positions_past_the_bound_are_forgotten_in_halves_and_counted) {
  // limits::max_positions (1000) tags per session: a wildcard subscriber that has seen
  // 1,100 tags forgot the older half of them once, not one per new tag.
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  raw_device device(mqtt_port(server), "many", false, {"many/#"});
  ASSERT_TRUE(device.accepted());
  ws_client ws = ws_client::connect(server.port());
  for (uint64_t i = 1; i <= 1100; ++i) {
    publish_ok(ws, "many.t" + std::to_string(i), i, "\"x\"");
    ASSERT_EQ(device.receive(), "x") << i;
  }
  device.disconnect();
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_positions_forgotten_total"), 500u);
}

TEST(mqtt_wildcard_resume, an_unsubscribed_exact_filter_gives_its_position_back) {
  // Exact filters pin their tag's position (never forgotten past the 1000-tag bound): a
  // device looping SUBSCRIBE, message, UNSUBSCRIBE over new topics must not grow its
  // session with them. Its remaining filters still resume by position.
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  ws_client ws = ws_client::connect(server.port());
  uint64_t id = 0;
  constexpr int loops = 300;
  {
    raw_device device(mqtt_port(server), "loop", false, {"loop/keep", "loop/w/+"});
    ASSERT_TRUE(device.accepted());
    publish_ok(ws, "loop.keep", ++id, "\"k1\"");
    ASSERT_EQ(device.receive(), "k1");
    publish_ok(ws, "loop.w.a", ++id, "\"w1\"");
    ASSERT_EQ(device.receive(), "w1");
    // loop/w/a exactly too, then not: the wildcard still needs its position (kept).
    std::vector<std::string> filters{"loop/w/a"};
    for (int i = 0; i < loops; ++i) {
      filters.push_back("loop/t" + std::to_string(i));
    }
    for (const std::string& filter : filters) {
      device.s.send_all(subscribe_packet(1, filter));
      ASSERT_EQ(static_cast<uint8_t>(next_packet(device.s, device.buffered)[0]), 0x90);
      std::string tag = filter;
      std::replace(tag.begin(), tag.end(), '/', '.');
      publish_ok(ws, tag, ++id, "\"x\"");
      ASSERT_EQ(device.receive(), "x") << filter;
      std::string body{0, 2, 0, static_cast<char>(filter.size())};
      device.s.send_all(mqtt_packet(0xa2, body + filter));
      ASSERT_EQ(static_cast<uint8_t>(next_packet(device.s, device.buffered)[0]), 0xb0);
    }
    device.disconnect();
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_positions_released_total"),
            uint64_t{loops});
  // The kept session holds two filters and two positions (keep, and w.a: the wildcard
  // still reaches it), not 300 more: its record stays small.
  const uint64_t bytes = metric_sum(server.port(), "wsagent_mqtt_session_bytes");
  EXPECT_GT(bytes, 0u);
  EXPECT_LT(bytes, 2048u);
  publish_ok(ws, "loop.keep", ++id, "\"k2\"");
  publish_ok(ws, "loop.w.a", ++id, "\"w2\"");
  raw_device back(mqtt_port(server), "loop", false, {});
  ASSERT_TRUE(back.accepted());
  std::vector<std::string> got{back.receive(), back.receive()};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"k2", "w2"}));
  back.disconnect();
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_resume_gaps_total"), 0u);
}

TEST(mqtt_wildcard_resume, across_nodes_through_redis) {
  ASSERT_TRUE(have_clients());
  redis_process redis({.password = "mqtt-wild-password"});
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a", {"--mqtt-listen", "127.0.0.1:0"}));
  server_process b(redis_node_args(redis, "node-b", {"--mqtt-listen", "127.0.0.1:0"}));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  // Left on A, published to over B (and A), back on B; then back on A once more.
  const std::string id = "wildnodes";
  first_visit(mqtt_port(a), mqtt_port(b), id, true);
  publish_while_away(mqtt_port(b), id);
  expect_resumed(mqtt_port(b), "5", id);
  ASSERT_EQ(publish(mqtt_port(a), {"-q", "1", "-t", id + "/d/temp", "-m", "d1"}), 0);
  ASSERT_EQ(publish(mqtt_port(b), {"-q", "1", "-t", id + "/a/temp", "-m", "a4"}), 0);
  int status = 0;
  const std::string out = receive(mqtt_port(a), session_of("5", id), 3, &status);
  EXPECT_EQ(by_topic(out), (per_topic{{id + "/a/temp", {"a4"}},
                                      {id + "/d/temp", {"d1"}},
                                      {"", {"Timed out"}}}))
      << out;
  EXPECT_EQ(metric_sum(a.port(), "wsagent_mqtt_resume_gaps_total") +
                metric_sum(b.port(), "wsagent_mqtt_resume_gaps_total"),
            0u);
}

}  // namespace
}  // namespace wsa::test
