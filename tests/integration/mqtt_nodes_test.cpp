// Persistent MQTT sessions across the nodes of a cluster (docs/mqtt.md "Sessions across
// nodes"): two nodes on one test-owned redis-server keep sessions in Redis. A device
// (mosquitto_sub's own -c -i ID, 3.1.1 and 5.0) that leaves node A and comes back on node B
// gets what was published while it was away (over MQTT and WebSocket), once and in order;
// a connection on B takes over the session live on A, which hands its state over (or, when
// A is frozen, B goes on from what Redis holds after a bounded wait); the session's expiry
// is Redis' TTL; without Redis a CONNECT is refused, never answered with a fresh session.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include "integration/redis_nodes.h"
#include "mqtt_support.h"

namespace wsa::test {
namespace {

class mqtt_nodes : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(have_clients());
    ASSERT_TRUE(redis_.start());
    a_ = std::make_unique<server_process>(
        redis_node_args(redis_, "node-a", {"--mqtt-listen", "127.0.0.1:0"}));
    b_ = std::make_unique<server_process>(
        redis_node_args(redis_, "node-b", {"--mqtt-listen", "127.0.0.1:0"}));
    ASSERT_TRUE(start_redis_node(*a_));
    ASSERT_TRUE(start_redis_node(*b_));
  }

  redis_process redis_{{.password = "mqtt-nodes-password"}};
  std::unique_ptr<server_process> a_;
  std::unique_ptr<server_process> b_;
};

std::vector<std::string> session_of(const std::string& version, const std::string& id,
                                    const std::string& topic, const std::string& expiry = "600") {
  std::vector<std::string> s{"-V", version == "5" ? "mqttv5" : "mqttv311", "-c", "-i", id,
                             "-t", topic};
  if (version == "5") {
    s.insert(s.end(), {"-x", expiry});
  }
  return s;
}

TEST_F(mqtt_nodes, a_session_left_on_one_node_resumes_on_the_other) {
  ws_client ws = ws_client::connect(a_->port());
  uint64_t id = 0;
  for (const std::string version : {"31", "5"}) {
    const std::string topic = "n" + version + "/t";
    const std::vector<std::string> session = session_of(version, "dev-" + version, topic);
    {  // On node A: subscribed, one message received and acknowledged.
      subscriber first(mqtt_port(*a_), with(session, {"-q", "1", "-C", "1"}));
      ASSERT_TRUE(first.ready()) << first.process.output();
      ASSERT_EQ(publish(mqtt_port(*a_), {"-q", "1", "-t", topic, "-m", "one"}), 0);
      ASSERT_EQ(first.process.wait_exit(wait_time), 0) << first.process.output();
    }
    // Away: over MQTT on B, over WebSocket on A, over MQTT on A.
    ASSERT_EQ(publish(mqtt_port(*b_), {"-q", "1", "-t", topic, "-m", "two"}), 0);
    publish_ok(ws, "n" + version + ".t", ++id, "\"three\"");
    ASSERT_EQ(publish(mqtt_port(*a_), {"-q", "1", "-t", topic, "-m", "four"}), 0);
    // Back, on node B: exactly those, once, in order. (mosquitto_sub -C N leaves as soon as
    // the Nth comes, before the server has its PUBACK: waiting for a 4th until -W lets the
    // last one be acknowledged, so that nothing is due again.)
    int status = 0;
    EXPECT_EQ(receive(mqtt_port(*b_), session, 4, &status, 2),
              topic + " two\n" + topic + " three\n" + topic + " four\nTimed out\n");
    // And on A again: nothing more (B's acknowledgements moved the session on).
    ASSERT_EQ(publish(mqtt_port(*b_), {"-q", "1", "-t", topic, "-m", "five"}), 0);
    EXPECT_EQ(receive(mqtt_port(*a_), session, 1), topic + " five\n");
  }
  EXPECT_EQ(metric_sum(b_->port(), "wsagent_mqtt_sessions_resumed_total"), 2u);
  EXPECT_EQ(metric_sum(a_->port(), "wsagent_mqtt_sessions_resumed_total"), 2u);
  EXPECT_EQ(metric_sum(a_->port(), "wsagent_mqtt_resume_gaps_total") +
                metric_sum(b_->port(), "wsagent_mqtt_resume_gaps_total"),
            0u);
  EXPECT_EQ(metric_sum(a_->port(), "wsagent_mqtt_session_store_errors_total") +
                metric_sum(b_->port(), "wsagent_mqtt_session_store_errors_total"),
            0u);
}

