#include "obs/metrics.h"

#include <cstdio>
#include <iterator>
#include <string_view>

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
    {"wsagent_loop_turns_total", "counter",
     "Turns of the shard's loop (each one submission to the kernel and one reaping).",
     &shard_metrics::loop_turns},
    {"wsagent_sends_total", "counter",
     "Sends started on client sockets (one send or gathered sendmsg each).",
     &shard_metrics::sends_started},
    {"wsagent_send_turns_split_total", "counter",
     "Turns that started their bound of sends and left connections with output to the next "
     "turn (a fan-out spread over several turns, so that completions are reaped in between).",
     &shard_metrics::send_turns_split},
    {"wsagent_rate_limited_publishes_total", "counter",
     "pub frames refused with rate_limited (--pub-rate).", &shard_metrics::rate_limited_publishes},
    {"wsagent_rate_limited_subscribes_total", "counter",
     "sub and unsub frames refused with rate_limited (--sub-rate).",
     &shard_metrics::rate_limited_subscribes},
    {"wsagent_rate_limited_auths_total", "counter",
     "auth frames refused with rate_limited (--auth-rate).", &shard_metrics::rate_limited_auths},
    {"wsagent_invalid_frame_closes_total", "counter",
     "WebSockets closed with 1008 for sending frames that carry no command (binary, invalid, "
     "pongs) faster than --invalid-frame-rate.",
     &shard_metrics::invalid_frame_closes},
    {"wsagent_stash_overflow_closes_total", "counter",
     "Connections closed as slow consumers because the input received while they were not "
     "read passed --max-paused-input.",
     &shard_metrics::stash_overflow_closes},
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
    {"wsagent_pattern_recoveries_total", "counter",
     "sub requests recovering a pattern with since (protocol 1.1) that were answered.",
     &shard_metrics::pattern_recoveries},
    {"wsagent_pattern_recovery_tags_total", "counter",
     "Tags those pattern recoveries replayed or reported as gaps.",
     &shard_metrics::pattern_recovery_tags},
    {"wsagent_pattern_recoveries_over_bound_total", "counter",
     "Pattern recoveries that matched more tags than --max-recovery-tags (the pattern in gaps).",
     &shard_metrics::pattern_recoveries_over_bound},
    {"wsagent_pattern_recovery_holds_cut_total", "counter",
     "Pattern recoveries whose live messages, held until the owners answered, passed the "
     "request's share of --max-outbound-bytes (dropped; the pattern in gaps).",
     &shard_metrics::pattern_recovery_holds_cut},
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
    {"wsagent_redis_commands_total", "counter",
     "Commands sent to Redis by this node's brokers (sentinels not counted).",
     &shard_metrics::redis_commands},
    {"wsagent_redis_sent_bytes_total", "counter", "Bytes written to Redis.",
     &shard_metrics::redis_bytes_out},
    {"wsagent_redis_received_bytes_total", "counter", "Bytes read from Redis.",
     &shard_metrics::redis_bytes_in},
    {"wsagent_redis_oversized_replies_total", "counter",
     "Redis connections dropped because a reply passed --redis-max-reply-bytes.",
     &shard_metrics::redis_oversized_replies},
    {"wsagent_redis_cluster_moved_total", "counter",
     "Redis Cluster MOVED redirections followed (a slot's master changed).",
     &shard_metrics::redis_cluster_moved},
    {"wsagent_redis_cluster_ask_total", "counter",
     "Redis Cluster ASK redirections followed (a slot being migrated).",
     &shard_metrics::redis_cluster_asked},
    {"wsagent_redis_cluster_tryagain_total", "counter",
     "Redis Cluster TRYAGAIN answers (a tag's keys split by a migration), resent after a delay.",
     &shard_metrics::redis_cluster_tryagain},
    {"wsagent_redis_cluster_topology_refreshes_total", "counter",
     "Redis Cluster topologies (CLUSTER SLOTS) applied.", &shard_metrics::redis_cluster_refreshes},
    {"wsagent_redis_cluster_topology_errors_total", "counter",
     "Redis Cluster topologies (CLUSTER SLOTS replies) refused as malformed.",
     &shard_metrics::redis_cluster_refresh_errors},
    {"wsagent_redis_cluster_channel_moves_total", "counter",
     "Subscribed sharded channels whose slot moved to another master (resubscribed there).",
     &shard_metrics::redis_cluster_channel_moves},
    {"wsagent_redis_cluster_links_up", "gauge",
     "Connections to Redis Cluster nodes that are up (command and sharded pub/sub links).",
     &shard_metrics::redis_cluster_links_up},
    {"wsagent_redis_cluster_give_ups_total", "counter",
     "Redis Cluster commands failed after too many redirections or TRYAGAIN answers.",
     &shard_metrics::redis_cluster_give_ups},
    {"wsagent_redis_cluster_pattern_tags", "gauge",
     "Redis Cluster: tags whose sharded channels pattern subscriptions pulled in.",
     &shard_metrics::redis_cluster_pattern_tags},
    {"wsagent_redis_cluster_pattern_tags_refused_total", "counter",
     "Redis Cluster: tags a pattern did not pull in, past --max-recovery-tags per pattern.",
     &shard_metrics::redis_cluster_pattern_tags_refused},
    {"wsagent_redis_cluster_announces_total", "counter",
     "Redis Cluster: announces of a tag to its first segment's pattern subscribers.",
     &shard_metrics::redis_cluster_announces},
    {"wsagent_redis_cluster_announced_cached", "gauge",
     "Redis Cluster: tags in the bounded cache of tags this shard announced lately.",
     &shard_metrics::redis_cluster_announced_cached},
    {"wsagent_redis_master_switches_total", "counter",
     "Sentinel: new masters followed after the first one (failovers seen).",
     &shard_metrics::redis_master_switches},
    {"wsagent_idem_duplicates_total", "counter",
     "Publishes whose idem key was seen inside the window: answered dup, not published again.",
     &shard_metrics::idem_duplicates},
    {"wsagent_idem_keys", "gauge",
     "Idempotency keys held by the embedded broker (--idempotency-max-keys).",
     &shard_metrics::idem_keys},
    {"wsagent_idem_evictions_total", "counter",
     "Idempotency keys dropped before their window passed because the table was full.",
     &shard_metrics::idem_evictions},
    {"wsagent_conflated_total", "counter",
     "Messages not sent to a \"mode\":\"latest\" subscriber because a newer one replaced "
     "them.",
     &shard_metrics::conflated},
    {"wsagent_conflation_tags", "gauge",
     "(connection, tag) pairs with conflation state: a pending message or a recent send.",
     &shard_metrics::conflation_tags},
    {"wsagent_presence_members", "gauge",
     "Presence entries (connection, exact tag) kept by this node: the embedded broker's "
     "members, or with Redis this node's own connections.",
     &shard_metrics::presence_members},
    {"wsagent_presence_queries_total", "counter", "presence requests answered.",
     &shard_metrics::presence_queries},
    {"wsagent_presence_truncated_total", "counter",
     "presence answers whose who list stopped at --presence-max-members (count stays exact).",
     &shard_metrics::presence_truncated},
    {"wsagent_presence_events_total", "counter",
     "join and leave frames sent to connections that asked for presence events.",
     &shard_metrics::presence_events},
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
    {"wsagent_mqtt_subscribe_oversized_total", "counter",
     "MQTT SUBSCRIBEs refused whole: more filters than --mqtt-max-subscriptions.",
     &shard_metrics::mqtt_subscribe_oversized},
    {"wsagent_mqtt_retained_messages", "gauge",
     "Retained MQTT messages (each shard holds a copy of the node's).",
     &shard_metrics::mqtt_retained_messages},
    {"wsagent_mqtt_retained_bytes", "gauge", "Bytes of retained MQTT messages, per copy.",
     &shard_metrics::mqtt_retained_bytes},
    {"wsagent_mqtt_retained_refusals_total", "counter",
     "Retained MQTT PUBLISHes published but not retained (--mqtt-retained-max, -max-bytes).",
     &shard_metrics::mqtt_retained_refusals},
    {"wsagent_mqtt_retained_cut_total", "counter",
     "MQTT SUBSCRIBEs that matched more retained messages than the session's delivery queue "
     "holds (--mqtt-max-inflight + --mqtt-max-queued): the rest were not sent.",
     &shard_metrics::mqtt_retained_cut},
    {"wsagent_mqtt_retained_loads_total", "counter",
     "Sets of the cluster's retained MQTT messages read from Redis (when a node's retained "
     "channel is subscribed: start, reconnection, slot move).",
     &shard_metrics::mqtt_retained_loads},
    {"wsagent_mqtt_retained_reloads_total", "counter",
     "Retained sets read from Redis again: the changes that came while one was read passed "
     "their bound and were dropped.",
     &shard_metrics::mqtt_retained_reloads},
    {"wsagent_mqtt_sessions", "gauge",
     "Persistent MQTT sessions kept (connected or waiting for their client).",
     &shard_metrics::mqtt_sessions_stored},
    {"wsagent_mqtt_sessions_resumed_total", "counter",
     "MQTT CONNECTs that resumed a stored session (CONNACK session present).",
     &shard_metrics::mqtt_sessions_resumed},
    {"wsagent_mqtt_sessions_expired_total", "counter",
     "Stored MQTT sessions dropped at their expiry.", &shard_metrics::mqtt_sessions_expired},
    {"wsagent_mqtt_resume_gaps_total", "counter",
     "Tags of resumed MQTT sessions whose history no longer held every message after the "
     "session's position (those messages were not delivered).",
     &shard_metrics::mqtt_resume_gaps},
    {"wsagent_mqtt_takeovers_total", "counter",
     "MQTT connections closed because their session (client identifier) connected again.",
     &shard_metrics::mqtt_takeovers},
    {"wsagent_mqtt_session_bytes", "gauge",
     "Bytes of the persistent MQTT sessions this node keeps (records and keys; embedded broker).",
     &shard_metrics::mqtt_session_bytes},
    {"wsagent_mqtt_session_bytes_refusals_total", "counter",
     "MQTT CONNECTs for a persistent session refused: the stored sessions passed "
     "--mqtt-max-session-bytes.",
     &shard_metrics::mqtt_session_bytes_refusals},
    {"wsagent_mqtt_session_store_errors_total", "counter",
     "MQTT session reads (CONNECT, refused) and writes (end of connection, state not kept) "
     "that Redis could not serve.",
     &shard_metrics::mqtt_session_store_errors},
    {"wsagent_mqtt_session_refreshes_total", "counter",
     "Records of MQTT sessions held by a live connection whose TTL in Redis was renewed (at "
     "half of it), so that a long-lived connection's session outlives its first TTL.",
     &shard_metrics::mqtt_session_refreshes},
    {"wsagent_mqtt_handoffs_total", "counter",
     "MQTT sessions taken over from a connection on another node, which handed over its state.",
     &shard_metrics::mqtt_handoffs},
    {"wsagent_mqtt_handoff_timeouts_total", "counter",
     "MQTT takeovers across nodes whose older node did not hand over in time: the session "
     "resumed from what Redis held.",
     &shard_metrics::mqtt_handoff_timeouts},
    {"wsagent_mqtt_resume_timeouts_total", "counter",
     "MQTT CONNECTs refused (server unavailable) because the session's state did not come in "
     "time.",
     &shard_metrics::mqtt_resume_timeouts},
    {"wsagent_mqtt_positions_forgotten_total", "counter",
     "Tag positions kept MQTT sessions forgot past their bound (limits::max_positions, 1000 "
     "tags per session): those tags resume by publish time, where a message of their last "
     "seconds may come again.",
     &shard_metrics::mqtt_positions_forgotten},
    {"wsagent_mqtt_positions_released_total", "counter",
     "Tag positions MQTT sessions dropped at an UNSUBSCRIBE of the exact filter that pinned "
     "them (no other filter needed them): SUBSCRIBE/UNSUBSCRIBE loops do not grow a session.",
     &shard_metrics::mqtt_positions_released},
    {"wsagent_mqtt_session_bytes_dropped_total", "counter",
     "Kept MQTT sessions dropped when their connection ended: the grown session passed "
     "--mqtt-max-session-bytes (the next CONNECT gets session present 0).",
     &shard_metrics::mqtt_session_bytes_dropped},
    {"wsagent_mqtt_deliveries_dropped_total", "counter",
     "Messages not sent to an MQTT client: larger than its Maximum Packet Size.",
     &shard_metrics::mqtt_deliveries_dropped},
    {"wsagent_mqtt_messages_expired_total", "counter",
     "MQTT deliveries not sent because the publisher's Message Expiry Interval had passed "
     "(live, queued, retained or replayed).",
     &shard_metrics::mqtt_messages_expired},
};

