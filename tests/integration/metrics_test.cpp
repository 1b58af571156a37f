// /metrics driven for real (issue 14): every counter and gauge the server exposes is moved by
// the event it counts, by exactly as much where the test controls it, and the gauges come
// back to zero once the clients are gone. One node with the embedded broker and auth on
// (refusals, errors, slow consumers, expiries), one on Redis (broker counters through an
// outage). A family the server exposes that no test drives (here, or the test of its limit
// named in driven_elsewhere) fails the last test.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/redis_nodes.h"
#include "support/hs256_token.h"
#include "support/metrics_reader.h"
#include "support/scratch_dir.h"

namespace wsa::test {
namespace {

const std::string secret = "metrics-test secret, comfortably longer than 32 bytes";

// Families checked by the tests below, by name.
const std::set<std::string> embedded_families = {
    "wsagent_ready",
    "wsagent_connections",
    "wsagent_websockets",
    "wsagent_connections_accepted_total",
    "wsagent_connections_refused_total",
    "wsagent_handshake_failures_total",
    "wsagent_messages_in_total",
    "wsagent_messages_out_total",
    "wsagent_publishes_total",
    "wsagent_deliveries_total",
    "wsagent_bytes_in_total",
    "wsagent_bytes_out_total",
    "wsagent_slow_consumer_closes_total",
    "wsagent_protocol_errors_total",
    "wsagent_command_errors_total",
    "wsagent_auth_failures_total",
    "wsagent_token_expiries_total",
    "wsagent_subscriptions",
    "wsagent_tags_owned",
    "wsagent_http_requests_total",
    "wsagent_mailbox_overflows_total",
    "wsagent_history_messages",
    "wsagent_history_bytes",
};
const std::set<std::string> redis_families = {
    "wsagent_redis_commands_total",
    "wsagent_redis_sent_bytes_total",
    "wsagent_redis_received_bytes_total",
    "wsagent_broker_pending",
    "wsagent_broker_errors_total",
    "wsagent_broker_reconnects_total",
    "wsagent_broker_latency_seconds_sum",
    "wsagent_broker_latency_seconds_count",
    "wsagent_gap_notices_total",
    "wsagent_redis_command_seconds_bucket",
    "wsagent_redis_command_seconds_sum",
    "wsagent_redis_command_seconds_count",
    "wsagent_broker_publish_seconds_bucket",
    "wsagent_broker_publish_seconds_sum",
    "wsagent_broker_publish_seconds_count",
};
// Families of limits, each asserted by the test of its limit (file named here).
const std::map<std::string, std::string> driven_elsewhere = {
    {"wsagent_mqtt_connections", "mqtt_test.cpp"},
    {"wsagent_mqtt_connect_refusals_total", "mqtt_test.cpp"},
    {"wsagent_mqtt_connect_timeouts_total", "mqtt_test.cpp"},
    {"wsagent_mqtt_protocol_errors_total", "mqtt_test.cpp"},
    {"wsagent_mqtt_keep_alive_timeouts_total", "mqtt_test.cpp"},
    {"wsagent_mqtt_wills_total", "mqtt_test.cpp"},
    {"wsagent_mqtt_publish_refusals_total", "mqtt_test.cpp"},
    {"wsagent_mqtt_subscribe_refusals_total", "mqtt_test.cpp"},
    {"wsagent_mqtt_deliveries_dropped_total", "mqtt_test.cpp"},
    {"wsagent_mqtt_messages_expired_total", "mqtt_meta_test.cpp"},
    {"wsagent_mqtt_takeovers_total", "mqtt_bounds_test.cpp"},
    {"wsagent_mqtt_retained_messages", "mqtt_retained_test.cpp"},
    {"wsagent_mqtt_retained_bytes", "mqtt_retained_test.cpp"},
    {"wsagent_mqtt_retained_refusals_total", "mqtt_retained_test.cpp"},
    {"wsagent_mqtt_subscribe_oversized_total", "mqtt_abuse_test.cpp"},
    {"wsagent_mqtt_retained_cut_total", "mqtt_abuse_test.cpp"},
    {"wsagent_mqtt_retained_loads_total", "mqtt_redis_modes_test.cpp"},
    {"wsagent_mqtt_retained_reloads_total", "redis_retained_test.cpp (unit)"},
    {"wsagent_mqtt_sessions", "mqtt_session_test.cpp"},
    {"wsagent_mqtt_sessions_resumed_total", "mqtt_session_test.cpp"},
    {"wsagent_mqtt_sessions_expired_total", "mqtt_session_test.cpp"},
    {"wsagent_mqtt_resume_gaps_total", "mqtt_session_test.cpp"},
    {"wsagent_mqtt_session_store_errors_total", "mqtt_nodes_test.cpp"},
    {"wsagent_mqtt_handoffs_total", "mqtt_nodes_test.cpp"},
    {"wsagent_mqtt_handoff_timeouts_total", "mqtt_nodes_test.cpp"},
    {"wsagent_mqtt_resume_timeouts_total", "mqtt_nodes_test.cpp"},
    {"wsagent_mqtt_session_bytes", "mqtt_session_test.cpp"},
    {"wsagent_mqtt_session_bytes_refusals_total", "mqtt_session_test.cpp"},
    {"wsagent_mqtt_positions_forgotten_total", "mqtt_wildcard_resume_test.cpp"},
    {"wsagent_mqtt_positions_released_total", "mqtt_wildcard_resume_test.cpp"},
    {"wsagent_mqtt_session_refreshes_total", "mqtt_nodes_test.cpp"},
    {"wsagent_mqtt_session_bytes_dropped_total", "mqtt_session_test.cpp"},
    {"wsagent_accept_errors_total", "fd_limit_test.cpp"},
    {"wsagent_accept_paused", "fd_limit_test.cpp"},
    {"wsagent_auth_timeouts_total", "auth_test.cpp"},
    {"wsagent_idle_closes_total", "websocket_test.cpp"},
    {"wsagent_tags_forgotten_total", "history_bounds_test.cpp"},
    {"wsagent_history_evictions_total", "history_bounds_test.cpp"},
    {"wsagent_history_expired_total", "history_bounds_test.cpp"},
    {"wsagent_redis_pattern_subscriptions", "redis_bounds_test.cpp"},
    {"wsagent_redis_patterns_coalesced", "redis_bounds_test.cpp"},
    {"wsagent_input_pauses_total", "abuse_output_test.cpp"},
    {"wsagent_connections_paused", "abuse_output_test.cpp"},
    {"wsagent_pongs_replaced_total", "abuse_output_test.cpp"},
    {"wsagent_stash_overflow_closes_total", "abuse_output_test.cpp"},
    {"wsagent_loop_turns_total", "send_turns_test.cpp"},
    {"wsagent_sends_total", "send_turns_test.cpp"},
    {"wsagent_send_turns_split_total", "send_turns_test.cpp"},
    {"wsagent_frames", "hardening_fixes_test.cpp"},
    {"wsagent_frame_bytes", "hardening_fixes_test.cpp"},
    {"wsagent_rate_limited_publishes_total", "abuse_input_test.cpp"},
    {"wsagent_rate_limited_subscribes_total", "abuse_input_test.cpp"},
    {"wsagent_rate_limited_auths_total", "auth_test.cpp"},
    {"wsagent_invalid_frame_closes_total", "abuse_frames_test.cpp"},
    {"wsagent_auth_reused_total", "auth_test.cpp"},
    {"wsagent_tag_limit_refusals_total", "abuse_input_test.cpp"},
    {"wsagent_recoveries_refused_total", "abuse_input_test.cpp"},
    {"wsagent_replays_truncated_total", "abuse_input_test.cpp"},
    {"wsagent_shard_backlog_bytes", "abuse_queues_test.cpp"},
    {"wsagent_shard_backlog_refusals_total", "abuse_queues_test.cpp"},
    {"wsagent_broker_backlog_refusals_total", "abuse_redis_test.cpp"},
    {"wsagent_redis_oversized_replies_total", "abuse_redis_test.cpp"},
    {"wsagent_broker_oversized_total", "abuse_redis_test.cpp"},
    {"wsagent_redis_cluster_moved_total", "redis_cluster_nodes_test.cpp"},
    {"wsagent_redis_cluster_topology_refreshes_total", "redis_cluster_nodes_test.cpp"},
    {"wsagent_redis_cluster_topology_errors_total", "redis_cluster_nodes_test.cpp"},
    {"wsagent_redis_cluster_channel_moves_total", "redis_cluster_nodes_test.cpp"},
    {"wsagent_redis_cluster_links_up", "redis_cluster_nodes_test.cpp"},
    {"wsagent_redis_cluster_pattern_tags", "redis_cluster_patterns_test.cpp"},
    {"wsagent_redis_cluster_pattern_tags_refused_total", "redis_cluster_patterns_test.cpp"},
    {"wsagent_redis_cluster_announces_total", "redis_cluster_patterns_test.cpp"},
    {"wsagent_redis_cluster_announced_cached", "redis_cluster_patterns_test.cpp"},
    {"wsagent_redis_cluster_give_ups_total", "redis_cluster_nodes_test.cpp"},
    // Counted by cluster_client (unit cluster_client_test drives stats().asked/tryagain) and
    // sentinel_watch (unit sentinel_test); /metrics copies them as it copies the rest.
    {"wsagent_redis_cluster_ask_total", "unit/redis/cluster_client_test.cpp"},
    {"wsagent_redis_cluster_tryagain_total", "unit/redis/cluster_client_test.cpp"},
    {"wsagent_redis_master_switches_total", "unit/redis/sentinel_test.cpp"},
    {"wsagent_idem_duplicates_total", "protocol11_test.cpp"},
    {"wsagent_idem_keys", "protocol11_test.cpp"},
    {"wsagent_idem_evictions_total", "protocol11_test.cpp"},
    {"wsagent_conflated_total", "protocol11_test.cpp"},
    {"wsagent_conflation_tags", "protocol11_test.cpp"},
    {"wsagent_pattern_recoveries_total", "pattern_recovery_test.cpp"},
    {"wsagent_pattern_recovery_tags_total", "pattern_recovery_test.cpp"},
    {"wsagent_pattern_recoveries_over_bound_total", "pattern_recovery_test.cpp"},
    {"wsagent_pattern_recovery_holds_cut_total", "unit/router/router_test.cpp"},
    {"wsagent_presence_members", "presence_test.cpp"},
    {"wsagent_presence_queries_total", "presence_test.cpp"},
    {"wsagent_presence_truncated_total", "presence_test.cpp"},
    {"wsagent_presence_events_total", "presence_test.cpp"},
};

// One scrape: family -> sum over shards (wsagent_ready has no shard label).
using scrape = std::map<std::string, double>;

// Scrapes refused as one connection too many (each counts as a refusal).
int refused_scrapes = 0;

scrape read_metrics(uint16_t port) {
  // A scrape is a connection too: right after clients left, the server may not have seen
  // them go yet and refuse it as one too many (503). Asked again then.
  http_response r = http_get(port, "/metrics");
  for (int attempt = 0; r.status == 503 && attempt < 500; ++attempt) {
    ++refused_scrapes;
    std::this_thread::sleep_for(20ms);
    r = http_get(port, "/metrics");
  }
  EXPECT_EQ(r.status, 200);
  return metric_sums_in(r.body);
}

// Scrapes until `done(scrape)` or 20 s; the last scrape.
template <class Done>
scrape await_metrics(uint16_t port, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    scrape m = read_metrics(port);
    if (done(m) || std::chrono::steady_clock::now() > deadline) {
      return m;
    }
    std::this_thread::sleep_for(20ms);
  }
}

ws_options with_bearer(std::string_view token) {
  ws_options o;
  o.extra_headers = {"Authorization: Bearer " + std::string(token)};
  return o;
}

std::string token(int64_t ttl_s = 3600) { return hs256(claims_json(unix_now() + ttl_s), secret); }

// The value moved by exactly `by` between two scrapes.
#define EXPECT_MOVED(before, after, name, by) \
  EXPECT_EQ((after).at(name) - (before).at(name), by) << name

TEST(Metrics, EmbeddedNodeCountsEveryEventAndGaugesReturnToZero) {
  scratch_dir dir;
  ASSERT_TRUE(dir.ok());
  server_process server({"--hmac-secret-file", dir.write("secret", secret), "--shards", "2",
                         "--max-connections", "12", "--max-outbound-bytes", "64KiB",
                         "--max-message-bytes", "16KiB", "--token-leeway", "0s"});
  ASSERT_TRUE(server.start());
  const uint16_t port = server.port();
  const scrape start = read_metrics(port);
  for (const std::string& family : embedded_families) {
    ASSERT_TRUE(start.contains(family)) << family;
  }
  EXPECT_EQ(start.at("wsagent_ready"), 1);
  EXPECT_EQ(start.at("wsagent_connections"), 1) << "the scrape itself";
  EXPECT_EQ(start.at("wsagent_websockets"), 0);

  // Refusals at the HTTP level: a malformed head (400) and a bad token (401).
  EXPECT_EQ(http_exchange(port, "NOT HTTP AT ALL\r\n\r\n").status, 400);
  EXPECT_EQ(http_exchange(port, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Authorization: Bearer not.a.token\r\n\r\n")
                .status,
            401);
  scrape m = read_metrics(port);
  EXPECT_MOVED(start, m, "wsagent_handshake_failures_total", 2) << "400, and the refused upgrade";
  EXPECT_MOVED(start, m, "wsagent_auth_failures_total", 1);
  EXPECT_MOVED(start, m, "wsagent_http_requests_total", 1) << "the first scrape; not upgrades";
  EXPECT_MOVED(start, m, "wsagent_connections_accepted_total", 3);

  // Over --max-connections: the thirteenth connection is refused with 503. Each held one
  // is answered first, so that the kernel cannot hand the server the thirteenth earlier.
  {
    std::vector<tcp_socket> held;
    for (int i = 0; i < 12; ++i) {
      held.push_back(tcp_socket::connect(port));
      held.back().send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      std::string buffer;
      ASSERT_EQ(read_http_response(held.back(), buffer).status, 200);
    }
    const http_response refused = http_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(refused.status, 503);
  }
  const int refused_before = refused_scrapes;
  const scrape after_refusal = await_metrics(
      port, [](const scrape& s) { return s.at("wsagent_connections") == 1; });
  EXPECT_MOVED(m, after_refusal, "wsagent_connections_refused_total",
               1 + refused_scrapes - refused_before);
  EXPECT_GE(after_refusal.at("wsagent_http_requests_total") - m.at("wsagent_http_requests_total"),
            12 + 1);

  // Pub/sub traffic, errors, a protocol violation, an expiry, a slow consumer.
  m = after_refusal;
  {
    ws_client reader = ws_client::connect(port, with_bearer(token()));
    ASSERT_EQ(reader.call(R"({"op":"sub","id":1,"tags":["m.a","m.*"]})").op(), "ok");
    ws_client writer = ws_client::connect(port, with_bearer(token()));
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(writer.call(R"({"op":"pub","id":1,"tag":"m.a","data":1})").op(), "ok");
      ASSERT_EQ(reader.next_json().op(), "msg");
    }
    EXPECT_EQ(writer.call(R"({"op":"pub","id":2,"tag":"m..a","data":1})").str("/code"),
              "bad_tag");
    writer.send_text("not json");
    EXPECT_EQ(writer.wait_for("err").str("/code"), "bad_request");
    const scrape traffic = read_metrics(port);
    EXPECT_MOVED(m, traffic, "wsagent_websockets", 2);
    EXPECT_MOVED(m, traffic, "wsagent_subscriptions", 2);
    EXPECT_MOVED(m, traffic, "wsagent_publishes_total", 10);
    EXPECT_MOVED(m, traffic, "wsagent_deliveries_total", 10) << "once each, two subscriptions";
    EXPECT_MOVED(m, traffic, "wsagent_messages_in_total", 1 + 10 + 2);
    // ok(sub), 10 msg, 10 ok(pub), 2 err, hello x2.
    EXPECT_MOVED(m, traffic, "wsagent_messages_out_total", 1 + 10 + 10 + 2 + 2);
    EXPECT_MOVED(m, traffic, "wsagent_command_errors_total", 2);
    EXPECT_EQ(traffic.at("wsagent_tags_owned"), 1) << "m.a";
    EXPECT_MOVED(m, traffic, "wsagent_history_messages", 10) << "retained for recovery";
    EXPECT_GT(traffic.at("wsagent_history_bytes"), m.at("wsagent_history_bytes") + 10 * 4);
    EXPECT_GT(traffic.at("wsagent_bytes_in_total"), m.at("wsagent_bytes_in_total") + 10 * 40);
    EXPECT_GT(traffic.at("wsagent_bytes_out_total"), m.at("wsagent_bytes_out_total") + 10 * 40);

    ws_client rude = ws_client::connect(port, with_bearer(token()));
    rude.send_frame({.opcode = ws_op::text, .payload = R"({"op":"ping"})", .masked = false});
    EXPECT_EQ(rude.wait_close().close_code, 1002);

    ws_client expiring = ws_client::connect(port, with_bearer(token(2)));
    EXPECT_EQ(expiring.wait_close(10s).close_code, 4001);

    ws_client slow = ws_client::connect(port, with_bearer(token()));
    ASSERT_EQ(slow.call(R"({"op":"sub","id":1,"tags":["flood.x"]})").op(), "ok");
    const std::string filler(8 * 1024, 'x');
    for (int n = 1; n <= 1000; ++n) {
      writer.send_text(R"({"op":"pub","tag":"flood.x","data":")" + filler + "\"}");
      if (n % 20 == 0 && read_metrics(port).at("wsagent_slow_consumer_closes_total") > 0) {
        break;
      }
    }
    const scrape trouble = read_metrics(port);
    EXPECT_MOVED(traffic, trouble, "wsagent_protocol_errors_total", 1);
    EXPECT_MOVED(traffic, trouble, "wsagent_token_expiries_total", 1);
    EXPECT_MOVED(traffic, trouble, "wsagent_slow_consumer_closes_total", 1);
    // Cross-shard records that waited for ring space: none at this load (the mailbox
    // test drives it); the family must be there and never move backwards.
    EXPECT_GE(trouble.at("wsagent_mailbox_overflows_total"),
              traffic.at("wsagent_mailbox_overflows_total"));
  }

