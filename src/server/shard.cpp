#include "server/shard.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "broker/embedded.h"
#include "broker/redis_broker.h"
#include "core/op.h"
#include "obs/log.h"
#include "server/node.h"
#include "util/check.h"
#include "util/clock.h"

namespace wsa {
namespace {

constexpr unsigned ring_entries = 4096;
constexpr unsigned recv_buffers = 1024;      // per shard, shared by all connections
constexpr unsigned recv_buffer_size = 16384;
constexpr uint16_t recv_group = 0;
constexpr unsigned max_iov_per_send = 128;
constexpr int64_t tick_ms = 20;              // deadlines are checked this often
constexpr int64_t close_timeout_ms = 2000;   // flush + wait for the peer's FIN
constexpr std::size_t session_pool_max = 256;

}  // namespace

shard::shard(node& owner, unsigned index, int listen_fd)
    : node_(owner),
      id_(index),
      listen_fd_(listen_fd),
      peer_marks_(owner.shard_count(), false),
      parser_(owner.cfg().max_message_bytes),
      pub_rate_(rate_limit::of(owner.cfg().pub_rate, owner.cfg().pub_burst)),
      sub_rate_(rate_limit::of(owner.cfg().sub_rate, owner.cfg().sub_burst)),
      auth_rate_(rate_limit::of(owner.cfg().auth_rate, owner.cfg().auth_burst)),
      mail_written_(owner.shard_count(), false) {}

shard::~shard() {
  for (ws_session* s : session_pool_) {
    delete s;
  }
  for (frame* body : static_bodies_) {
    if (body != nullptr) {
      body->unref();
    }
  }
  if (ping_frame_ != nullptr) {
    ping_frame_->unref();
  }
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
  }
}

bool shard::init(std::string& error) {
  set_log_shard(static_cast<int>(id_));
  if (!ring_.init(ring_entries, error)) {
    return false;
  }
  if (!buffers_.init(ring_, recv_group, recv_buffers, recv_buffer_size, error)) {
    return false;
  }
  broker_listener& listener = *this;
  if (const redis_broker_options* redis = node_.redis()) {
    broker_ = std::make_unique<redis_broker>(listener, ring_, *redis, metrics_);
    shared_broker_ = true;
  } else {
    embedded_options options;
    options.epoch = node_.epoch();
    options.history_size = node_.cfg().history_size;
    // Tags spread evenly over the shards (seeded hash): each keeps an equal share.
    options.history_max_bytes = node_.cfg().history_max_bytes / node_.shard_count();
    options.history_max_age_ms = int64_t{node_.cfg().history_max_age_s} * 1000;
    broker_ = std::make_unique<embedded_broker>(listener, std::move(options), metrics_);
  }
  init_auth();
  ping_frame_ = frame::make(ws_opcode::ping, {});
  broker_ready_.store(broker_->ready(), std::memory_order_relaxed);
  iov_arena_.resize(64 * 1024);
  msg_arena_.resize(4096);
  return true;
}

void shard::run() {
  arm_accept();
  while (true) {
    turn();
    if (draining_ && drained(monotonic_ms())) {
      break;
    }
  }
  // Nothing may complete into freed memory: reap until every connection's last operation
  // has ended and the connection is freed (past the drain deadline they were all aborted,
  // so this is quick; the bound only guards against a kernel that never answers). Redis
  // links cancel and wait for their own operations in their destructors.
  const int64_t give_up = monotonic_ms() + close_timeout_ms;
  while (conns_.live() > 0 && monotonic_ms() < give_up) {
    ring_.submit_and_wait(tick_ms);
    ring_.drain([this](const completion& c) { on_completion(c); });
    free_dead();
  }
  ring_.submit_no_wait();
}