TEST_F(mqtt_nodes, a_connection_on_another_node_takes_the_session_over_with_its_state) {
  for (const std::string version : {"31", "5"}) {
    const std::string id = "taken-" + version;
    const std::string topic = "to" + version + "/t";
    // Live on A, subscribed to t, with one message acknowledged; never detached, so Redis
    // holds nothing of it but its holder.
    raw_device old(mqtt_port(*a_), id, version == "5", {topic});
    ASSERT_EQ(publish(mqtt_port(*b_), {"-q", "1", "-t", topic, "-m", "m1"}), 0);
    ASSERT_EQ(old.receive(), "m1");
    // On B, subscribing to another topic only: the subscription to t comes from A's state.
    subscriber now(mqtt_port(*b_), with(session_of(version, id, "to" + version + "/other"),
                                        {"-q", "1", "-C", "1"}));
    ASSERT_TRUE(now.ready()) << now.process.output();
    // The old connection was closed (5.0: DISCONNECT 0x8E session taken over first).
    if (version == "5") {
      EXPECT_EQ(next_packet(old.s, old.buffered), std::string("\xe0\x01\x8e", 3));
    }
    EXPECT_TRUE(old.s.wait_eof(wait_time));
    ASSERT_EQ(publish(mqtt_port(*a_), {"-q", "1", "-t", topic, "-m", "m2"}), 0);
    EXPECT_EQ(now.process.wait_exit(wait_time), 0) << now.process.output();
    EXPECT_NE(now.process.output().find(topic + " m2"), std::string::npos)
        << now.process.output();
    EXPECT_EQ(now.process.output().find(topic + " m1"), std::string::npos)
        << now.process.output();
  }
  EXPECT_EQ(metric_sum(a_->port(), "wsagent_mqtt_takeovers_total"), 2u);
  EXPECT_EQ(metric_sum(b_->port(), "wsagent_mqtt_handoffs_total"), 2u);
  EXPECT_EQ(metric_sum(b_->port(), "wsagent_mqtt_handoff_timeouts_total"), 0u);
}

