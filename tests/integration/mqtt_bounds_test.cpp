// MQTT bounds against the real server (docs/limits.md, "MQTT connections"): client
// identifier length and will size with mosquitto_pub (its exit status is the CONNACK code),
// and with raw packets where no client library would break the rule: topic aliases past the
// maximum, --pub-rate / --sub-rate, keep-alive 0 bounded by --idle-timeout, and a 3.1.1
// client pipelining past the Receive Maximum (throttled, not closed). Every wait is bounded.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "mqtt_support.h"

namespace wsa::test {
namespace {

// A QoS 1 PUBLISH of "x" to topic "a" with packet id `id` (5.0: an empty property list).
std::string publish_qos1(uint16_t id, bool v5) {
  std::string p = {0, 1, 'a', static_cast<char>(id >> 8), static_cast<char>(id & 0xff)};
  if (v5) {
    p += '\0';
  }
  p += 'x';
  return std::string{0x32, static_cast<char>(p.size())} + p;
}

TEST(mqtt_bounds, client_identifier_length) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const std::string port = std::to_string(mqtt_port(server));
  auto run = [&](std::vector<std::string> options) {
    child_process p(with({mosquitto_pub, "-p", port, "-t", "id/t", "-m", "x"}, options));
    return p.wait_exit(wait_time);
  };
  EXPECT_EQ(run({"-i", std::string(128, 'i')}), 0);
  // One byte more: CONNACK 2 (3.1.1) / 0x85 (5.0); mosquitto_pub exits with it.
  EXPECT_EQ(run({"-i", std::string(129, 'i')}), 2);
  EXPECT_EQ(run({"-V", "mqttv5", "-i", std::string(129, 'i')}), 0x85);
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_connect_refusals_total"), 2u);
}

TEST(mqtt_bounds, will_payload_size) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args({"--no-auth", "--mqtt-max-will-bytes", "1000"}));
  ASSERT_TRUE(server.start());
  const std::string port = std::to_string(mqtt_port(server));
  auto run = [&](std::size_t will_bytes, const char* version) {
    child_process p({mosquitto_pub, "-p", port, "-V", version, "-t", "w/t", "-m", "x",
                     "--will-topic", "w/will", "--will-payload", std::string(will_bytes, 'w')});
    return p.wait_exit(wait_time);
  };
  EXPECT_EQ(run(1000, "mqttv311"), 0);
  // One byte more: CONNACK 3 "server unavailable" (3.1.1) / 0x97 "quota exceeded" (5.0).
  EXPECT_EQ(run(1001, "mqttv311"), 3);
  EXPECT_EQ(run(1001, "mqttv5"), 0x97);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_connect_refusals_total"), 2u);
}

TEST(mqtt_bounds, topic_alias_maximum) {
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  tcp_socket s = tcp_socket::connect(mqtt_port(server));
  std::string buffered;
  s.send_all(connect_v5_packet(0));
  ASSERT_EQ(next_packet(s, buffered)[0], '\x20');
  // Alias 16 (the maximum told in CONNACK) is taken: the next PINGREQ is answered.
  s.send_all(std::string("\x30\x08\x00\x01" "a" "\x03\x23\x00\x10" "x", 10));
  s.send_all(std::string("\xc0\x00", 2));
  EXPECT_EQ(next_packet(s, buffered), std::string("\xd0\x00", 2));
  // Alias 17: DISCONNECT 0x94 "topic alias invalid", then the close.
  s.send_all(std::string("\x30\x08\x00\x01" "a" "\x03\x23\x00\x11" "x", 10));
  EXPECT_EQ(next_packet(s, buffered), std::string("\xe0\x01\x94", 3));
  EXPECT_TRUE(s.wait_eof(wait_time));
}

