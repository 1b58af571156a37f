// Per-shard counters and gauges, rendered as Prometheus text for GET /metrics.
// Each shard writes only its own block (single writer: a relaxed load + store, no locked
// instruction on the hot path); any shard may read every block to answer a scrape.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>

#include "util/latency_histogram.h"

namespace wsa {

class counter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void set(uint64_t n) { value_.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

struct alignas(64) shard_metrics {
  counter connections;             ///< gauge: open connections (HTTP and WebSocket)
  counter websockets;              ///< gauge: upgraded connections
  counter connections_accepted;    ///< total
  counter connections_refused;     ///< over --max-connections
  counter accept_errors;           ///< accept failed (EMFILE, ENFILE, ENOMEM, ...)
  counter accept_paused;           ///< gauge: 1 while accepting waits for descriptors
  counter handshake_failures;      ///< bad HTTP, bad upgrade, timeouts
  counter messages_in;             ///< client frames (protocol commands) received
  counter messages_out;            ///< frames queued to clients (deliveries and replies)
  counter publishes;               ///< messages accepted for publishing on this shard
  counter deliveries;              ///< msg frames queued to subscribers
  counter bytes_in;                ///< bytes received on client sockets
  counter bytes_out;               ///< bytes sent on client sockets
  counter slow_consumer_closes;    ///< closed with 4008
  counter protocol_errors;         ///< closed with 1002/1007/1009
  counter command_errors;          ///< `err` replies sent
  counter auth_failures;           ///< tokens refused (handshake 401, auth frame, API)
  counter token_expiries;          ///< connections closed with 4001 when exp passed
  counter auth_timeouts;           ///< closed with 4001: no `auth` frame in time
  counter idle_closes;             ///< silent peers dropped after an unanswered ping
  counter subscriptions;           ///< gauge: subscriptions held by this shard's clients
  counter tags_owned;              ///< gauge: tags whose order this shard keeps
  counter tags_forgotten;          ///< embedded: idle tags whose state was freed
  counter history_bytes;           ///< gauge, embedded: bytes counted against the budget
  counter history_messages;        ///< gauge, embedded: messages retained for recovery
  counter history_evictions;       ///< embedded: messages dropped to stay in the budget
  counter history_expired;         ///< embedded: messages dropped by --history-max-age
  counter http_requests;           ///< plain HTTP requests answered
  counter mailbox_overflows;       ///< cross-shard records that waited for ring space
  counter broker_pending;          ///< gauge: broker requests waiting for an answer
  counter broker_errors;           ///< broker requests that failed
  counter broker_reconnects;       ///< broker connections re-established
  counter broker_latency_us_sum;   ///< sum of broker round trips, microseconds
  counter broker_latency_count;    ///< number of broker round trips measured
  counter redis_pattern_subscriptions;  ///< gauge: distinct PSUBSCRIBEs held
  counter redis_patterns_coalesced;     ///< gauge: patterns served by the catch-all glob
  counter gap_notices;             ///< `gap` notices sent (live streams that lost messages)
  // Backpressure and limits (issue 8; docs/limits.md).
  counter input_pauses;            ///< times a connection stopped being read (backpressure)
  counter connections_paused;      ///< gauge: connections not read now
  counter pongs_replaced;          ///< unsent pongs replaced by the latest ping's answer
  counter frames;                  ///< gauge: frames held in memory (queued or retained)
  counter frame_bytes;             ///< gauge: their bytes
  counter loop_turns;              ///< turns of the shard's loop (one submit + reap each)
  counter sends_started;           ///< sends started on client sockets (one per send/sendmsg)
  counter send_turns_split;        ///< turns that left connections with output to the next
  counter rate_limited_publishes;  ///< `pub` frames refused by --pub-rate
  counter rate_limited_subscribes; ///< `sub`/`unsub` frames refused by --sub-rate
  counter rate_limited_auths;      ///< `auth` frames refused by --auth-rate
  counter invalid_frame_closes;    ///< closed 1008 past --invalid-frame-rate
  counter stash_overflow_closes;   ///< closed: input held while paused past its bound
  counter tag_limit_refusals;      ///< sub/unsub refused by --max-tags-per-connection
  counter recoveries_refused;      ///< `sub` with `since` over --max-pending-recoveries
  counter auth_reused;             ///< `auth` frames with the token in use (not verified)
  counter replays_truncated;       ///< replays cut at the subscriber's limit (reported gaps)
  counter pattern_recoveries;      ///< `sub` of a pattern with `since` answered (1.1)
  counter pattern_recovery_tags;   ///< ... tags they replayed or reported as gaps
  counter pattern_recoveries_over_bound;  ///< ... with more tags than --max-recovery-tags
  counter pattern_recovery_holds_cut;  ///< ... whose held live messages passed their share
  counter shard_backlog_bytes;     ///< gauge: bytes waiting for other shards past the rings
  counter shard_backlog_refusals;  ///< requests refused while a shard backlog was full
  counter broker_backlog_refusals; ///< requests refused while the Redis backlog was full
  counter broker_oversized;        ///< messages from Redis over this node's size, dropped
  counter redis_commands;          ///< commands sent to Redis (data links, not sentinels)
  counter redis_bytes_out;         ///< bytes written to Redis
  counter redis_bytes_in;          ///< bytes read from Redis
  counter redis_oversized_replies; ///< links dropped: a reply over --redis-max-reply-bytes
  counter redis_cluster_moved;      ///< Redis Cluster: MOVED redirections followed
  counter redis_cluster_asked;      ///< ASK redirections followed
  counter redis_cluster_tryagain;   ///< TRYAGAIN answers (resent after a delay)
  counter redis_cluster_refreshes;  ///< topologies (CLUSTER SLOTS) applied
  counter redis_cluster_refresh_errors;  ///< topologies refused or malformed
  counter redis_cluster_channel_moves;   ///< subscribed channels whose slot moved
  counter redis_cluster_links_up;   ///< gauge: links to cluster nodes up (commands, pub/sub)
  counter redis_cluster_give_ups;   ///< commands failed after too many redirections/TRYAGAIN
  counter redis_cluster_pattern_tags;  ///< gauge: tags whose channels patterns pulled in
  counter redis_cluster_pattern_tags_refused;  ///< tags a pattern at its bound left out
  counter redis_cluster_announces;  ///< first-publish announces sent (patterns on a cluster)
  counter redis_cluster_announced_cached;  ///< gauge: tags in the announced cache
  counter redis_master_switches;    ///< Sentinel: masters followed after the first
  latency_histogram redis_command_latency;  ///< data links: command queued -> its reply read
  latency_histogram broker_publish_latency; ///< Redis: publish sent -> acknowledged (WAIT too)
  // Protocol 1.1 (docs/protocol.md "Version 1.1 additions").
  counter idem_duplicates;         ///< publishes answered `dup` (not published again)
  counter idem_keys;               ///< gauge: idempotency keys held (embedded broker)
  counter idem_evictions;          ///< keys dropped before their window (table full)
  counter conflated;               ///< "latest" messages skipped for a newer one
  counter conflation_tags;         ///< gauge: (connection, tag) entries of conflation
  counter presence_members;        ///< gauge: (connection, tag) presence entries kept here
  counter presence_queries;        ///< `presence` requests answered
  counter presence_truncated;      ///< ... whose `who` list stopped at --presence-max-members
  counter presence_events;         ///< join/leave frames sent to connections
  // MQTT (handlers/mqtt).
  counter mqtt_connections;         ///< gauge: open MQTT connections (TCP and WebSocket)
  counter mqtt_connect_refusals;    ///< CONNECTs refused (bad token, identifier, will...)
  counter mqtt_connect_timeouts;    ///< no CONNECT in time
  counter mqtt_protocol_errors;     ///< closed for a malformed packet or a protocol error
  counter mqtt_keep_alive_timeouts; ///< closed after 1.5 keep-alive periods of silence
  counter mqtt_wills;               ///< will messages published
  counter mqtt_publish_refusals;    ///< PUBLISHes refused (permission, topic, payload format)
  counter mqtt_subscribe_refusals;  ///< SUBSCRIBE filters refused (permission, invalid, quota)
  counter mqtt_subscribe_oversized; ///< SUBSCRIBEs refused whole: more filters than a session holds
  counter mqtt_retained_messages;   ///< gauge: retained messages in this shard's replica
  counter mqtt_retained_bytes;      ///< gauge: their bytes
  counter mqtt_retained_refusals;   ///< retained PUBLISHes published but not retained (bounds)
  counter mqtt_retained_cut;        ///< SUBSCRIBEs whose matching retained messages passed the cap
  counter mqtt_retained_loads;      ///< retained sets read from Redis (node start, resubscribe)
  counter mqtt_retained_reloads;    ///< ...read again: changes held meanwhile passed their bound
  counter mqtt_sessions_stored;     ///< gauge: persistent sessions this shard owns
  counter mqtt_sessions_resumed;    ///< CONNECTs that resumed a stored session
  counter mqtt_sessions_expired;    ///< stored sessions dropped at their expiry
  counter mqtt_resume_gaps;         ///< resumed tags whose history no longer reached back
  counter mqtt_takeovers;           ///< connections closed: their session connected again
  counter mqtt_session_bytes;       ///< gauge: bytes of the stored sessions this shard keeps
  counter mqtt_session_bytes_refusals; ///< CONNECTs refused: the stored sessions' byte bound
  counter mqtt_session_store_errors; ///< session reads/writes the Redis store could not do
  counter mqtt_session_refreshes;   ///< held sessions whose record's TTL in Redis was renewed
  counter mqtt_handoffs;            ///< sessions taken over from a connection on another node
  counter mqtt_handoff_timeouts;    ///< ...whose node did not hand over in time (Redis's state used)
  counter mqtt_resume_timeouts;     ///< CONNECTs whose session owner did not answer in time
  counter mqtt_positions_forgotten; ///< tag positions kept sessions forgot past max_positions
  counter mqtt_positions_released;  ///< tag positions dropped: their exact filter unsubscribed
  counter mqtt_session_bytes_dropped; ///< kept sessions dropped: grown past the byte bound
  counter mqtt_deliveries_dropped;  ///< messages not sent: over the client's maximum packet size
  counter mqtt_messages_expired;    ///< MQTT deliveries not sent: their Message Expiry passed
};

/// Appends the Prometheus exposition (text format 0.0.4) of all shards to `out`: counters
/// and gauges one sample per shard, histograms summed over the shards (one per node).
void render_prometheus(std::string& out, std::span<const shard_metrics* const> shards,
                       bool ready);

}  // namespace wsa
