// One client connection, owned by the shard that accepted it for its whole life (it never
// moves). Plain data: the shard's code drives its state machine. Kept small, because a node
// holds hundreds of thousands of them and most are idle: no receive buffer, no wslay
// context and no queue memory while idle.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/perm.h"
#include "http/request.h"
#include "net/out_queue.h"
#include "net/token_bucket.h"

namespace wsa {

class ws_session;
struct pending_sub;

/// HTTP bytes received and not handled yet (an incomplete request, or requests pipelined
/// behind an answer not sent yet), with how far the request at their front was parsed: a
/// head arriving in pieces is scanned once, and a body arriving in pieces is not looked at
/// until it is whole, so a client sending a byte at a time costs linear time.
struct http_pending {
  std::string bytes;
  parse_progress progress;   ///< of the request at the front of `bytes`
  std::size_t awaiting = 0;  ///< its head is complete: bytes needed before its body is
};

enum class conn_state : uint8_t {
  http,       ///< reading an HTTP request head (an upgrade or an admin request)
  websocket,  ///< upgraded and open
  flushing,   ///< a last response or close frame is queued: send it, then FIN
  lingering,  ///< FIN sent: read and discard until the peer closes or the deadline
  dead,       ///< socket shut down; freed once its operations have completed
};

inline constexpr uint64_t no_pong = UINT64_MAX;

struct conn {
  int fd = -1;
  uint32_t slot = 0;
  uint32_t generation = 0;
  conn_state state = conn_state::dead;
  bool recv_armed = false;      ///< a multishot recv is in flight
  bool send_in_flight = false;  ///< the one sendmsg is in flight
  bool dirty = false;           ///< in the shard's flush list for this turn
  bool timed = false;           ///< in the shard's deadline list
  bool ping_sent = false;       ///< an idle ping awaits any answer
  bool keep_alive = false;      ///< HTTP: more requests may follow
  bool cancel_sent = false;
  bool http_waiting = false;    ///< HTTP: a publish awaits the broker; later requests wait
  bool draining = false;        ///< the node drains: no new request; closed once answered
  uint32_t publishes_in_flight = 0;  ///< sent to the tag's owner, not answered yet
  bool input_paused = false;    ///< not read: its answers wait to be sent (shard_flow.cpp)
  uint16_t close_code = 0;      ///< what we sent, for logs and metrics
  uint16_t handshake_status = 0;  ///< HTTP status answered (for the log)
  int64_t deadline_ms = 0;      ///< handshake, close or auth deadline (when timed)
  int64_t last_rx_ms = 0;       ///< last bytes received (idle pings)
  uint64_t id = 0;              ///< node-unique, for hello's "conn"
  uint64_t stamp = 0;           ///< fan-out de-duplication: the last message queued
  uint64_t pong_at = no_pong;   ///< queue position of a pong not yet sent (one at most)
  int64_t token_exp = 0;        ///< unix seconds; 0: no expiry
  uint64_t token_hash = 0;      ///< of the token in use: the same one again is not verified
  token_bucket pub_bucket;      ///< rate limits (--pub-rate, --sub-rate, --auth-rate)
  token_bucket sub_bucket;
  token_bucket auth_bucket;
  http_pending* http_buffer = nullptr;  ///< partial request head or body (HTTP only)
  /// Bytes that arrived after input was paused (received before the pause took effect),
  /// handled in order when it resumes.
  std::unique_ptr<std::string> stash;
  ws_session* ws = nullptr;            ///< attached only mid-message
  /// What the token grants. Null: auth off (everything allowed), or, with auth on, not
  /// authenticated yet (only an `auth` frame is accepted).
  std::unique_ptr<permissions> perms;
  pending_sub* pending = nullptr;      ///< subscribe requests waiting for tag owners
  conn* timed_prev = nullptr;
  conn* timed_next = nullptr;
  out_queue out;
  std::vector<std::string> subs;  ///< tags and patterns held, for limits and cleanup
};

}  // namespace wsa