TEST_F(mqtt_nodes, a_frozen_node_is_given_up_after_a_bounded_wait) {
  // A stored session (detached once), then live on A when A freezes.
  const std::vector<std::string> session = session_of("5", "frozen", "fz/t");
  {
    subscriber first(mqtt_port(*a_), with(session, {"-q", "1", "-C", "1"}));
    ASSERT_TRUE(first.ready()) << first.process.output();
    ASSERT_EQ(publish(mqtt_port(*b_), {"-q", "1", "-t", "fz/t", "-m", "m1"}), 0);
    ASSERT_EQ(first.process.wait_exit(wait_time), 0) << first.process.output();
  }
  // A has seen it leave (m1 acknowledged) before the next connection: else that one's claim
  // may take the session over while m1's PUBACK still waits in A's socket, and m1 is then
  // rightly due again (at least once), before m2.
  bool detached = false;
  for (int i = 0; i < 500 && !detached; ++i) {
    detached = redis_.command({"HEXISTS", "wsa:{ s:frozen}", "h"}) == ":0";
    if (!detached) {
      std::this_thread::sleep_for(10ms);
    }
  }
  ASSERT_TRUE(detached);
  raw_device live(mqtt_port(*a_), "frozen", true, {"fz/t"});
  ASSERT_EQ(publish(mqtt_port(*b_), {"-q", "1", "-t", "fz/t", "-m", "m2"}), 0);
  ASSERT_EQ(live.receive(), "m2");
  a_->signal(SIGSTOP);
  // B asks A to hand over, waits its bound, then resumes from Redis' state (after m1): m2
  // again (at least once), then m3.
  subscriber now(mqtt_port(*b_), with(session, {"-q", "1", "-C", "2"}));
  ASSERT_TRUE(now.ready()) << now.process.output();
  ASSERT_EQ(publish(mqtt_port(*b_), {"-q", "1", "-t", "fz/t", "-m", "m3"}), 0);
  EXPECT_EQ(now.process.wait_exit(wait_time), 0) << now.process.output();
  a_->signal(SIGCONT);
  const std::string& out = now.process.output();
  ASSERT_NE(out.find("fz/t m2\n"), std::string::npos) << out;
  EXPECT_LT(out.find("fz/t m2\n"), out.find("fz/t m3\n")) << out;
  EXPECT_EQ(metric_sum(b_->port(), "wsagent_mqtt_handoff_timeouts_total"), 1u);
  // A closes its connection once it runs again (the takeover request waited in its socket).
  // (m3 may come first: A's subscription was still there when it was published.)
  std::string packet = next_packet(live.s, live.buffered);
  if (!packet.empty() && (static_cast<uint8_t>(packet[0]) >> 4) == 3) {
    packet = next_packet(live.s, live.buffered);
  }
  EXPECT_EQ(packet, std::string("\xe0\x01\x8e", 3));
  EXPECT_TRUE(live.s.wait_eof(wait_time));
}

TEST_F(mqtt_nodes, the_session_expiry_is_the_keys_ttl_in_redis) {
  {
    subscriber kept(mqtt_port(*a_), with(session_of("5", "brief", "ex/t", "2"), {"-C", "1"}));
    ASSERT_TRUE(kept.ready()) << kept.process.output();
    ASSERT_EQ(publish(mqtt_port(*a_), {"-q", "1", "-t", "ex/t", "-m", "m1"}), 0);
    ASSERT_EQ(kept.process.wait_exit(wait_time), 0) << kept.process.output();
  }
  // Written back when the server has seen the connection end (a moment after the client).
  long ms = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string ttl = redis_.command({"PTTL", "wsa:{ s:brief}"});
    ASSERT_EQ(ttl.front(), ':') << ttl;
    ms = std::stol(ttl.substr(1));
    if (ms <= 2000) {
      break;
    }
    usleep(10 * 1000);
  }
  EXPECT_GT(ms, 0);
  EXPECT_LE(ms, 2000);
  usleep(2300 * 1000);
  EXPECT_EQ(redis_.command({"EXISTS", "wsa:{ s:brief}"}), ":0");
  // Expired: on B a fresh session, which gets nothing of what was published meanwhile.
  ASSERT_EQ(publish(mqtt_port(*a_), {"-q", "1", "-t", "ex/t", "-m", "m2"}), 0);
  int status = 0;
  const std::string out = receive(mqtt_port(*b_), session_of("5", "brief", "ex/t", "2"), 1,
                                  &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_EQ(out.find("m2"), std::string::npos) << out;
}

