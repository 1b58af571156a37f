// MQTT against the real server with clients nobody here wrote (docs/mqtt.md; issue 12):
// Debian's mosquitto_pub / mosquitto_sub 2.0 and python3-paho-mqtt (mqtt_paho.py), over TCP
// (--mqtt-listen) and over WebSocket (/mqtt, --mqtt-ws); the WebSocket v1 clients are the
// suite's own ws_client. QoS 0/1/2 both versions, WebSocket <-> MQTT both ways, the token's
// permissions with the codes each version has for a refusal, the will of a killed client,
// keep-alive, and a malformed packet that closes one connection and nothing else.
// Every wait is bounded; every child is killed on every path.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mqtt_support.h"
#include "redis_nodes.h"
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/server_process.h"
#include "support/tcp_socket.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

TEST(mqtt, qos_0_1_2_in_both_versions) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  ASSERT_NE(port, 0) << server.log();
  for (const char* version : {"mqttv311", "mqttv5"}) {
    SCOPED_TRACE(version);
    subscriber sub(port, {"-V", version, "-q", "1", "-t", "qos/#", "-C", "3"});
    ASSERT_TRUE(sub.ready()) << sub.process.output();
    for (const char* qos : {"0", "1", "2"}) {
      ASSERT_EQ(publish(port, {"-V", version, "-q", qos, "-t", std::string("qos/") + qos, "-m",
                               std::string("{\"qos\":") + qos + "}"}),
                0);
    }
    EXPECT_EQ(sub.process.wait_exit(wait_time), 0) << sub.process.output();
    const std::string& out = sub.process.output();
    EXPECT_NE(out.find("qos/0 {\"qos\":0}"), std::string::npos) << out;
    EXPECT_NE(out.find("qos/1 {\"qos\":1}"), std::string::npos) << out;
    EXPECT_NE(out.find("qos/2 {\"qos\":2}"), std::string::npos) << out;
  }
}

TEST(mqtt, paho_over_websocket_and_tcp) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  // A 5.0 subscriber over WebSocket at /mqtt, a 3.1.1 publisher over TCP (QoS 1 and 2).
  child_process sub({python, paho_script, "--port", std::to_string(server.port()), "--ws",
                     "--v5", "--id", "paho-ws", "--sub", "room/#:1", "--expect", "2"});
  ASSERT_TRUE(sub.wait_for("\"suback\", \"granted\": [1]", wait_time)) << sub.output();
  child_process pub({python, paho_script, "--port", std::to_string(port), "--id", "paho-tcp",
                     "--pub", "room/a:1:first", "--pub", "room:2:{\"n\":2}"});
  EXPECT_EQ(pub.wait_exit(wait_time), 0) << pub.output();
  EXPECT_EQ(sub.wait_exit(wait_time), 0) << sub.output();
  EXPECT_NE(sub.output().find("\"topic\": \"room/a\", \"payload\": \"first\", \"qos\": 1"),
            std::string::npos)
      << sub.output();
  EXPECT_NE(sub.output().find("\"topic\": \"room\", \"payload\": \"{\\\"n\\\":2}\""),
            std::string::npos)
      << sub.output();
}