void shard::turn() {
  // 1. Submit and wait. Announce sleep before the last look at the mailboxes, so that a
  //    peer publishing meanwhile rings the doorbell (core/wakeup.h).
  wakeup_.going_to_sleep();
  bool mail_waiting = false;
  for (unsigned peer = 0; peer < node_.shard_count(); ++peer) {
    if (peer != id_ && node_.mail(peer, id_).readable()) {
      mail_waiting = true;
    }
  }
  if (mail_waiting || !rearm_recv_.empty()) {
    ring_.submit_no_wait();
  } else {
    ring_.submit_and_wait(tick_ms);
  }
  wakeup_.awake();
  iov_used_ = 0;  // the kernel has consumed every iovec submitted (IORING_FEAT_SUBMIT_STABLE)
  msg_used_ = 0;

  // 2. Completions.
  ring_.drain([this](const completion& c) { on_completion(c); });
  for (conn* c : rearm_recv_) {
    if (c->state != conn_state::dead && !c->recv_armed && !c->input_paused) {
      arm_recv(*c);
    }
  }
  rearm_recv_.clear();

  // 3. Mail from other shards.
  for (unsigned peer = 0; peer < node_.shard_count(); ++peer) {
    if (peer != id_) {
      node_.mail(peer, id_).consume(
          [this, peer](uint32_t type, std::string_view bytes) { on_record(peer, type, bytes); });
    }
  }

  // 4. Timers.
  const int64_t now = monotonic_ms();
  if (!draining_ && node_.draining.load(std::memory_order_relaxed)) {
    start_draining(now);
  }
  on_timers(now);
  broker_->poll();
  broker_ready_.store(broker_->ready(), std::memory_order_relaxed);

  metrics_.frames.set(static_cast<uint64_t>(frames_alive.frames));
  metrics_.frame_bytes.set(static_cast<uint64_t>(frames_alive.bytes));

  // 5-7.
  flush_dirty();
  publish_mail();
  refresh_backlog();
  free_dead();
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
  if (listen_fd_ < 0) {
    return;
  }
  ring_.accept_multishot(listen_fd_, encode_op(io_op::accept, 0, 0));
  accept_armed_ = true;
}

void shard::pause_accept(int64_t now) {
  accept_backoff_ms_ = std::clamp<int64_t>(accept_backoff_ms_ * 2, 10, 1000);
  accept_resume_ms_ = now + accept_backoff_ms_;
  if (!accept_paused_) {
    accept_paused_ = true;
    metrics_.accept_paused.set(1);
  }
  if (accept_armed_) {
    // A multishot accept that survived the error would fail again at once.
    ring_.cancel(encode_op(io_op::accept, 0, 0), encode_op(io_op::cancel, 0, 0));
  }
}

void shard::resume_accept() {
  accept_paused_ = false;
  metrics_.accept_paused.set(0);
  if (!accept_armed_ && !draining_) {
    arm_accept();
  }
}

void shard::on_accept(const completion& done) {
  if (!done.more()) {
    accept_armed_ = false;
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
      static constexpr char busy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
          "Content-Length: 57\r\nConnection: close\r\n\r\n"
          "{\"error\":\"unavailable\",\"reason\":\"connection limit reached\"}";
      // Best effort on a fresh socket: the kernel buffer always has room for this.
      [[maybe_unused]] ssize_t n = ::send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
    } else {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      conn* c = conns_.acquire();
      c->fd = fd;
      c->state = conn_state::http;
      c->id = (uint64_t{id_} << 40) | ++next_conn_id_;
      c->last_rx_ms = monotonic_ms();
      metrics_.connections.add();
      set_deadline(*c, c->last_rx_ms + node_.cfg().handshake_timeout_ms);
      arm_recv(*c);
    }
  }
  if (!accept_armed_ && !draining_ && !accept_paused_) {
    arm_accept();
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
    c.ping_sent = false;
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
  if (done.result == -ENOBUFS || (done.result == -ECANCELED && c.state != conn_state::dead)) {
    // Every receive buffer is in use this turn: try again once they are recycled. Or the
    // receive of a paused connection ended: it is armed again when the pause ends.
    if (!c.recv_armed && !c.input_paused && c.state != conn_state::dead) {
      rearm_recv_.push_back(&c);
    }
    return;
  }
  // End of stream, reset, or cancelled.
  if (c.state != conn_state::dead) {
    abort_conn(c);
  }
}

void shard::dispatch_input(conn& c, const char* data, std::size_t size) {
  switch (c.state) {
    case conn_state::http:
      on_http_bytes(c, data, size);
      break;
    case conn_state::websocket:
      if (!c.draining) {
        on_ws_bytes(c, data, size);
      }
      break;
    case conn_state::flushing:
    case conn_state::lingering:
    case conn_state::dead:
      break;  // closing: input is discarded
  }
}

// ---- send ----

void shard::mark_dirty(conn& c) {
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(&c);
  }
}

bool shard::enqueue(conn& c, frame* f) {
  if (c.out.bytes() + f->size() > node_.cfg().max_outbound_bytes) {
    metrics_.slow_consumer_closes.add();
    close_ws(c, 4008, "slow consumer", /*drop_unsent=*/true);
    return false;
  }
  c.out.push(f);
  metrics_.messages_out.add();
  mark_dirty(c);
  return true;
}