struct histogram_family {
  const char* name;
  const char* help;
  latency_histogram shard_metrics::*field;
};

constexpr histogram_family histograms[] = {
    {"wsagent_redis_command_seconds",
     "Redis commands on the data links (sentinels not counted): from queued to the reply "
     "read, WAIT included.",
     &shard_metrics::redis_command_latency},
    {"wsagent_broker_publish_seconds",
     "Redis broker publishes: from the command sent to its acknowledgement (the script's "
     "reply, and WAIT with --redis-wait-replicas); failed publishes not counted.",
     &shard_metrics::broker_publish_latency},
};

// The buckets' `le` labels: latency_histogram::bounds_us in seconds.
constexpr const char* bucket_labels[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                                         "0.005",  "0.01",    "0.025",  "0.05",  "0.1",
                                         "0.25",   "0.5",     "1",      "2.5",   "5"};
static_assert(std::size(bucket_labels) == latency_histogram::bounds_us.size());

// Appended, not formatted into a line buffer: help texts have no length limit (a fixed
// buffer cut a long one, and the TYPE line after it, mid-word).
void append_help_and_type(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type) {
  out.append("# HELP ").append(name).append(" ").append(help);
  out.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void render_histogram(std::string& out, const histogram_family& f,
                      std::span<const shard_metrics* const> shards) {
  append_help_and_type(out, f.name, f.help, "histogram");
  char line[256];  // a sample: the name and numbers
  uint64_t cumulative = 0;
  uint64_t sum_us = 0;
  for (std::size_t b = 0; b < latency_histogram::buckets; ++b) {
    for (const shard_metrics* shard : shards) {
      cumulative += (shard->*f.field).in_bucket(b);
    }
    std::snprintf(line, sizeof line, "%s_bucket{le=\"%s\"} %llu\n", f.name,
                  b < std::size(bucket_labels) ? bucket_labels[b] : "+Inf",
                  static_cast<unsigned long long>(cumulative));
    out.append(line);
  }
  for (const shard_metrics* shard : shards) {
    sum_us += (shard->*f.field).sum_us();
  }
  std::snprintf(line, sizeof line, "%s_sum %.6f\n%s_count %llu\n", f.name,
                static_cast<double>(sum_us) / 1e6, f.name,
                static_cast<unsigned long long>(cumulative));
  out.append(line);
}

}  // namespace

void render_prometheus(std::string& out, std::span<const shard_metrics* const> shards,
                       bool ready) {
  char line[256];
  out.append("# HELP wsagent_ready Whether the node accepts traffic (1) or not (0).\n");
  out.append("# TYPE wsagent_ready gauge\n");
  out.append(ready ? "wsagent_ready 1\n" : "wsagent_ready 0\n");
  for (const family& f : families) {
    append_help_and_type(out, f.name, f.help, f.type);
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
  for (const histogram_family& f : histograms) {
    render_histogram(out, f, shards);
  }
}

}  // namespace wsa