TEST(mqtt, websocket_and_mqtt_reach_each_other) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);

  // MQTT -> WebSocket: the message has its seq; a JSON payload is the data as it is.
  ws_client ws = ws_client::connect(server.port());
  const json_message subbed = ws.call(R"({"op":"sub","id":"s","tags":["dev.>"]})");
  ASSERT_EQ(subbed.op(), "ok") << subbed.raw("op");
  ASSERT_EQ(publish(port, {"-q", "1", "-t", "dev/7/temp", "-m", "{\"c\":21.5}"}), 0);
  const json_message msg = ws.wait_for("msg");
  EXPECT_EQ(msg.str("/tag"), "dev.7.temp");
  EXPECT_EQ(msg.u64("/seq"), 1u);
  EXPECT_EQ(msg.raw("data"), "{\"c\":21.5}");
  // Text that is not JSON arrives as a JSON string.
  ASSERT_EQ(publish(port, {"-V", "mqttv5", "-t", "dev/7/note", "-m", "hot today"}), 0);
  EXPECT_EQ(ws.wait_for("msg").str("/data"), "hot today");

  // WebSocket -> MQTT: a JSON string arrives as its text, other JSON as it is.
  subscriber sub(port, {"-q", "1", "-t", "cmd/+", "-C", "2"});
  ASSERT_TRUE(sub.ready()) << sub.process.output();
  ASSERT_EQ(ws.call(R"({"op":"pub","id":"p1","tag":"cmd.7","data":"reboot"})").op(), "ok");
  ASSERT_EQ(ws.call(R"({"op":"pub","id":"p2","tag":"cmd.8","data":{"at":5}})").op(), "ok");
  EXPECT_EQ(sub.process.wait_exit(wait_time), 0) << sub.process.output();
  EXPECT_NE(sub.process.output().find("cmd/7 reboot"), std::string::npos)
      << sub.process.output();
  EXPECT_NE(sub.process.output().find("cmd/8 {\"at\":5}"), std::string::npos)
      << sub.process.output();
}

// Tokens from the binary's own `wsagent token` with an HS256 secret.
class mqtt_auth : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wsa-mqtt-" + std::to_string(getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    secret_ = (dir_ / "secret").string();
    std::ofstream(secret_) << "an MQTT test secret of enough length";
    chmod(secret_.c_str(), 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string token(std::vector<std::string> claims) {
    child_process tool(with({WSAGENT_BINARY, "token", "--hmac-secret-file", secret_, "--ttl",
                             "1h"},
                            std::move(claims)));
    EXPECT_EQ(tool.wait_exit(wait_time), 0) << tool.output();
    std::string out = tool.output();
    const std::size_t end = out.find('\n');
    return out.substr(0, end);
  }

  std::filesystem::path dir_;
  std::string secret_;
};

TEST_F(mqtt_auth, refusals_have_each_versions_codes) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args({"--hmac-secret-file", secret_}));
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  const std::string device =
      token({"--sub", "dev1", "--pub", "dev.>", "--subscribe", "cmd", "--subscribe", "cmd.>"});

  auto run = [&](std::vector<std::string> options) {
    auto p = std::make_unique<child_process>(
        with({mosquitto_pub, "-h", "127.0.0.1", "-p", std::to_string(port)}, std::move(options)));
    p->wait_exit(wait_time);
    return p;
  };
  // A bad or missing token: CONNACK 5 (3.1.1) / 0x87 (5.0); mosquitto_pub exits with it.
  {
    child_process p({mosquitto_pub, "-p", std::to_string(port), "-u", "x", "-P", "bad", "-t",
                     "dev/1", "-m", "x"});
    EXPECT_EQ(p.wait_exit(wait_time), 5) << p.output();
  }
  {
    child_process p({mosquitto_pub, "-p", std::to_string(port), "-V", "mqttv5", "-t", "dev/1",
                     "-m", "x"});
    EXPECT_EQ(p.wait_exit(wait_time), 135) << p.output();
  }
  // Allowed.
  EXPECT_EQ(publish(port, {"-u", "x", "-P", device, "-q", "1", "-t", "dev/1", "-m", "ok"}), 0);
  // A PUBLISH outside perm.pub: 5.0 QoS 1 gets PUBACK 0x87 and stays connected...
  {
    auto p = run({"-V", "mqttv5", "-P", device, "-q", "1", "-t", "other/1", "-m", "x", "-d"});
    EXPECT_NE(p->output().find("received PUBACK (Mid: 1, RC:135)"), std::string::npos)
        << p->output();
  }
  // ...3.1.1 has no way to say it but closing.
  {
    child_process p({mosquitto_pub, "-p", std::to_string(port), "-u", "x", "-P", device, "-q",
                     "1", "-t", "other/1", "-m", "x"});
    EXPECT_NE(p.wait_exit(wait_time), 0) << p.output();
  }
  // SUBSCRIBE: each filter answered on its own (3.1.1: 0x80, 5.0: 0x87 for a refusal).
  for (const char* version : {"mqttv311", "mqttv5"}) {
    child_process sub({mosquitto_sub, "-p", std::to_string(port), "-V", version, "-u", "x", "-P",
                       device, "-t", "other/#", "-t", "cmd/#", "-d", "-W", "1"});
    ASSERT_TRUE(sub.wait_for("Subscribed", wait_time)) << sub.output();
    const bool v5 = std::string(version) == "mqttv5";
    sub.wait_for("\n", 1s);
    EXPECT_NE(sub.output().find(v5 ? "Subscribed (mid: 1): 135, 0" : "Subscribed (mid: 1): 128, 0"),
              std::string::npos)
        << sub.output();
  }
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_connect_refusals_total"), 2u);
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_publish_refusals_total"), 2u);
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_subscribe_refusals_total"), 2u);
}

