// The server's configuration: every option of `wsagent serve`, as typed values. Filled once
// by src/cli from, in order of precedence, command-line flags, WSAGENT_* environment
// variables, an optional config file and these defaults; every value is checked there, so
// nothing here is parsed again. Read-only once the shards start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "obs/log.h"

namespace wsa {

/// `--listen`: the syntax is checked; the name is resolved when the node binds.
struct listen_endpoint {
  std::string host;   ///< name or address, without brackets; empty: all IPv4 addresses
  uint16_t port = 8080;  ///< 0: any free port
  bool ipv6 = false;     ///< written in brackets

  /// As the user writes it: "host:port", "[v6]:port", ":port".
  std::string text() const {
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

/// One Redis server of `--broker redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
struct redis_endpoint {
  std::string host;  ///< name, IPv4 or IPv6 (without brackets)
  uint16_t port = 6379;
  std::string username;  ///< Redis 6 ACL user; empty: "default"
  std::string password;  ///< percent-decoded; meaningful only when has_password
  bool has_password = false;
  uint32_t db = 0;  ///< SELECT index
};

/// One server of a redis-cluster:// or redis-sentinel:// list.
struct redis_host {
  std::string host;  ///< name, IPv4 or IPv6 (without brackets)
  uint16_t port = 0;
};

/// `--broker`. A new scheme adds a kind here and a row to the scheme table in
/// src/cli/endpoints.cpp.
struct broker_url {
  enum class kind { embedded, redis, redis_cluster, redis_sentinel };
  kind type = kind::embedded;
  /// redis: the server. redis-cluster and redis-sentinel: the credentials (of the data
  /// servers) and the database; host and port unused.
  redis_endpoint redis;
  /// redis-cluster: seed nodes (the rest is discovered); redis-sentinel: the sentinels.
  std::vector<redis_host> hosts;
  std::string master_name;         ///< redis-sentinel: the name the sentinels monitor
  std::string shown = "embedded";  ///< the URL with any password as "***": for logs and help
};

struct config {
  // Network.
  listen_endpoint listen{"0.0.0.0", 8080, false};
  unsigned shards = 0;     ///< 0: one per CPU the process may run on
  bool pin_shards = true;  ///< pin shard i to the i-th allowed CPU
  std::string node_id;     ///< "node" in hello; empty: the host name
  bool mqtt_tcp = false;   ///< accept MQTT over TCP on mqtt_listen (--mqtt-listen given)
  listen_endpoint mqtt_listen{"0.0.0.0", 1883, false};
  bool mqtt_ws = false;    ///< accept MQTT over WebSocket at /mqtt on `listen`

  // Limits (bad or greedy clients).
  uint32_t max_message_bytes = 64 * 1024;     ///< inbound WebSocket message (1009 past it)
  uint32_t max_connections = 100000;          ///< per node; past it new sockets get 503
  uint32_t max_tags_per_connection = 256;     ///< subscriptions held by one connection
  uint32_t max_outbound_bytes = 1024 * 1024;  ///< queued per connection; past it: 4008
  /// Received while the connection is not read (before the pause took effect), waiting to
  /// be handled; past it the connection is closed as a slow consumer.
  uint32_t max_paused_input_bytes = 1024 * 1024;
  uint32_t max_header_bytes = 8192;           ///< HTTP request head (431 past it)
  uint32_t handshake_timeout_ms = 5000;       ///< time to send a complete request head
  uint32_t idle_timeout_ms = 60000;           ///< ping a silent client; close if no answer
  /// SIGTERM: /readyz answers 503 this long, clients still served, before the drain starts
  uint32_t drain_delay_ms = 0;
  uint32_t drain_timeout_ms = 5000;           ///< SIGTERM: close clients, exit by then
  uint32_t drain_spread_ms = 0;  ///< SIGTERM: clients told to go at random moments within it
  // Per-connection rate limits (token buckets; rate 0: unlimited): past them `err
  // rate_limited`, the request is not carried out and the connection stays open.
  uint32_t pub_rate = 10000;                  ///< `pub` frames per second...
  uint32_t pub_burst = 20000;                 ///< ...and at once
  uint32_t sub_rate = 100;                    ///< `sub` and `unsub` frames per second...
  uint32_t sub_burst = 1000;                  ///< ...and at once
  uint32_t auth_rate = 10;                    ///< `auth` frames per second...
  uint32_t auth_burst = 20;                   ///< ...and at once
  // Frames that are no command (binary, not valid JSON or not a known op, pongs): past
  // this bucket the connection is closed with 1008 rather than answered without end.
  uint32_t invalid_frame_rate = 10;           ///< per second...
  uint32_t invalid_frame_burst = 100;         ///< ...and at once
  uint32_t max_pending_recoveries = 4;        ///< `sub` with `since` waiting, per connection
  uint32_t max_recovery_tags = 1000;          ///< tags one pattern's `since` replays (1.1)
  // Queues between parts of a node, per shard: past them, requests that would add to them
  // get `err unavailable` (and the Redis live stream is not read meanwhile).
  uint32_t max_shard_backlog = 64 * 1024 * 1024;   ///< bytes waiting for one other shard
  uint32_t max_broker_backlog = 64 * 1024 * 1024;  ///< bytes of Redis commands in flight
  uint32_t mqtt_max_packet_bytes = 1024 * 1024;  ///< largest MQTT packet from a client
  uint32_t mqtt_max_inflight = 32;     ///< QoS 1 deliveries awaiting PUBACK per session
  uint32_t mqtt_max_pending = 1000;    ///< deliveries queued behind them; past it: closed
  uint32_t mqtt_max_subscriptions = 100;  ///< topic filters per MQTT session
  uint32_t mqtt_max_sessions = 10000;     ///< persistent MQTT sessions a node keeps
  uint64_t mqtt_max_session_bytes = 256 * 1024 * 1024;  ///< and their bytes (without Redis)
  uint32_t mqtt_max_will_bytes = 65535;   ///< will payload in CONNECT (MQTT allows 65535)
  uint32_t mqtt_retained_max = 10000;     ///< retained messages per node (one replica per shard)
  uint64_t mqtt_retained_max_bytes = 16 * 1024 * 1024;  ///< and their bytes

  // Broker.
  broker_url broker;              ///< embedded, or Redis shared by many nodes
  uint32_t history_size = 256;    ///< messages kept per tag for `since` recovery
  uint32_t history_max_age_s = 0;  ///< drop history (and idle tags) older; 0: no age limit
  uint64_t history_max_bytes = 256ull << 20;  ///< embedded: all retained history, node-wide
  uint32_t redis_key_ttl_s = 86400;  ///< Redis: a tag's keys expire this long after last use
  uint32_t redis_max_patterns = 64;  ///< Redis: distinct PSUBSCRIBEs per node
  uint32_t redis_wait_replicas = 0;  ///< Redis: replicas that must have a publish before ok
  uint32_t redis_wait_timeout_ms = 1000;  ///< Redis: how long a publish waits for them
  uint32_t redis_max_reply_bytes = 512u << 20;  ///< Redis: larger replies drop the link
  // Protocol 1.1.
  uint32_t idempotency_window_ms = 300000;  ///< how long a pub's `idem` key is remembered
  uint32_t idempotency_max_keys = 500000;   ///< embedded: idem keys held, node-wide
  uint32_t presence_max_members = 1000;  ///< members a `presence` answer lists (count exact)
  uint32_t presence_ttl_ms = 30000;      ///< Redis: a dead node's members leave within this

  // Authentication.
  bool no_auth = false;             ///< development only: everyone may do everything
  std::string jwks_file;            ///< Ed25519 public keys (RFC 7517 JWKS)
  std::string hmac_secret_file;     ///< HS256 shared secret
  uint32_t auth_timeout_ms = 5000;  ///< time to send the first `auth` frame
  uint32_t token_leeway_s = 30;     ///< clock skew allowed on exp/nbf
  uint32_t max_token_bytes = 8192;  ///< longer tokens are refused unread
  std::string jwt_audience;         ///< required in `aud` when set
  std::string jwt_issuer;           ///< required as `iss` when set

  // Observability.
  wsa::log_level log_level = wsa::log_level::info;
  wsa::log_format log_format = wsa::log_format::text;  ///< text (logfmt) or json
  std::string stats_tag;  ///< publish the node's counters here once a second; empty: off

  // Web pages served beside the WebSocket endpoint.
  std::string static_dir;  ///< files served under / (loaded at start); empty: none

  // Tests only (docs/testing.md): environment variables that are no option.
  uint64_t test_mailbox_bytes = 0;  ///< WSA_TEST_MAILBOX_BYTES: rings between shards; 0: sized
                                    ///< by the node
  /// WSA_TEST_MQTT_HELD_TTL_MS: the TTL in Redis of a session record while a connection holds
  /// it (renewed at half of it); 0: limits::max_session_expiry (7 days)
  uint64_t test_mqtt_held_ttl_ms = 0;
};

}  // namespace wsa
