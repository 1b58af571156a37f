// The server's configuration: every option of `wsagent serve`. Filled by src/cli from, in
// order of precedence, command-line flags, WSAGENT_* environment variables, an optional
// config file and these defaults. Read-only once the shards start.
#pragma once

#include <cstdint>
#include <string>

namespace wsa {

struct config {
  // Network.
  std::string listen = "0.0.0.0:8080";  ///< host:port; port 0 picks a free port
  unsigned shards = 0;                  ///< 0: one per CPU the process may run on
  bool pin_shards = true;               ///< pin shard i to the i-th allowed CPU
  std::string node_id;                  ///< "node" in hello; empty: the host name

  // Limits (bad or greedy clients).
  uint32_t max_message_bytes = 64 * 1024;       ///< inbound WebSocket message (1009 past it)
  uint32_t max_connections = 100000;            ///< per node; past it new sockets get 503
  uint32_t max_tags_per_connection = 256;       ///< subscriptions held by one connection
  uint32_t max_outbound_bytes = 1024 * 1024;    ///< queued per connection; past it: 4008
  uint32_t max_header_bytes = 8192;             ///< HTTP request head (431 past it)
  uint32_t handshake_timeout_ms = 5000;         ///< time to send a complete request head
  uint32_t idle_timeout_ms = 60000;             ///< ping a silent client; close if no answer
  uint32_t drain_timeout_ms = 5000;             ///< SIGTERM: close clients, exit by then

  // Broker.
  std::string broker = "embedded";  ///< "embedded" or redis://[:password@]host:port[/db]
  uint32_t history_size = 256;      ///< messages kept per tag for `since` recovery
  uint32_t history_max_age_s = 0;   ///< Redis history trim by age; 0: by count only

  // Authentication.
  bool no_auth = false;                 ///< development only: everyone may do everything
  std::string jwks_file;                ///< Ed25519 public keys (RFC 7517 JWKS)
  std::string hmac_secret_file;         ///< HS256 shared secret
  uint32_t auth_timeout_ms = 5000;      ///< time to send the first `auth` frame
  uint32_t token_leeway_s = 30;         ///< clock skew allowed on exp/nbf
  uint32_t max_token_bytes = 8192;      ///< longer tokens are refused unread

  // Observability.
  std::string log_level = "info";
  std::string log_format = "text";      ///< text (logfmt) or json (one object per line)
  std::string stats_tag;  ///< publish the node's counters here once a second; empty: off

  // Web pages served beside the WebSocket endpoint.
  std::string static_dir;  ///< files served under / (loaded at start); empty: none
};

}  // namespace wsa