TEST_F(mqtt_auth, an_expired_token_ends_the_session_with_not_authorized) {
  ASSERT_TRUE(have_clients());
  server_process server(
      mqtt_args({"--hmac-secret-file", secret_, "--token-leeway", "0"}));
  ASSERT_TRUE(server.start());
  child_process tool({WSAGENT_BINARY, "token", "--hmac-secret-file", secret_, "--sub", "brief",
                      "--subscribe", ">", "--ttl", "2s"});
  ASSERT_EQ(tool.wait_exit(wait_time), 0) << tool.output();
  const std::string brief = tool.output().substr(0, tool.output().find('\n'));
  // (mosquitto_sub prints the server's DISCONNECT reason; paho 1.6 reads none from a
  // DISCONNECT without properties, which MQTT 5.0 section 3.14.2.2.1 allows.)
  subscriber sub(mqtt_port(server), {"-V", "mqttv5", "-P", brief, "-t", "x/#"});
  ASSERT_TRUE(sub.ready()) << sub.process.output();
  // DISCONNECT 0x87 once exp has passed (the sweep runs once a second).
  EXPECT_TRUE(sub.process.wait_for("Received DISCONNECT (135)", wait_time))
      << sub.process.output();
  EXPECT_GE(metric_sum(server.port(), "wsagent_token_expiries_total"), 1u);
}

TEST(mqtt, draining_tells_5_0_clients_server_shutting_down) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  subscriber sub(mqtt_port(server), {"-V", "mqttv5", "-t", "x/#"});
  ASSERT_TRUE(sub.ready()) << sub.process.output();
  EXPECT_EQ(server.stop(), 0);
  EXPECT_TRUE(sub.process.wait_for("Received DISCONNECT (139)", wait_time))
      << sub.process.output();
}

TEST(mqtt, will_of_a_killed_client_and_not_of_a_clean_one) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  subscriber watcher(port, {"-t", "status/#", "-q", "1"});
  ASSERT_TRUE(watcher.ready()) << watcher.process.output();

  // A clean DISCONNECT discards the will: the marker published after it comes first.
  ASSERT_EQ(publish(port, {"-t", "status/x", "-m", "data", "--will-topic", "status/clean",
                           "--will-payload", "gone-clean"}),
            0);
  ASSERT_EQ(publish(port, {"-t", "status/marker", "-m", "after-clean"}), 0);
  ASSERT_TRUE(watcher.process.wait_for("status/marker after-clean", wait_time))
      << watcher.process.output();

  // A killed client's will is published.
  subscriber device(port, {"-t", "idle/topic", "-i", "dev-9", "--will-topic", "status/dev-9",
                           "--will-payload", "offline", "--will-qos", "1"});
  ASSERT_TRUE(device.ready()) << device.process.output();
  device.process.kill_now();
  ASSERT_TRUE(watcher.process.wait_for("status/dev-9 offline", wait_time))
      << watcher.process.output();
  EXPECT_EQ(watcher.process.output().find("gone-clean"), std::string::npos)
      << watcher.process.output();
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_wills_total"), 1u);
}