TEST_F(mqtt_nodes, without_redis_a_connect_is_refused_not_answered_with_a_fresh_session) {
  // A node that waits at most 1 s for a CONNECT's session (--auth-timeout), less than Redis'
  // reply timeout (3 s).
  server_process c(redis_node_args(redis_, "node-c",
                                   {"--mqtt-listen", "127.0.0.1:0", "--auth-timeout", "1s"}));
  ASSERT_TRUE(start_redis_node(c));
  // Redis frozen: the claim has no answer. Past --auth-timeout (node C), or once Redis' reply
  // timeout drops the link (node A, --auth-timeout 5 s), the CONNECT is refused as "server
  // unavailable", never answered with a session that is not the device's.
  redis_.pause();
  int status = 0;
  const std::string waited = receive(mqtt_port(c), session_of("5", "away", "w/t"), 1, &status);
  EXPECT_NE(waited.find("Server unavailable"), std::string::npos) << status << " " << waited;
  const std::string paused = receive(mqtt_port(*a_), session_of("31", "away", "w/t"), 1,
                                     &status, 8);
  EXPECT_NE(paused.find("Connection Refused: broker unavailable"), std::string::npos)
      << status << " " << paused;
  redis_.resume();
  EXPECT_EQ(metric_sum(c.port(), "wsagent_mqtt_resume_timeouts_total"), 1u);
  // Redis gone: refused at once.
  redis_.kill();
  const std::string gone = receive(mqtt_port(*b_), session_of("5", "away5", "w/t"), 1,
                                   &status);
  EXPECT_NE(gone.find("Server unavailable"), std::string::npos) << status << " " << gone;
  EXPECT_GE(metric_sum(a_->port(), "wsagent_mqtt_session_store_errors_total"), 1u);
  EXPECT_GE(metric_sum(b_->port(), "wsagent_mqtt_session_store_errors_total"), 1u);
}

// A connection that outlives its session record's TTL in Redis (7 days; here 1.5 s through
// WSA_TEST_MQTT_HELD_TTL_MS) renews it: later, a takeover from the other node still finds
// the holder, closes it and resumes its state (the record had expired, and with it the
// session: the old connection stayed open beside a fresh session without its subscription).
TEST(mqtt_nodes_held, a_held_session_outlives_its_ttl_in_redis) {
  ASSERT_TRUE(have_clients());
  redis_process redis;
  ASSERT_TRUE(redis.start());
  ::setenv("WSA_TEST_MQTT_HELD_TTL_MS", "1500", 1);
  server_process a(redis_node_args(redis, "node-a", {"--mqtt-listen", "127.0.0.1:0"}));
  server_process b(redis_node_args(redis, "node-b", {"--mqtt-listen", "127.0.0.1:0"}));
  const bool started = start_redis_node(a) && start_redis_node(b);
  ::unsetenv("WSA_TEST_MQTT_HELD_TTL_MS");
  ASSERT_TRUE(started);
  raw_device live(mqtt_port(a), "held", true, {"ht/t"});
  ASSERT_TRUE(live.accepted());
  ASSERT_EQ(publish(mqtt_port(b), {"-q", "1", "-t", "ht/t", "-m", "m1"}), 0);
  ASSERT_EQ(live.receive(), "m1");
  usleep(2500 * 1000);  // past the TTL the claim set
  EXPECT_EQ(redis.command({"EXISTS", "wsa:{ s:held}"}), ":1");
  EXPECT_GE(metric_sum(a.port(), "wsagent_mqtt_session_refreshes_total"), 2u);
  // Taken over from B, subscribing to another topic: ht/t comes from A's handed state.
  subscriber now(mqtt_port(b), with(session_of("5", "held", "ht/other"), {"-q", "1", "-C", "1"}));
  ASSERT_TRUE(now.ready()) << now.process.output();
  EXPECT_EQ(next_packet(live.s, live.buffered), std::string("\xe0\x01\x8e", 3));
  EXPECT_TRUE(live.s.wait_eof(wait_time));
  ASSERT_EQ(publish(mqtt_port(a), {"-q", "1", "-t", "ht/t", "-m", "m2"}), 0);
  EXPECT_EQ(now.process.wait_exit(wait_time), 0) << now.process.output();
  EXPECT_NE(now.process.output().find("ht/t m2"), std::string::npos) << now.process.output();
  EXPECT_EQ(metric_sum(b.port(), "wsagent_mqtt_handoffs_total"), 1u);
  // Released at its end: the takeover's node renews its own holder, not the old one.
  EXPECT_EQ(metric_sum(a.port(), "wsagent_mqtt_session_store_errors_total") +
                metric_sum(b.port(), "wsagent_mqtt_session_store_errors_total"),
            0u);
}

}  // namespace
}  // namespace wsa::test