TEST(mqtt_bounds, publish_and_subscribe_rates) {
  server_process server(mqtt_args(
      {"--no-auth", "--pub-rate", "1", "--pub-burst", "2", "--sub-rate", "1", "--sub-burst", "1"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  {
    // 5.0: the third QoS 1 PUBLISH at once gets PUBACK 0x96 "message rate too high"; the
    // connection stays.
    tcp_socket s = tcp_socket::connect(port);
    std::string buffered;
    s.send_all(connect_v5_packet(0));
    ASSERT_EQ(next_packet(s, buffered)[0], '\x20');
    s.send_all(publish_qos1(1, true) + publish_qos1(2, true) + publish_qos1(3, true));
    std::set<std::string> acks;
    for (int i = 0; i < 3; ++i) {
      acks.insert(next_packet(s, buffered));
    }
    EXPECT_EQ(acks, (std::set<std::string>{std::string("\x40\x02\x00\x01", 4),
                                           std::string("\x40\x02\x00\x02", 4),
                                           std::string("\x40\x03\x00\x03\x96", 5)}));
    s.send_all(std::string("\xc0\x00", 2));
    EXPECT_EQ(next_packet(s, buffered), std::string("\xd0\x00", 2));
  }
  {
    // 3.1.1 has no way to say it but closing.
    tcp_socket s = tcp_socket::connect(port);
    s.send_all(connect_packet(0));
    s.send_all(publish_qos1(1, false) + publish_qos1(2, false) + publish_qos1(3, false));
    EXPECT_TRUE(s.wait_eof(wait_time));
  }
  {
    // SUBSCRIBE past --sub-rate: every filter refused (3.1.1: 0x80), the connection stays.
    tcp_socket s = tcp_socket::connect(port);
    std::string buffered;
    s.send_all(connect_packet(0));
    ASSERT_EQ(next_packet(s, buffered), std::string("\x20\x02\x00\x00", 4));
    s.send_all(subscribe_packet(1, "r/1") + subscribe_packet(2, "r/2"));
    std::set<std::string> subacks{next_packet(s, buffered), next_packet(s, buffered)};
    EXPECT_EQ(subacks, (std::set<std::string>{std::string("\x90\x03\x00\x01\x01", 5),
                                              std::string("\x90\x03\x00\x02\x80", 5)}));
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_rate_limited_publishes_total"), 2u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_rate_limited_subscribes_total"), 1u);
}

TEST(mqtt_bounds, keep_alive_0_is_bounded_by_the_idle_timeout) {
  server_process server(mqtt_args({"--no-auth", "--idle-timeout", "1s"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  // 5.0: told a Server Keep Alive (property 0x13) within the idle timeout.
  tcp_socket v5 = tcp_socket::connect(port);
  std::string buffered;
  v5.send_all(connect_v5_packet(0));
  const std::string connack = next_packet(v5, buffered);
  EXPECT_NE(connack.find(std::string("\x13\x00\x01", 3)), std::string::npos);
  // 3.1.1 cannot be told: a silent client is closed after the idle timeout.
  tcp_socket v311 = tcp_socket::connect(port);
  v311.send_all(connect_packet(0));
  std::string got;
  ASSERT_TRUE(v311.wait_eof(wait_time, &got)) << "a silent keep-alive 0 client stayed";
  EXPECT_EQ(got, std::string("\x20\x02\x00\x00", 4));
  EXPECT_TRUE(v5.wait_eof(wait_time));
  EXPECT_EQ(metric_sum(server.port(), "wsagent_idle_closes_total"), 1u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_keep_alive_timeouts_total"), 1u);
}

TEST(mqtt_bounds, a_3_1_1_client_past_the_receive_maximum_is_throttled_not_closed) {
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  tcp_socket s = tcp_socket::connect(mqtt_port(server));
  std::string buffered;
  s.send_all(connect_packet(0));
  ASSERT_EQ(next_packet(s, buffered), std::string("\x20\x02\x00\x00", 4));
  // 3000 QoS 1 PUBLISHes at once (more than a receive buffer), the Receive Maximum being
  // 64: the server stops reading while 64 or more are unanswered, and every one is
  // acknowledged in the end.
  std::string burst;
  for (uint16_t id = 1; id <= 3000; ++id) {
    burst += publish_qos1(id, false);
  }
  s.send_all(burst);
  std::set<uint16_t> acked;
  for (int i = 0; i < 3000; ++i) {
    const std::string ack = next_packet(s, buffered);
    ASSERT_EQ(ack.size(), 4u) << "after " << i << " PUBACKs";
    ASSERT_EQ(ack[0], '\x40');
    acked.insert(static_cast<uint16_t>(static_cast<uint8_t>(ack[2]) << 8 |
                                       static_cast<uint8_t>(ack[3])));
  }
  EXPECT_EQ(acked.size(), 3000u);
  s.send_all(std::string("\xc0\x00", 2));
  EXPECT_EQ(next_packet(s, buffered), std::string("\xd0\x00", 2));
  EXPECT_GE(metric_sum(server.port(), "wsagent_input_pauses_total"), 1u);
}

TEST(mqtt_bounds, a_second_connection_of_a_session_takes_it_over) {
  server_process server(mqtt_args());  // two shards: old and new on the same one or not
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  for (int i = 0; i < 4; ++i) {
    const std::string id = "dup" + std::to_string(i);
    std::string first_in;
    std::string second_in;
    tcp_socket first = tcp_socket::connect(port);
    first.send_all(connect_v5_packet(0, id));
    ASSERT_EQ(next_packet(first, first_in)[0], '\x20');
    tcp_socket second = tcp_socket::connect(port);
    second.send_all(connect_v5_packet(0, id));
    ASSERT_EQ(next_packet(second, second_in)[0], '\x20');
    // 5.0: DISCONNECT 0x8E "session taken over", then the close; the new one goes on.
    EXPECT_EQ(next_packet(first, first_in), std::string("\xe0\x01\x8e", 3));
    EXPECT_TRUE(first.wait_eof(wait_time));
    second.send_all(std::string("\xc0\x00", 2));
    EXPECT_EQ(next_packet(second, second_in), std::string("\xd0\x00", 2));
  }
  // 3.1.1: closed.
  tcp_socket first = tcp_socket::connect(port);
  first.send_all(connect_packet(0));
  ASSERT_EQ(read_at_least(first, 4).size(), 4u);
  tcp_socket second = tcp_socket::connect(port);
  second.send_all(connect_packet(0));
  ASSERT_EQ(read_at_least(second, 4).size(), 4u);
  EXPECT_TRUE(first.wait_eof(wait_time));
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_takeovers_total"), 5u);
}

}  // namespace
}  // namespace wsa::test
