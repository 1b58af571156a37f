// What a protocol handler may do to a connection it serves. The shard implements it: it
// owns the connection's socket, its output queue's bound, its deadline and its life, so a
// handler (handlers/http_endpoints, handlers/ws_v1, later MQTT) never touches the ring, the
// timer list or the free list. Shard thread only.
#pragma once

#include <cstdint>

#include "server/conn.h"

namespace wsa {

class frame;

class conn_host {
 public:
  /// Queues a frame (taking a reference) counted against the outbound bound. Past the
  /// bound the connection's handler is told (on_overflow: WebSocket closes with 4008) and
  /// false is returned; nothing more may be queued then.
  virtual bool queue(conn& c, frame* f) = 0;
  /// Queues a frame that is never refused: a close frame, an HTTP response (one at a time:
  /// the connection is not read while its answer is unsent).
  virtual void queue_control(conn& c, frame* f) = 0;
  /// Queues `f` (counted like queue()) in place of the frame queued at `position` if that
  /// one is still unsent (the latest pong replaces an unsent one, RFC 6455 5.5.3); else
  /// appends it and sets `position`. Returns true if it replaced.
  virtual bool queue_replacing(conn& c, frame* f, uint64_t& position) = 0;
  /// The connection ends: what is queued is sent, then FIN, then the shard waits a moment
  /// for the peer's close. The handler's on_closed runs first.
  virtual void close_after_flush(conn& c) = 0;
  /// The connection ends now (its handler's on_closed runs first).
  virtual void abort(conn& c) = 0;
  /// The handler's one deadline (handshake, auth); its on_deadline runs when it passes.
  virtual void set_deadline(conn& c, int64_t at_ms) = 0;
  virtual void clear_deadline(conn& c) = 0;
  /// Hands an open connection to another protocol's handler (the WebSocket upgrade).
  virtual void switch_protocol(conn& c, conn_protocol to) = 0;
  /// The connection in `slot` if it is still the one of `generation` (a record from another
  /// shard names a connection so), else null.
  virtual conn* find(uint32_t slot, uint32_t generation) = 0;

 protected:
  ~conn_host() = default;
};

}  // namespace wsa