void shard::start_send(conn& c) {
  if (iov_used_ + max_iov_per_send > iov_arena_.size() || msg_used_ == msg_arena_.size()) {
    // This turn's arenas are full: hand the kernel what is prepared and start over.
    ring_.submit_no_wait();
    iov_used_ = 0;
    msg_used_ = 0;
  }
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
    abort_conn(c);
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
  // Index loop: nothing here adds to dirty_, but be safe against it.
  for (std::size_t i = 0; i < dirty_.size(); ++i) {
    conn& c = *dirty_[i];
    c.dirty = false;
    if (c.state == conn_state::dead || c.send_in_flight) {
      continue;
    }
    if (!c.out.empty()) {
      start_send(c);
    } else if (c.state == conn_state::flushing) {
      // Everything is out: FIN, then read until the peer closes too (lingering close), so
      // that our last frame is not destroyed by a reset.
      ::shutdown(c.fd, SHUT_WR);
      c.state = conn_state::lingering;
    }
  }
  dirty_.clear();
}

// ---- lifecycle ----

void shard::set_deadline(conn& c, int64_t at) {
  c.deadline_ms = at;
  if (!c.timed) {
    c.timed = true;
    c.timed_prev = nullptr;
    c.timed_next = timed_head_;
    if (timed_head_ != nullptr) {
      timed_head_->timed_prev = &c;
    }
    timed_head_ = &c;
  }
}

void shard::clear_deadline(conn& c) {
  if (!c.timed) {
    return;
  }
  if (c.timed_prev != nullptr) {
    c.timed_prev->timed_next = c.timed_next;
  } else {
    timed_head_ = c.timed_next;
  }
  if (c.timed_next != nullptr) {
    c.timed_next->timed_prev = c.timed_prev;
  }
  c.timed = false;
  c.timed_prev = c.timed_next = nullptr;
}

void shard::release_ws_session(conn& c) {
  if (c.ws == nullptr || c.ws == feeding_) {
    return;  // a command closed the connection mid-feed: on_ws_bytes releases it after
  }
  if (c.ws->idle() && session_pool_.size() < session_pool_max) {
    session_pool_.push_back(c.ws);
  } else {
    delete c.ws;  // mid-message or closing: its wslay state is not reusable
  }
  c.ws = nullptr;
}

void shard::close_ws(conn& c, uint16_t code, std::string_view reason, bool drop_unsent,
                     bool queue_frame) {
  if (c.state != conn_state::websocket) {
    return;
  }
  if (drop_unsent) {
    c.out.drop_unsent();
  }
  c.pong_at = no_pong;
  if (queue_frame) {
    c.out.push_adopt(frame::make_close(code, reason));
  }
  c.close_code = code;
  metrics_.websockets.sub();
  release_ws_session(c);
  drop_pending(c);
  c.state = conn_state::flushing;
  stop_pause(c);
  set_deadline(c, monotonic_ms() + close_timeout_ms);
  mark_dirty(c);
}

void shard::close_after_flush(conn& c) {
  if (c.state == conn_state::dead) {
    return;
  }
  if (c.state == conn_state::websocket) {
    metrics_.websockets.sub();
  }
  delete c.http_buffer;
  c.http_buffer = nullptr;
  c.state = conn_state::flushing;
  stop_pause(c);
  set_deadline(c, monotonic_ms() + close_timeout_ms);
  mark_dirty(c);
}

void shard::abort_conn(conn& c) {
  if (c.state == conn_state::dead) {
    return;
  }
  if (c.state == conn_state::websocket) {
    metrics_.websockets.sub();
  }
  c.state = conn_state::dead;
  clear_deadline(c);
  release_ws_session(c);
  stop_pause(c);
  drop_pending(c);
  delete c.http_buffer;
  c.http_buffer = nullptr;
  // Wakes the multishot recv and any send; the socket is closed once both have ended.
  ::shutdown(c.fd, SHUT_RDWR);
  if (c.recv_armed && !c.cancel_sent) {
    ring_.cancel(encode_op(io_op::recv, c.slot, c.generation),
                 encode_op(io_op::cancel, c.slot, c.generation));
    c.cancel_sent = true;
  }
  dead_.push_back(&c);
}