TEST(mqtt, keep_alive_closes_a_silent_client) {
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  tcp_socket s = tcp_socket::connect(mqtt_port(server));
  s.send_all(connect_packet(1));
  std::string got;
  ASSERT_TRUE(s.wait_eof(10s, &got)) << "still open after 10 s of silence (keep-alive 1 s)";
  EXPECT_EQ(got.substr(0, 4), std::string("\x20\x02\x00\x00", 4)) << "CONNACK first";
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_keep_alive_timeouts_total"), 1u);
}

TEST(mqtt, malformed_packet_closes_that_connection_only) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args());
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  subscriber bystander(port, {"-t", "b/#", "-C", "1"});
  ASSERT_TRUE(bystander.ready()) << bystander.process.output();

  tcp_socket s = tcp_socket::connect(port);
  s.send_all(connect_packet(0));
  // PUBLISH with QoS 3 (flags 0110): malformed ([MQTT-3.3.1-4]); 3.1.1 can only close.
  s.send_all(std::string("\x36\x05\x00\x01x\x00\x01", 7));
  std::string got;
  ASSERT_TRUE(s.wait_eof(wait_time, &got));
  // A first packet that is not CONNECT is closed too.
  tcp_socket t = tcp_socket::connect(port);
  t.send_all(std::string("\xc0\x00", 2));  // PINGREQ
  ASSERT_TRUE(t.wait_eof(wait_time));
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_protocol_errors_total"), 2u);

  ASSERT_EQ(publish(port, {"-t", "b/c", "-m", "still here"}), 0);
  EXPECT_EQ(bystander.process.wait_exit(wait_time), 0) << bystander.process.output();
  EXPECT_NE(bystander.process.output().find("b/c still here"), std::string::npos);
}

TEST(mqtt, bounds_packet_size_subscriptions_and_unacknowledged_deliveries) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args({"--no-auth", "--mqtt-max-packet-bytes", "1k",
                                   "--mqtt-max-subscriptions", "2", "--mqtt-max-inflight", "4",
                                   "--mqtt-max-queued", "8"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);

  // A packet over --mqtt-max-packet-bytes is refused from its fixed header: closed.
  {
    tcp_socket s = tcp_socket::connect(port);
    s.send_all(connect_packet(0));
    ASSERT_EQ(read_at_least(s, 4).size(), 4u);
    s.try_send_all(std::string("\x30\xd0\x0f", 3));  // PUBLISH of 2000 bytes announced
    EXPECT_TRUE(s.wait_eof(wait_time));
  }
  // The third topic filter of a session is refused (SUBACK 0x80), the session goes on.
  {
    subscriber sub(port, {"-t", "f/1", "-t", "f/2", "-t", "f/3", "-W", "2"});
    ASSERT_TRUE(sub.ready()) << sub.process.output();
    ASSERT_TRUE(sub.process.wait_for("Subscribed (mid: 1): 0, 0, 128", wait_time))
        << sub.process.output();
  }
  // A subscriber that never sends PUBACK gets 4 in flight, 8 queued, then it is closed as a
  // slow consumer; the server goes on.
  tcp_socket s = tcp_socket::connect(port);
  s.send_all(connect_packet(0));
  ASSERT_EQ(read_at_least(s, 4).size(), 4u);
  s.send_all(subscribe_packet(1, "flood"));
  ASSERT_EQ(read_at_least(s, 5), std::string("\x90\x03\x00\x01\x01", 5));
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(publish(port, {"-q", "1", "-t", "flood", "-m", std::to_string(i)}), 0);
  }
  std::string got;
  EXPECT_TRUE(s.wait_eof(wait_time, &got));
  std::size_t publishes = 0;
  for (std::size_t at = 0; at < got.size();) {  // count the PUBLISH packets received
    publishes += (static_cast<uint8_t>(got[at]) >> 4) == 3 ? 1 : 0;
    at += 2 + static_cast<uint8_t>(got[at + 1]);
  }
  EXPECT_EQ(publishes, 4u) << "the in-flight window";
  EXPECT_GE(metric_sum(server.port(), "wsagent_slow_consumer_closes_total"), 1u);
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_protocol_errors_total"), 1u);
  EXPECT_GE(metric_sum(server.port(), "wsagent_mqtt_subscribe_refusals_total"), 1u);
  ASSERT_EQ(publish(port, {"-q", "1", "-t", "after", "-m", "fine"}), 0);
}

