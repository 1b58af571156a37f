#include "obs/metrics.h"

#include <cstdio>

namespace wsa {
namespace {

struct family {
  const char* name;
  const char* type;
  const char* help;
  counter shard_metrics::*field;
};

constexpr family families[] = {
    {"wsagent_connections", "gauge", "Open client connections.", &shard_metrics::connections},
    {"wsagent_websockets", "gauge", "Open WebSocket connections.", &shard_metrics::websockets},
    {"wsagent_connections_accepted_total", "counter", "Connections accepted.",
     &shard_metrics::connections_accepted},
    {"wsagent_connections_refused_total", "counter", "Connections refused (over the limit).",
     &shard_metrics::connections_refused},
    {"wsagent_accept_errors_total", "counter",
     "Accepts that failed, e.g. out of file descriptors (EMFILE, ENFILE) or memory.",
     &shard_metrics::accept_errors},
    {"wsagent_accept_paused", "gauge",
     "1 while the shard waits (backs off) before accepting again after running out of "
     "descriptors or memory.",
     &shard_metrics::accept_paused},
    {"wsagent_handshake_failures_total", "counter",
     "HTTP requests or upgrades refused, or timed out.", &shard_metrics::handshake_failures},
    {"wsagent_messages_in_total", "counter", "Protocol frames received from clients.",
     &shard_metrics::messages_in},
    {"wsagent_messages_out_total", "counter", "Frames queued to clients.",
     &shard_metrics::messages_out},
    {"wsagent_publishes_total", "counter", "Messages published by this shard's clients.",
     &shard_metrics::publishes},
    {"wsagent_deliveries_total", "counter", "Messages queued to subscribers.",
     &shard_metrics::deliveries},
    {"wsagent_bytes_in_total", "counter", "Bytes received from clients.",
     &shard_metrics::bytes_in},
    {"wsagent_bytes_out_total", "counter", "Bytes sent to clients.", &shard_metrics::bytes_out},
    {"wsagent_slow_consumer_closes_total", "counter",
     "Connections closed with 4008 (outbound queue over the limit).",
     &shard_metrics::slow_consumer_closes},
    {"wsagent_protocol_errors_total", "counter",
     "Connections closed for a WebSocket protocol violation (1002, 1007, 1009).",
     &shard_metrics::protocol_errors},
    {"wsagent_command_errors_total", "counter", "err replies sent.",
     &shard_metrics::command_errors},
    {"wsagent_auth_failures_total", "counter",
     "Tokens refused (HTTP 401 at the handshake or the publish API, auth frames).",
     &shard_metrics::auth_failures},
    {"wsagent_token_expiries_total", "counter",
     "Connections closed with 4001 because their token expired.",
     &shard_metrics::token_expiries},
    {"wsagent_auth_timeouts_total", "counter",
     "Connections closed with 4001 because no auth frame came within --auth-timeout.",
     &shard_metrics::auth_timeouts},
    {"wsagent_idle_closes_total", "counter",
     "Connections dropped after --idle-timeout of silence and an unanswered ping.",
     &shard_metrics::idle_closes},
    {"wsagent_subscriptions", "gauge", "Subscriptions held by clients.",
     &shard_metrics::subscriptions},
    {"wsagent_tags_owned", "gauge", "Tags whose sequence this shard keeps.",
     &shard_metrics::tags_owned},
    {"wsagent_tags_forgotten_total", "counter",
     "Idle tags (no subscriber, nothing retained) whose state was freed.",
     &shard_metrics::tags_forgotten},
    {"wsagent_history_bytes", "gauge",
     "Bytes of retained messages and tag state counted against --history-max-bytes.",
     &shard_metrics::history_bytes},
    {"wsagent_history_messages", "gauge", "Messages retained for recovery.",
     &shard_metrics::history_messages},
    {"wsagent_history_evictions_total", "counter",
     "Retained messages dropped to stay within --history-max-bytes.",
     &shard_metrics::history_evictions},
    {"wsagent_history_expired_total", "counter",
     "Retained messages dropped because they were older than --history-max-age.",
     &shard_metrics::history_expired},
    {"wsagent_http_requests_total", "counter", "Plain HTTP requests answered.",
     &shard_metrics::http_requests},
    {"wsagent_mailbox_overflows_total", "counter",
     "Cross-shard records that waited for ring space.", &shard_metrics::mailbox_overflows},
    {"wsagent_broker_pending", "gauge", "Broker requests waiting for an answer.",
     &shard_metrics::broker_pending},
    {"wsagent_broker_errors_total", "counter", "Broker requests that failed.",
     &shard_metrics::broker_errors},
    {"wsagent_broker_reconnects_total", "counter", "Broker connections re-established.",
     &shard_metrics::broker_reconnects},
    {"wsagent_broker_latency_seconds_sum", "counter", "Sum of broker round-trip times.",
     &shard_metrics::broker_latency_us_sum},
    {"wsagent_broker_latency_seconds_count", "counter", "Broker round trips measured.",
     &shard_metrics::broker_latency_count},
    {"wsagent_redis_pattern_subscriptions", "gauge",
     "Distinct Redis PSUBSCRIBEs held (at most --redis-max-patterns per node).",
     &shard_metrics::redis_pattern_subscriptions},
    {"wsagent_redis_patterns_coalesced", "gauge",
     "Patterns past --redis-max-patterns, served by one catch-all PSUBSCRIBE.",
     &shard_metrics::redis_patterns_coalesced},
    {"wsagent_gap_notices_total", "counter",
     "gap notices sent: subscriptions whose live stream lost messages (Redis outages).",
     &shard_metrics::gap_notices},
    {"wsagent_input_pauses_total", "counter",
     "Times a connection stopped being read because its answers were not read (backpressure).",
     &shard_metrics::input_pauses},
    {"wsagent_connections_paused", "gauge", "Connections not read now (backpressure).",
     &shard_metrics::connections_paused},
    {"wsagent_pongs_replaced_total", "counter",
     "Unsent pongs replaced by the answer to a later ping (one pending pong per connection).",
     &shard_metrics::pongs_replaced},
    {"wsagent_frames", "gauge",
     "Outbound frames held in memory (queued to clients, held for subscribers, history).",
     &shard_metrics::frames},
    {"wsagent_frame_bytes", "gauge", "Bytes of the frames held in memory.",
     &shard_metrics::frame_bytes},
    {"wsagent_rate_limited_publishes_total", "counter",
     "pub frames refused with rate_limited (--pub-rate).", &shard_metrics::rate_limited_publishes},
    {"wsagent_rate_limited_subscribes_total", "counter",
     "sub and unsub frames refused with rate_limited (--sub-rate).",
     &shard_metrics::rate_limited_subscribes},
    {"wsagent_rate_limited_auths_total", "counter",
     "auth frames refused with rate_limited (--auth-rate).", &shard_metrics::rate_limited_auths},
    {"wsagent_tag_limit_refusals_total", "counter",
     "sub and unsub requests refused for naming or holding too many tags "
     "(--max-tags-per-connection).",
     &shard_metrics::tag_limit_refusals},
    {"wsagent_recoveries_refused_total", "counter",
     "sub requests with since refused while too many were waiting (--max-pending-recoveries).",
     &shard_metrics::recoveries_refused},
    {"wsagent_auth_reused_total", "counter",
     "auth frames carrying the token already in use (answered without verifying it again).",
     &shard_metrics::auth_reused},
    {"wsagent_replays_truncated_total", "counter",
     "since replays cut at the subscriber's outbound limit (the rest reported as a gap).",
     &shard_metrics::replays_truncated},
    {"wsagent_shard_backlog_bytes", "gauge",
     "Bytes waiting for other shards beyond the rings between them (--max-shard-backlog).",
     &shard_metrics::shard_backlog_bytes},
    {"wsagent_shard_backlog_refusals_total", "counter",
     "Publishes and subscriptions refused (unavailable) while a cross-shard backlog was full.",
     &shard_metrics::shard_backlog_refusals},
    {"wsagent_broker_backlog_refusals_total", "counter",
     "Publishes and subscriptions refused (unavailable) while the Redis command backlog was "
     "full (--max-broker-backlog).",
     &shard_metrics::broker_backlog_refusals},
    {"wsagent_broker_oversized_total", "counter",
     "Messages from Redis larger than this node's --max-message-bytes, dropped.",
     &shard_metrics::broker_oversized},
    {"wsagent_idem_duplicates_total", "counter",
     "Publishes whose idem key was seen inside the window: answered dup, not published again.",
     &shard_metrics::idem_duplicates},
    {"wsagent_idem_keys", "gauge",
     "Idempotency keys held by the embedded broker (--idempotency-max-keys).",
     &shard_metrics::idem_keys},
    {"wsagent_idem_evictions_total", "counter",
     "Idempotency keys dropped before their window passed because the table was full.",
     &shard_metrics::idem_evictions},
    {"wsagent_mqtt_connections", "gauge", "Open MQTT connections (TCP and WebSocket).",
     &shard_metrics::mqtt_connections},
    {"wsagent_mqtt_connect_refusals_total", "counter",
     "MQTT CONNECTs refused (token, client identifier, will, protocol level).",
     &shard_metrics::mqtt_connect_refusals},
    {"wsagent_mqtt_connect_timeouts_total", "counter",
     "MQTT connections closed for sending no CONNECT in time.",
     &shard_metrics::mqtt_connect_timeouts},
    {"wsagent_mqtt_protocol_errors_total", "counter",
     "MQTT connections closed for a malformed packet or a protocol error.",
     &shard_metrics::mqtt_protocol_errors},
    {"wsagent_mqtt_keep_alive_timeouts_total", "counter",
     "MQTT connections closed after 1.5 keep-alive periods without a packet.",
     &shard_metrics::mqtt_keep_alive_timeouts},
    {"wsagent_mqtt_wills_total", "counter", "MQTT will messages published.",
     &shard_metrics::mqtt_wills},
    {"wsagent_mqtt_publish_refusals_total", "counter",
     "MQTT PUBLISHes refused (permission, topic, payload format, receive maximum).",
     &shard_metrics::mqtt_publish_refusals},
    {"wsagent_mqtt_subscribe_refusals_total", "counter",
     "MQTT SUBSCRIBE filters refused (permission, invalid filter, subscription quota).",
     &shard_metrics::mqtt_subscribe_refusals},
    {"wsagent_mqtt_retained_messages", "gauge",
     "Retained MQTT messages (each shard holds a copy of the node's).",
     &shard_metrics::mqtt_retained_messages},
    {"wsagent_mqtt_retained_bytes", "gauge", "Bytes of retained MQTT messages, per copy.",
     &shard_metrics::mqtt_retained_bytes},
    {"wsagent_mqtt_retained_refusals_total", "counter",
     "Retained MQTT PUBLISHes published but not retained (--mqtt-retained-max, -max-bytes).",
     &shard_metrics::mqtt_retained_refusals},
    {"wsagent_mqtt_takeovers_total", "counter",
     "MQTT connections closed because their session (client identifier) connected again.",
     &shard_metrics::mqtt_takeovers},
    {"wsagent_mqtt_deliveries_dropped_total", "counter",
     "Messages not sent to an MQTT client: larger than its Maximum Packet Size.",
     &shard_metrics::mqtt_deliveries_dropped},
};

}  // namespace

void render_prometheus(std::string& out, std::span<const shard_metrics* const> shards,
                       bool ready) {
  char line[256];
  out.append("# HELP wsagent_ready Whether the node accepts traffic (1) or not (0).\n");
  out.append("# TYPE wsagent_ready gauge\n");
  out.append(ready ? "wsagent_ready 1\n" : "wsagent_ready 0\n");
  for (const family& f : families) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name,
                  f.type);
    out.append(line);
    const bool seconds = f.field == &shard_metrics::broker_latency_us_sum;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      const uint64_t value = (shards[i]->*f.field).get();
      if (seconds) {
        std::snprintf(line, sizeof line, "%s{shard=\"%zu\"} %.6f\n", f.name, i,
                      static_cast<double>(value) / 1e6);
      } else {
        std::snprintf(line, sizeof line, "%s{shard=\"%zu\"} %llu\n", f.name, i,
                      static_cast<unsigned long long>(value));
      }
      out.append(line);
    }
  }
}

}  // namespace wsa
