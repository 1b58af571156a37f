// Backpressure on a shard's connections (issue 8, "Output is bounded, all of it"). Whatever
// a connection's input makes the server write counts against --max-outbound-bytes: command
// replies, pongs, HTTP responses (one at a time). Rather than queueing without end for a
// client that writes and does not read, the shard stops reading it:
//
// - an HTTP connection is read one request at a time: the next pipelined request waits
//   (unparsed, and then in the kernel) until the previous answer has been sent;
// - a WebSocket (or MQTT) connection stops being read once its queue holds half its limit,
//   and is read again when the queue is down to a quarter (subscribers' messages can still
//   fill it to the limit, which closes it with 4008 as before); an MQTT 3.1.1 client is not
//   read either while it has the Receive Maximum of QoS 1/2 PUBLISHes unanswered
//   (mqtt_handler).
//
// Stopping means cancelling the connection's multishot receive. Completions already posted
// before the cancel takes effect are kept in conn::stash and handled first on resume, up to
// --max-paused-input (past it the connection is closed as a slow consumer). The client's
// further bytes wait in the kernel's socket buffers, whose window pushes back on the
// client: its memory, not ours.
#include "core/op.h"
#include "handlers/http_endpoints.h"
#include "handlers/mqtt.h"
#include "server/node.h"
#include "server/shard.h"

namespace wsa {

bool shard::input_blocked(const conn& c, std::size_t out_limit) const {
  if (c.state != conn_state::open) {
    return false;  // closing: read (to see the FIN) and discarded
  }
  switch (c.protocol) {
    case conn_protocol::http:
      return !c.out.empty() || c.http.waiting;
    case conn_protocol::ws_v1:
      return c.out.bytes() >= out_limit;
    case conn_protocol::mqtt:
      return c.out.bytes() >= out_limit || mqtt_->input_blocked(c);
  }
  return false;
}

void shard::pause_if_blocked(conn& c) {
  if (c.input_paused || !input_blocked(c, node_.cfg().max_outbound_bytes / 2)) {
    return;
  }
  c.input_paused = true;
  metrics_.input_pauses.add();
  metrics_.connections_paused.add();
  if (c.recv_armed && !c.cancel_sent) {
    ring_.cancel(encode_op(io_op::recv, c.slot, c.generation),
                 encode_op(io_op::cancel, c.slot, c.generation));
    c.cancel_sent = true;
  }
}

void shard::resume_if_unblocked(conn& c) {
  if (!c.input_paused || c.state == conn_state::dead ||
      input_blocked(c, node_.cfg().max_outbound_bytes / 4)) {
    return;
  }
  c.input_paused = false;
  metrics_.connections_paused.sub();
  // In arrival order: HTTP requests already received, then what came after the pause.
  if (c.open_as(conn_protocol::http) && c.http.buffer != nullptr) {
    http_->on_bytes(c, nullptr, 0);
  }
  if (c.stash != nullptr && !c.input_paused) {
    const std::unique_ptr<std::string> stash = std::move(c.stash);
    dispatch_input(c, stash->data(), stash->size());
  }
  pause_if_blocked(c);
  if (!c.input_paused && !c.recv_armed && c.state != conn_state::dead) {
    rearm_recv_.push_back(&c);
  }
}

void shard::stop_pause(conn& c) {
  c.stash.reset();
  if (!c.input_paused) {
    return;
  }
  c.input_paused = false;
  metrics_.connections_paused.sub();
  if (!c.recv_armed && c.state != conn_state::dead) {
    rearm_recv_.push_back(&c);
  }
}

void shard::stash_input(conn& c, const char* data, std::size_t size) {
  const std::size_t held = c.stash == nullptr ? 0 : c.stash->size();
  if (held + size > node_.cfg().max_paused_input_bytes) {
    // A client that is not read yet kept sending that much: it is not reading its
    // answers either. Closing it is what bounds what it makes us hold.
    metrics_.stash_overflow_closes.add();
    overflow(c);  // ends the pause; the stash is dropped
    return;
  }
  if (c.stash == nullptr) {
    c.stash = std::make_unique<std::string>();
  }
  c.stash->append(data, size);
}

// ---- backlogs between shards ----
//
// A shard whose peer is slower than the records sent to it keeps the excess in the
// mailbox's overflow list. Past --max-shard-backlog it stops adding to it: the router
// refuses publishes and subscriptions whose records would join that backlog (unavailable)
// at their source, and the Redis broker stops reading live messages (they wait in Redis)
// until it drains. Answers and interest records, small and owed, are always sent.

bool shard::backlogged(unsigned peer) const {
  return node_.mail(id_, peer).overflow_bytes() > node_.cfg().max_shard_backlog;
}

void shard::refresh_backlog() {
  std::size_t waiting = 0;
  bool any = false;
  for (unsigned peer = 0; peer < node_.shard_count(); ++peer) {
    if (peer != id_) {
      waiting += node_.mail(id_, peer).overflow_bytes();
      any = any || backlogged(peer);
    }
  }
  metrics_.shard_backlog_bytes.set(waiting);
  any_backlogged_ = any;
  if (any != live_paused_) {
    live_paused_ = any;
    broker_->pause_live(any);
  }
}

}  // namespace wsa