TEST(mqtt, two_nodes_on_redis_share_tags_with_mqtt_and_websocket) {
  ASSERT_TRUE(have_clients());
  redis_process redis({.password = "mqtt-test-password"});
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a", {"--mqtt-listen", "127.0.0.1:0"}));
  server_process b(redis_node_args(redis, "node-b", {"--mqtt-listen", "127.0.0.1:0"}));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  // An MQTT subscriber and a WebSocket subscriber on node B; an MQTT publisher on node A.
  subscriber sub(mqtt_port(b), {"-q", "1", "-t", "plant/+/temp", "-C", "2"});
  ASSERT_TRUE(sub.ready()) << sub.process.output();
  ws_client ws = ws_client::connect(b.port());
  ASSERT_EQ(ws.call(R"({"op":"sub","id":"s","tags":["plant.*.temp"]})").op(), "ok");
  ASSERT_EQ(publish(mqtt_port(a), {"-q", "1", "-t", "plant/1/temp", "-m", "{\"c\":30}"}), 0);
  // A WebSocket publisher on node A reaches the MQTT subscriber on node B.
  ws_client wa = ws_client::connect(a.port());
  EXPECT_EQ(publish_ok(wa, "plant.2.temp", 1, "\"warm\""), 1u);
  EXPECT_EQ(sub.process.wait_exit(wait_time), 0) << sub.process.output();
  EXPECT_NE(sub.process.output().find("plant/1/temp {\"c\":30}"), std::string::npos)
      << sub.process.output();
  EXPECT_NE(sub.process.output().find("plant/2/temp warm"), std::string::npos)
      << sub.process.output();
  const json_message msg = ws.wait_for("msg");
  EXPECT_EQ(msg.str("/tag"), "plant.1.temp");
  EXPECT_EQ(msg.u64("/seq"), 1u);
}

TEST(mqtt, gauge_connect_timeout_and_deliveries_over_the_clients_maximum_packet_size) {
  ASSERT_TRUE(have_clients());
  server_process server(mqtt_args({"--no-auth", "--auth-timeout", "300ms"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = mqtt_port(server);
  // No CONNECT in time: closed.
  tcp_socket silent = tcp_socket::connect(port);
  EXPECT_TRUE(silent.wait_eof(wait_time));
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_connect_timeouts_total"), 1u);
  // A 5.0 client that takes packets of at most 40 bytes gets the short message only; the
  // long one is dropped as MQTT says ([MQTT-3.1.2-25]) and counted.
  subscriber small(port, {"-V", "mqttv5", "-t", "m/#", "-C", "1", "-D", "connect",
                          "maximum-packet-size", "40"});
  ASSERT_TRUE(small.ready()) << small.process.output();
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_connections"), 1u);
  ASSERT_EQ(publish(port, {"-t", "m/long", "-m", std::string(100, 'x')}), 0);
  ASSERT_EQ(publish(port, {"-t", "m/short", "-m", "ok"}), 0);
  EXPECT_EQ(small.process.wait_exit(wait_time), 0) << small.process.output();
  EXPECT_NE(small.process.output().find("m/short ok"), std::string::npos);
  EXPECT_EQ(small.process.output().find("m/long"), std::string::npos);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_deliveries_dropped_total"), 1u);
  // Everyone gone: the gauge is back to zero (the server may take a moment to see them go).
  for (int i = 0; i < 200 && metric_sum(server.port(), "wsagent_mqtt_connections") != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_mqtt_connections"), 0u);
}

TEST(mqtt, off_unless_configured) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  EXPECT_EQ(mqtt_port(server), 0);
  // /mqtt is no endpoint without --mqtt-ws.
  EXPECT_EQ(http_get(server.port(), "/mqtt").status, 404);
}

}  // namespace
}  // namespace wsa::test