void shard::free_dead() {
  std::size_t kept = 0;
  for (conn* c : dead_) {
    if (c->recv_armed || c->send_in_flight) {
      dead_[kept++] = c;
      continue;
    }
    while (!c->subs.empty()) {
      remove_subscription(*c, c->subs.size() - 1);
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

// ---- timers ----

void shard::on_timers(int64_t now) {
  if (accept_paused_ && now >= accept_resume_ms_) {
    resume_accept();
  }
  for (conn* c = timed_head_; c != nullptr;) {
    conn* next = c->timed_next;
    if (c->deadline_ms <= now) {
      clear_deadline(*c);
      switch (c->state) {
        case conn_state::http:
          metrics_.handshake_failures.add();
          respond_error(*c, 408, "request not received in time");
          break;
        case conn_state::websocket:
          metrics_.auth_timeouts.add();
          close_ws(*c, 4001, "authentication timeout", false);
          break;
        case conn_state::flushing:
        case conn_state::lingering:
          abort_conn(*c);
          break;
        case conn_state::dead:
          break;
      }
    }
    c = next;
  }
  if (id_ == 0 && now >= next_stats_ms_ && !draining_ && !node_.cfg().stats_tag.empty()) {
    publish_stats(now);
  }
  if (now < next_sweep_ms_) {
    return;
  }
  // A few times per idle timeout, at most once a second: idle pings and token expiry (rare
  // events, so a sweep over the connections is cheap enough).
  const int64_t idle = node_.cfg().idle_timeout_ms;
  next_sweep_ms_ = now + (idle == 0 ? 1000 : std::clamp<int64_t>(idle / 4, tick_ms, 1000));
  const int64_t unix_now = unix_seconds();
  conns_.for_each([&](conn& c) {
    if (c.state != conn_state::websocket) {
      return;
    }
    if (c.token_exp != 0 && unix_now >= c.token_exp) {
      metrics_.token_expiries.add();
      close_ws(c, 4001, "token expired", false);
      return;
    }
    if (idle == 0) {
      return;
    }
    const int64_t silent = now - c.last_rx_ms;
    if (silent >= idle && c.ping_sent) {
      metrics_.idle_closes.add();
      abort_conn(c);  // no answer to our ping: the peer is gone
    } else if (silent >= idle / 2 && !c.ping_sent) {
      c.ping_sent = true;
      enqueue(c, ping_frame_);
    }
  });
}

void shard::start_draining(int64_t now) {
  draining_ = true;
  drain_deadline_ = now + node_.cfg().drain_timeout_ms;
  if (listen_fd_ >= 0) {
    ring_.cancel(encode_op(io_op::accept, 0, 0), encode_op(io_op::cancel, 0, 0));
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  // Requests already taken in are answered before the connection closes (or their effect
  // would be unknown to the client); nothing new is read.
  conns_.for_each([this](conn& c) {
    if (c.state == conn_state::websocket) {
      c.draining = true;
      close_when_answered(c);
    } else if (c.state == conn_state::http && c.http_waiting) {
      c.draining = true;
      c.keep_alive = false;  // answered, then closed
    } else if (c.state == conn_state::http) {
      abort_conn(c);
    }
  });
}

void shard::close_when_answered(conn& c) {
  if (c.state == conn_state::websocket && c.publishes_in_flight == 0 && c.pending == nullptr) {
    close_ws(c, 1001, "server shutting down", false);
  }
}

bool shard::drained(int64_t now) {
  if (now >= drain_deadline_) {
    quiet_.store(true, std::memory_order_release);
    conns_.for_each([this](conn& c) { abort_conn(c); });
    // Aborted sockets complete their operations at once; give them a moment, no more.
    return now >= drain_deadline_ + 500;
  }
  // Another shard's client may still wait for an answer from this shard's broker: stop
  // only once every shard is quiet.
  const bool quiet = conns_.live() == 0 &&
                     publish_waiters_.size() == free_publish_waiters_.size() &&
                     query_waiters_.size() == free_query_waiters_.size();
  quiet_.store(quiet, std::memory_order_release);
  return quiet && node_.shards_quiet();
}

// ---- mail ----

char* shard::begin_record(unsigned to, uint32_t type, std::size_t size) {
  mail_written_[to] = true;
  return node_.mail(id_, to).begin_record(type, static_cast<uint32_t>(size));
}

void shard::end_record(unsigned to) {
  node_.mail(id_, to).end_record();
  any_backlogged_ = any_backlogged_ || backlogged(to);
}

void shard::publish_mail() {
  for (unsigned peer = 0; peer < node_.shard_count(); ++peer) {
    if (peer == id_) {
      continue;
    }
    mailbox& box = node_.mail(id_, peer);
    if (!mail_written_[peer] && !box.has_overflow()) {
      continue;
    }
    mail_written_[peer] = false;
    if (box.has_overflow()) {
      metrics_.mailbox_overflows.add();
    }
    if (box.publish()) {
      shard& other = node_.peer(peer);
      if (other.wakeup().must_ring()) {
        ring_.post_to(other.ring_fd(), encode_op(io_op::doorbell, 0, 0),
                      encode_op(io_op::cancel, 0, 0));
      }
    }
  }
}

}  // namespace wsa