  // Everyone gone: the gauges are back where they started.
  const scrape end = await_metrics(port, [](const scrape& s) {
    return s.at("wsagent_connections") == 1 && s.at("wsagent_websockets") == 0 &&
           s.at("wsagent_subscriptions") == 0;
  });
  EXPECT_EQ(end.at("wsagent_connections"), 1) << "the scrape itself";
  EXPECT_EQ(end.at("wsagent_websockets"), 0);
  EXPECT_EQ(end.at("wsagent_subscriptions"), 0);
  EXPECT_EQ(end.at("wsagent_broker_pending"), 0);
  EXPECT_EQ(end.at("wsagent_ready"), 1);
}

TEST(Metrics, RedisNodeCountsRoundTripsErrorsReconnectsAndGaps) {
  redis_process redis;
  ASSERT_TRUE(redis.start());
  server_process node(redis_node_args(redis, "node-a"));
  ASSERT_TRUE(start_redis_node(node));
  const uint16_t port = node.port();
  ws_client pattern = ws_client::connect(port);
  ASSERT_EQ(pattern.call(R"({"op":"sub","id":1,"tags":["r.*"]})").op(), "ok");
  ws_client pub = ws_client::connect(port);
  const scrape start = read_metrics(port);
  for (const std::string& family : redis_families) {
    ASSERT_TRUE(start.contains(family)) << family;
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_GT(publish_ok(pub, "r.t", 1, "1"), 0u);
  }
  scrape m = read_metrics(port);
  EXPECT_GE(m.at("wsagent_broker_latency_seconds_count") -
                start.at("wsagent_broker_latency_seconds_count"),
            5);
  EXPECT_GT(m.at("wsagent_broker_latency_seconds_sum"),
            start.at("wsagent_broker_latency_seconds_sum"));
  // Five publishes: at least five commands, and each carried its data both ways (the
  // EVALSHA out, the live message back on the subscriber link).
  EXPECT_GE(m.at("wsagent_redis_commands_total") - start.at("wsagent_redis_commands_total"), 5);
  EXPECT_GE(m.at("wsagent_redis_sent_bytes_total") - start.at("wsagent_redis_sent_bytes_total"),
            5 * 40);
  EXPECT_GE(m.at("wsagent_redis_received_bytes_total") -
                start.at("wsagent_redis_received_bytes_total"),
            5 * 10);
  EXPECT_EQ(m.at("wsagent_broker_pending"), 0);
  // Latency histograms: one publish-to-ack observation per publish; a round trip per command.
  EXPECT_MOVED(start, m, "wsagent_broker_publish_seconds_count", 5);
  EXPECT_GT(m.at("wsagent_broker_publish_seconds_sum"),
            start.at("wsagent_broker_publish_seconds_sum"));
  EXPECT_GE(m.at("wsagent_redis_command_seconds_count") -
                start.at("wsagent_redis_command_seconds_count"),
            5);
  const std::string text = http_get(port, "/metrics").body;
  for (const char* h : {"wsagent_broker_publish_seconds", "wsagent_redis_command_seconds"}) {
    const uint64_t count = metric_sum_in(text, std::string(h) + "_count");
    EXPECT_EQ(histogram_bucket_in(text, h, "+Inf"), count) << h;
    EXPECT_LE(histogram_bucket_in(text, h, "0.001"), histogram_bucket_in(text, h, "1")) << h;
  }

  // Frozen: a publish waits for its answer (pending), then fails (an error).
  redis.pause();
  pub.send_text(pub_frame("r.t", 7, "7"));
  const scrape frozen =
      await_metrics(port, [](const scrape& s) { return s.at("wsagent_broker_pending") > 0; });
  EXPECT_EQ(frozen.at("wsagent_broker_pending"), 1);
  EXPECT_EQ(pub.wait_for("err", 15s).str("/code"), "unavailable");
  redis.resume();

  // Killed and restarted: every link comes back (two per shard), the pattern subscriber is
  // told what it may have missed.
  redis.kill();
  ASSERT_TRUE(redis.start());
  EXPECT_TRUE(await_readyz(port, 200, 15s)) << node.log();
  EXPECT_EQ(pattern.wait_for("gap", 15s).str("/tags/0"), "r.*");
  const scrape back = await_metrics(port, [&](const scrape& s) {
    return s.at("wsagent_broker_reconnects_total") >= 4 && s.at("wsagent_ready") == 1;
  });
  EXPECT_GE(back.at("wsagent_broker_errors_total") - m.at("wsagent_broker_errors_total"), 1);
  EXPECT_GE(back.at("wsagent_broker_reconnects_total"), 4);
  EXPECT_EQ(back.at("wsagent_gap_notices_total"), 1);
  // The failed publish was not an acknowledgement: not in the publish latencies.
  EXPECT_EQ(back.at("wsagent_broker_publish_seconds_count"),
            m.at("wsagent_broker_publish_seconds_count"));
  EXPECT_EQ(back.at("wsagent_broker_pending"), 0);
  EXPECT_EQ(back.at("wsagent_ready"), 1);
}

TEST(Metrics, EveryExposedFamilyIsDrivenByATest) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  for (const auto& [family, value] : read_metrics(server.port())) {
    EXPECT_TRUE(embedded_families.contains(family) || redis_families.contains(family) ||
                driven_elsewhere.contains(family))
        << family << " is exposed but no test drives it: add it to metrics_test.cpp";
  }
}

}  // namespace
}  // namespace wsa::test
