// One client connection, owned by the shard that accepted it for its whole life (it never
// moves). Plain data: the shard drives its I/O and life (state), and the protocol handler
// named by `protocol` drives what flows on it, through conn_host (server/conn_host.h).
// Kept small, because a node holds hundreds of thousands of them and most are idle: no
// receive buffer, no wslay context and no queue memory while idle; a connection's
// subscriptions live in the router.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "auth/perm.h"
#include "http/request.h"
#include "net/out_queue.h"
#include "net/token_bucket.h"

namespace wsa {

class ws_session;
struct mqtt_conn;

/// Where a connection is in its life (the shard's business).
enum class conn_state : uint8_t {
  open,       ///< its handler reads and writes
  flushing,   ///< a last response or close frame is queued: send it, then FIN
  lingering,  ///< FIN sent: read and discard until the peer closes or the deadline
  dead,       ///< socket shut down; freed once its operations have completed
};

/// Which handler serves an open connection (the shard dispatches with a switch on it).
enum class conn_protocol : uint8_t {
  http,   ///< handlers/http_endpoints: request heads, admin endpoints, the upgrade
  ws_v1,  ///< handlers/ws_v1: protocol v1 over WebSocket
  mqtt,   ///< handlers/mqtt: MQTT over TCP (--mqtt-listen) or over WebSocket (/mqtt)
};

/// HTTP bytes received and not handled yet (an incomplete request, or requests pipelined
/// behind an answer not sent yet), with how far the request at their front was parsed: a
/// head arriving in pieces is scanned once, and a body arriving in pieces is not looked at
/// until it is whole, so a client sending a byte at a time costs linear time.
struct http_pending {
  std::string bytes;
  parse_progress progress;   ///< of the request at the front of `bytes`
  std::size_t awaiting = 0;  ///< its head is complete: bytes needed before its body is
};

/// What the HTTP endpoints keep per connection.
struct http_conn_state {
  http_pending* buffer = nullptr;  ///< partial or pipelined requests
  bool keep_alive = false;        ///< more requests may follow
  bool waiting = false;           ///< a publish awaits the broker; later requests wait
};

inline constexpr uint64_t no_pong = UINT64_MAX;

/// What the WebSocket v1 handler keeps per connection.
struct ws_conn_state {
  ws_session* session = nullptr;  ///< attached only mid-message
  /// What the token grants. Null: auth off (everything allowed), or, with auth on, not
  /// authenticated yet (only an `auth` frame is accepted).
  std::unique_ptr<permissions> perms;
  int64_t token_exp = 0;   ///< unix seconds; 0: no expiry
  uint64_t token_hash = 0;  ///< of the token in use: the same one again is not verified
  uint64_t pong_at = no_pong;  ///< queue position of a pong not yet sent (one at most)
  token_bucket pub_bucket;     ///< rate limits (--pub-rate, --sub-rate, --auth-rate)
  token_bucket sub_bucket;
  token_bucket auth_bucket;
  token_bucket invalid_bucket;  ///< frames refused unread or ignored (--invalid-frame-rate)
  bool ping_sent : 1 = false;  ///< an idle ping awaits any answer
  bool pong_owed : 1 = false;  ///< its pong has not come: that pong costs no invalid-frame token
  bool draining = false;   ///< the node drains: no new request; closed once answered
  uint16_t close_code = 0;  ///< what we sent, for logs and metrics (here: no padding)
  uint32_t publishes_in_flight = 0;  ///< sent to the tag's owner, not answered yet
};

struct conn {
  int fd = -1;
  uint32_t slot = 0;
  uint32_t generation = 0;
  conn_state state = conn_state::dead;
  conn_protocol protocol = conn_protocol::http;
  bool recv_armed = false;      ///< a multishot recv is in flight
  bool send_in_flight = false;  ///< the one send is in flight
  bool dirty = false;           ///< in the shard's queue of connections to flush
  bool timed = false;           ///< has a deadline in the shard's list (timed_index)
  bool cancel_sent = false;
  bool input_paused = false;    ///< not read: its answers wait to be sent (shard_flow.cpp)
  uint32_t timed_index = 0;     ///< where its deadline is in the shard's list (when timed)
  int64_t last_rx_ms = 0;       ///< last bytes received (idle pings)
  uint64_t id = 0;              ///< node-unique, for hello's "conn"
  out_queue out;
  /// Bytes that arrived after input was paused (received before the pause took effect),
  /// handled in order when it resumes.
  std::unique_ptr<std::string> stash;
  http_conn_state http;
  ws_conn_state ws;
  mqtt_conn* mqtt = nullptr;  ///< the MQTT handler's state (handlers/mqtt_conn.h), owned by it

  /// Open and served by `p`.
  bool open_as(conn_protocol p) const { return state == conn_state::open && protocol == p; }
};

}  // namespace wsa
