// A shard's sockets and the life of its connections: accept, one multishot receive and one
// send in flight per socket (docs/style.md guideline 6), the outbound bound, deadlines,
// closing (a state) and freeing (a phase, once the last operation has completed). What the
// bytes mean is the protocol handler's; see shard.h.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/op.h"
#include "handlers/http_endpoints.h"
#include "handlers/mqtt.h"
#include "handlers/ws_v1.h"
#include "obs/log.h"
#include "router/router.h"
#include "server/node.h"
#include "server/shard.h"
#include "util/check.h"
#include "util/clock.h"
#include "ws/msg_frame.h"

namespace wsa {
namespace {

constexpr int64_t close_timeout_ms = 2000;  // flush + wait for the peer's FIN

}  // namespace

// ---- completions ----

void shard::reap_completions() {
  // Here, with the handlers of each kind, so that the dispatch inlines them.
  ring_.drain([this](const completion& c) { on_completion(c); });
  if (out_of_buffers_) {
    out_of_buffers_ = false;
    buffers_.grow();  // once per turn, before the receives that found none are armed again
  }
  for (conn* c : rearm_recv_) {
    if (c->state != conn_state::dead && !c->recv_armed && !c->input_paused) {
      arm_recv(*c);
    }
  }
  rearm_recv_.clear();
}

void shard::on_completion(const completion& done) {
  const op_data op = decode_op(done.user_data);
  switch (op.kind) {
    case io_op::accept:
      on_accept(done);
      return;
    case io_op::recv: {
      conn* c = conns_.find(op.slot, op.generation);
      if (c == nullptr) {
        if (done.has_buffer()) {
          buffers_.recycle(done.buffer_id());
        }
        return;
      }
      on_recv(*c, done);
      return;
    }
    case io_op::send: {
      conn* c = conns_.find(op.slot, op.generation);
      if (c != nullptr) {
        on_send(*c, done.result);
      }
      return;
    }
    case io_op::link:
      broker_->on_completion(done);
      return;
    case io_op::doorbell:
    case io_op::cancel:
      return;
  }
}

// ---- accept ----

void shard::arm_accept() {
  for (unsigned i = 0; i < listeners_.size(); ++i) {
    arm_accept(i);
  }
}

void shard::arm_accept(unsigned index) {
  listener& l = listeners_[index];
  if (l.fd < 0 || l.armed) {
    return;
  }
  ring_.accept_multishot(l.fd, encode_op(io_op::accept, index, 0));
  l.armed = true;
}

void shard::pause_accept(int64_t now) {
  accept_backoff_ms_ = std::clamp<int64_t>(accept_backoff_ms_ * 2, 10, 1000);
  accept_resume_ms_ = now + accept_backoff_ms_;
  if (!accept_paused_) {
    accept_paused_ = true;
    metrics_.accept_paused.set(1);
  }
  // A multishot accept that survived the error would fail again at once.
  for (unsigned i = 0; i < listeners_.size(); ++i) {
    if (listeners_[i].armed) {
      ring_.cancel(encode_op(io_op::accept, i, 0), encode_op(io_op::cancel, 0, 0));
    }
  }
}

void shard::resume_accept() {
  accept_paused_ = false;
  metrics_.accept_paused.set(0);
  if (!draining_) {
    arm_accept();  // each listener not armed
  }
}

void shard::on_accept(const completion& done) {
  const unsigned index = decode_op(done.user_data).slot == 1 ? 1 : 0;
  bool& armed = listeners_[index].armed;
  if (!done.more()) {
    armed = false;
  }
  if (done.result < 0) {
    const int error = -done.result;
    if (error != ECANCELED && error != EINVAL && !draining_) {
      metrics_.accept_errors.add();
      // Out of descriptors (EMFILE, ENFILE) or memory: the same error would come back at
      // once, so back off; other errors concern one connection only.
      const bool exhausted =
          error == EMFILE || error == ENFILE || error == ENOMEM || error == ENOBUFS;
      const int64_t now = monotonic_ms();
      if (exhausted) {
        pause_accept(now);
      }
      uint64_t suppressed = 0;
      if (accept_log_.allow(now, suppressed)) {
        WSA_LOG(warn, exhausted ? "accept failed: pausing accepts" : "accept failed")
            .kv("error", std::strerror(error))
            .kv("retry_ms", exhausted ? accept_backoff_ms_ : int64_t{0})
            .kv("suppressed", suppressed);
      }
    }
  } else {
    accept_backoff_ms_ = 0;
    const int fd = done.result;
    metrics_.connections_accepted.add();
    const uint32_t open = node_.connections.fetch_add(1, std::memory_order_relaxed);
    if (open >= node_.cfg().max_connections || draining_) {
      node_.connections.fetch_sub(1, std::memory_order_relaxed);
      metrics_.connections_refused.add();
      const std::string& why = draining_ ? refusal_draining_ : refusal_full_;
      // Best effort on a fresh socket: the kernel buffer always has room for this.
      [[maybe_unused]] ssize_t n =
          ::send(fd, why.data(), why.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
    } else {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      conn* c = conns_.acquire();
      c->fd = fd;
      c->state = conn_state::open;
      c->protocol = index == 0 ? conn_protocol::http : conn_protocol::mqtt;
      c->id = (uint64_t{id_} << 40) | ++next_conn_id_;
      c->last_rx_ms = monotonic_ms();
      metrics_.connections.add();
      if (index == 0) {
        http_->on_open(*c);
      } else {
        mqtt_->on_open(*c, /*over_ws=*/false);
      }
      arm_recv(*c);
    }
  }
  if (!armed && !draining_ && !accept_paused_) {
    arm_accept(index);
  }
}

// ---- receive ----

void shard::arm_recv(conn& c) {
  ring_.recv_multishot(c.fd, buffers_.group(), encode_op(io_op::recv, c.slot, c.generation));
  c.recv_armed = true;
}

void shard::on_recv(conn& c, const completion& done) {
  const bool more = done.more();
  if (!more) {
    c.recv_armed = false;
    c.cancel_sent = false;  // nothing left to cancel
  }
  if (done.result > 0) {
    const uint16_t id = done.buffer_id();
    const char* data = buffers_.buffer(id);
    const auto size = static_cast<std::size_t>(done.result);
    metrics_.bytes_in.add(size);
    c.last_rx_ms = monotonic_ms();
    if (c.input_paused) {
      stash_input(c, data, size);  // received before the pause took effect
    } else {
      dispatch_input(c, data, size);
      pause_if_blocked(c);
    }
    buffers_.recycle(id);  // both parsers copied what they keep
    if (!c.recv_armed && !c.input_paused && c.state != conn_state::dead) {
      rearm_recv_.push_back(&c);
    }
    return;
  }
  if (done.result == -ENOBUFS) {
    out_of_buffers_ = true;
  }
  if (done.result == -ENOBUFS || (done.result == -ECANCELED && c.state != conn_state::dead)) {
    // Every receive buffer is in use this turn: try again once they are recycled. Or the
    // receive of a paused connection ended: it is armed again when the pause ends.
    if (!c.recv_armed && !c.input_paused && c.state != conn_state::dead) {
      rearm_recv_.push_back(&c);
    }
    return;
  }
  // End of stream, reset, or cancelled.
  abort(c);
}

void shard::dispatch_input(conn& c, const char* data, std::size_t size) {
  if (c.state != conn_state::open) {
    return;  // closing: input is discarded
  }
  switch (c.protocol) {
    case conn_protocol::http:
      http_->on_bytes(c, data, size);
      break;
    case conn_protocol::ws_v1:
      ws_->on_bytes(c, data, size);
      break;
    case conn_protocol::mqtt:
      mqtt_->on_bytes(c, data, size);
      break;
  }
}

// ---- send ----

void shard::mark_dirty(conn& c) {
  // A dead connection is in dirty_ or in dead_, never both (abort, flush_dirty): it sends
  // nothing more, so it is not queued again.
  if (!c.dirty && c.state != conn_state::dead) {
    c.dirty = true;
    dirty_.push_back(&c);
  }
}

void shard::overflow(conn& c) {
  switch (c.protocol) {
    case conn_protocol::ws_v1:
      ws_->on_overflow(c);
      break;
    case conn_protocol::mqtt:
      mqtt_->on_overflow(c);
      break;
    case conn_protocol::http:
      abort(c);
      break;
  }
}

bool shard::enqueue(conn& c, frame* f) {
  if (c.out.bytes() + f->size() > node_.cfg().max_outbound_bytes) {
    overflow(c);
    return false;
  }
  c.out.push(f);
  metrics_.messages_out.add();
  mark_dirty(c);
  return true;
}

void shard::queue_control(conn& c, frame* f) {
  c.out.push(f);
  mark_dirty(c);
}

bool shard::queue_replacing(conn& c, frame* f, uint64_t& position) {
  if (position != UINT64_MAX && c.out.replace_unsent(position, f)) {
    return true;
  }
  const uint64_t at = c.out.next_position();
  if (enqueue(c, f)) {
    position = at;
  }
  return false;
}

void shard::start_send(conn& c) {
  // Only flush_dirty starts sends, max_sends_per_turn at most a turn, and turn() resets the
  // arenas once the kernel has their last turn's (the shutdown's reaping starts none): the
  // arenas are sized for that.
  WSA_ASSERT(iov_used_ + max_iov_per_send <= iov_arena_.size() &&
             msg_used_ < msg_arena_.size());
  iovec* iov = &iov_arena_[iov_used_];
  const unsigned count = c.out.gather(iov, max_iov_per_send);
  const uint64_t user_data = encode_op(io_op::send, c.slot, c.generation);
  if (count == 1) {
    // One frame (the usual case at light load): a plain send skips the msghdr and iovec
    // copies of sendmsg in the kernel.
    ring_.send(c.fd, iov->iov_base, iov->iov_len, user_data);
  } else {
    iov_used_ += count;
    msghdr* msg = &msg_arena_[msg_used_++];
    *msg = msghdr{};
    msg->msg_iov = iov;
    msg->msg_iovlen = count;
    ring_.sendmsg(c.fd, msg, user_data);
  }
  c.send_in_flight = true;
}

void shard::on_send(conn& c, int result) {
  c.send_in_flight = false;
  if (c.state == conn_state::dead) {
    return;
  }
  if (result < 0) {
    abort(c);
    return;
  }
  metrics_.bytes_out.add(static_cast<uint64_t>(result));
  c.out.consume(static_cast<std::size_t>(result));
  mark_dirty(c);  // more to send, or a close to finish: flush_dirty decides
  if (c.input_paused) {
    // The peer takes what we send: it is alive even though we do not read it (idle checks
    // measure silence from here while paused).
    if (result > 0) {
      c.last_rx_ms = monotonic_ms();
    }
    resume_if_unblocked(c);
  }
}

void shard::flush_dirty() {
  // dirty_ is a queue: connections marked later wait behind those left by the previous
  // turn, so none is starved. Marked again after its send completes, a connection goes to
  // the back; a connection is in dirty_ once at most (its dirty flag). One that died while
  // queued goes to dead_ as it leaves (abort left it here), so that dead_ holds no entry
  // still pointed to from dirty_.
  unsigned started = 0;
  std::size_t next = dirty_head_;
  for (; next < dirty_.size() && started < max_sends_per_turn; ++next) {
    conn& c = *dirty_[next];
    c.dirty = false;
    if (c.state == conn_state::dead) {
      dead_.push_back(&c);
      continue;
    }
    if (c.send_in_flight) {
      continue;
    }
    if (!c.out.empty()) {
      start_send(c);
      ++started;
    } else if (c.state == conn_state::flushing) {
      // Everything is out: FIN, then read until the peer closes too (lingering close), so
      // that our last frame is not destroyed by a reset.
      ::shutdown(c.fd, SHUT_WR);
      c.state = conn_state::lingering;
    }
  }
  metrics_.sends_started.add(started);
  dirty_head_ = next;
  if (dirty_head_ == dirty_.size()) {
    dirty_.clear();
    dirty_head_ = 0;
    return;
  }
  metrics_.send_turns_split.add();
  // The served front is dropped once it is half the vector: each entry moves at most once
  // on average (a 100,000-connection queue is not shifted 64 entries at a time), and the
  // vector stays within twice the connections (each is queued once at most).
  if (dirty_head_ >= dirty_.size() / 2) {
    dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(dirty_head_));
    dirty_head_ = 0;
  }
}

// The router's fan-out: one message for these subscribers, each transport's frame made once.
void shard::deliver(message& m, std::span<const uint32_t> subscribers) {
  uint64_t delivered = 0;
  frame* ws_frame = nullptr;  // encoded on first use, shared by every WebSocket subscriber
  for (const uint32_t slot : subscribers) {
    conn& c = conns_.at(slot);
    if (c.state != conn_state::open) {
      continue;
    }
    switch (c.protocol) {
      case conn_protocol::ws_v1:
        if (ws_frame == nullptr) {
          ws_frame = ws_msg_frame(m);
        }
        if (enqueue(c, ws_frame)) {
          ++delivered;  // not when the queue was full and the connection closed (4008)
        }
        break;
      case conn_protocol::mqtt:
        mqtt_->deliver(c, m);  // counts its own deliveries (some wait in its QoS 1 window)
        break;
      case conn_protocol::http:
        break;
    }
  }
  metrics_.deliveries.add(delivered);
}

// ---- deadlines ----

void shard::set_deadline(conn& c, int64_t at) {
  if (!c.timed) {
    c.timed = true;
    c.timed_index = static_cast<uint32_t>(timed_.size());
    timed_.push_back({&c, at});
  } else {
    timed_[c.timed_index].deadline_ms = at;
  }
}

void shard::clear_deadline(conn& c) {
  if (!c.timed) {
    return;
  }
  const uint32_t at = c.timed_index;
  timed_[at] = timed_.back();
  timed_[at].c->timed_index = at;
  timed_.pop_back();
  c.timed = false;
}

// ---- the connections' life ----

void shard::switch_protocol(conn& c, conn_protocol to) { c.protocol = to; }

void shard::closing(conn& c) {
  switch (c.protocol) {
    case conn_protocol::http:
      http_->on_closed(c);
      break;
    case conn_protocol::ws_v1:
      ws_->on_closed(c);
      break;
    case conn_protocol::mqtt:
      mqtt_->on_closed(c);
      break;
  }
}

void shard::close_after_flush(conn& c) {
  if (c.state != conn_state::open) {
    return;
  }
  closing(c);
  c.state = conn_state::flushing;
  stop_pause(c);
  set_deadline(c, monotonic_ms() + close_timeout_ms);
  mark_dirty(c);
}

void shard::abort(conn& c) {
  if (c.state == conn_state::dead) {
    return;
  }
  if (c.state == conn_state::open) {
    closing(c);
  }
  c.state = conn_state::dead;
  clear_deadline(c);
  stop_pause(c);
  // Wakes the multishot recv and any send; the socket is closed once both have ended.
  ::shutdown(c.fd, SHUT_RDWR);
  if (c.recv_armed && !c.cancel_sent) {
    ring_.cancel(encode_op(io_op::recv, c.slot, c.generation),
                 encode_op(io_op::cancel, c.slot, c.generation));
    c.cancel_sent = true;
  }
  if (!c.dirty) {
    dead_.push_back(&c);  // else flush_dirty moves it there as it leaves dirty_
  }
}

void shard::free_dead() {
  std::size_t kept = 0;
  for (conn* c : dead_) {
    if (c->recv_armed || c->send_in_flight) {
      dead_[kept++] = c;
      continue;
    }
    ::close(c->fd);
    if (accept_paused_) {
      accept_resume_ms_ = 0;  // a descriptor is free: try the backlog at the next turn
    }
    node_.connections.fetch_sub(1, std::memory_order_relaxed);
    metrics_.connections.sub();
    conns_.release(c);
  }
  dead_.resize(kept);
}

}  // namespace wsa
