// The shard's loop turn, its phases and the dispatch of completions, records and broker
// results; the router's client and mail port. Sockets and the connections' life are in
// shard_io.cpp. See shard.h.
#include "server/shard.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "broker/embedded.h"
#include "broker/redis_broker.h"
#include "core/op.h"
#include "handlers/http_endpoints.h"
#include "handlers/mqtt.h"
#include "handlers/token_gate.h"
#include "handlers/ws_v1.h"
#include "http/response.h"
#include "obs/log.h"
#include "obs/stats_report.h"
#include "router/router.h"
#include "server/node.h"
#include "util/clock.h"
#include "util/xorshift.h"

namespace wsa {
namespace {

constexpr unsigned ring_entries = 4096;
constexpr unsigned recv_buffers = 1024;  // per shard at most, shared by all connections
constexpr unsigned recv_buffers_initial = 32;  // more once a receive finds none (buf_ring.h)
constexpr unsigned recv_buffer_size = 16384;
constexpr uint16_t recv_group = 0;
constexpr int64_t tick_ms = 20;             // deadlines are checked this often
constexpr int64_t close_timeout_ms = 2000;  // flush + wait for the peer's FIN

}  // namespace

shard::shard(node& owner, unsigned index, int listen_fd, int mqtt_listen_fd)
    : node_(owner),
      id_(index),
      listeners_{{{.fd = listen_fd}, {.fd = mqtt_listen_fd}}},
      parser_(owner.cfg().max_message_bytes),
      mail_written_(owner.shard_count(), false) {}

shard::~shard() {
  // The handlers hold the connections' sessions; the router, messages; the broker, links
  // on the ring: all go before the ring (declared first, destroyed last).
  http_.reset();
  ws_.reset();
  mqtt_.reset();
  router_.reset();
  broker_.reset();
  for (const listener& l : listeners_) {
    if (l.fd >= 0) {
      ::close(l.fd);
    }
  }
}

bool shard::init(std::string& error) {
  set_log_shard(static_cast<int>(id_));
  if (!ring_.init(ring_entries, error)) {
    return false;
  }
  if (!buffers_.init(ring_, recv_group, recv_buffers, recv_buffer_size, recv_buffers_initial,
                     error)) {
    return false;
  }
  const config& cfg = node_.cfg();
  if (const redis_broker_options* redis = node_.redis()) {
    redis_broker_options options = *redis;
    // One per node brings the cluster's retained messages, on a node that serves MQTT.
    options.retained_channel = id_ == 0 && (cfg.mqtt_tcp || cfg.mqtt_ws);
    broker_ = std::make_unique<redis_broker>(broker_results_, ring_, std::move(options),
                                             metrics_);
  } else {
    embedded_options options;
    options.epoch = node_.epoch();
    options.history_size = cfg.history_size;
    // Tags spread evenly over the shards (seeded hash): each keeps an equal share.
    options.history_max_bytes = cfg.history_max_bytes / node_.shard_count();
    options.history_max_age_ms = int64_t{cfg.history_max_age_s} * 1000;
    options.idem_window_ms = cfg.idempotency_window_ms;
    options.idem_max_keys = cfg.idempotency_max_keys / node_.shard_count();
    broker_ = std::make_unique<embedded_broker>(broker_results_, std::move(options), metrics_);
  }
  router_ = std::make_unique<router>(id_, node_.shard_count(), *broker_,
                                     static_cast<mail_port&>(*this),
                                     static_cast<router_client&>(*this), metrics_);
  gate_ = std::make_unique<token_gate>(cfg, node_.keys(), metrics_);
  conn_host& host = *this;
  ws_ = std::make_unique<ws_v1_handler>(host, *router_, *gate_, parser_, cfg, metrics_,
                                        node_.node_id(), node_.epoch());
  if (cfg.mqtt_tcp || cfg.mqtt_ws) {
    mqtt_ = std::make_unique<mqtt_handler>(host, *router_, static_cast<mail_port&>(*this),
                                           *gate_, cfg, metrics_, id_, node_.shard_count(),
                                           broker_->sessions());
  }
  http_ = std::make_unique<http_endpoints>(host, *router_, *gate_, parser_, *ws_,
                                           cfg.mqtt_ws ? mqtt_.get() : nullptr, node_,
                                           draining_, metrics_);
  broker_ready_.store(broker_->ready(), std::memory_order_relaxed);
  append_connection_refusal(refusal_full_, false);
  append_connection_refusal(refusal_draining_, true);
  iov_arena_.resize(std::size_t{max_sends_per_turn} * max_iov_per_send);
  msg_arena_.resize(max_sends_per_turn);
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
    reap_completions();
    flush_dirty();  // every connection is dead by now: it only moves dirty_'s to dead_
    free_dead();
  }
  ring_.submit_no_wait();
}

void shard::turn() {
  // 1. Submit and wait. Announce sleep before the last look at the mailboxes, so that a
  //    peer publishing meanwhile rings the doorbell (core/wakeup.h).
  wakeup_.going_to_sleep();
  // Connections left in dirty_ have output the last turn's bound of sends did not start.
  bool work_waiting =
      !rearm_recv_.empty() || !broker_results_.empty() || dirty_head_ < dirty_.size();
  for (unsigned peer = 0; peer < node_.shard_count(); ++peer) {
    if (peer != id_ && node_.mail(peer, id_).readable()) {
      work_waiting = true;
    }
  }
  if (work_waiting) {
    ring_.submit_no_wait();
  } else {
    ring_.submit_and_wait(tick_ms);
  }
  wakeup_.awake();
  metrics_.loop_turns.add();
  iov_used_ = 0;  // the kernel has consumed every iovec submitted (IORING_FEAT_SUBMIT_STABLE)
  msg_used_ = 0;

  // 2. Completions.
  reap_completions();

  // 3. Mail from the other shards.
  receive_mail();

  // 4. Timers.
  const int64_t now = monotonic_ms();
  if (!draining_ && node_.draining.load(std::memory_order_relaxed)) {
    start_draining(now);
  }
  on_timers(now);
  if (draining_) {
    drain_due(now);
  }
  router_->tick(now);

  // 5. Broker results, 6. the broker's own turn.
  drain_broker_results();
  broker_->poll();
  if (ring_.expedited()) {
    submit_broker_commands();
  }
  broker_ready_.store(broker_->ready(), std::memory_order_relaxed);

  metrics_.frames.set(static_cast<uint64_t>(frames_alive.frames));
  metrics_.frame_bytes.set(static_cast<uint64_t>(frames_alive.bytes));

  // 7-9.
  flush_dirty();
  send_mail();
  refresh_backlog();
  free_dead();
}

// A command for Redis leaves now, not behind this turn's sends (up to max_sends_per_turn,
// a few hundred microseconds). On a core Redis shares, the kernel runs the woken Redis as
// this submit returns; what it answered meanwhile (a publish's reply, its pub/sub message)
// is collected and handled before the sends, so a publish is fanned out in the turn that
// read it instead of two turns later (docs/benchmarks.md, "What /proc charged to Redis,
// and the Redis hop on a shared core"). With Redis elsewhere it costs one submit a turn
// that sends it a command. The broker is not polled again: its timers (session renewals,
// at most 256 a turn) run once a turn, and what this reap made it queue leaves next turn.
void shard::submit_broker_commands() {
  ring_.submit_no_wait();
  if (ring_.work_arrived()) {
    ring_.submit_no_wait();
  }
  reap_completions();
  drain_broker_results();
}

void shard::receive_mail() {
  for (unsigned peer = 0; peer < node_.shard_count(); ++peer) {
    if (peer != id_) {
      node_.mail(peer, id_).consume([this, peer](uint32_t type, std::string_view bytes) {
        if (type >= mqtt_records::base && mqtt_ != nullptr) {
          mqtt_->on_record(peer, type, bytes);  // MQTT's own (retained messages)
        } else {
          router_->on_record(peer, type, bytes);
        }
      });
    }
  }
}

void shard::drain_broker_results() {
  broker_results_.drain([this](broker_event& e) { router_->on_broker_event(e); });
  if (session_store* sessions = broker_->sessions(); sessions != nullptr && mqtt_ != nullptr) {
    sessions->drain([this](session_event& e) { mqtt_->on_session_event(e); });
  }
}

// ---- timers ----

void shard::on_timers(int64_t now) {
  if (accept_paused_ && now >= accept_resume_ms_) {
    resume_accept();
  }
  for (const timed_conn& t : timed_) {
    if (t.deadline_ms <= now) {
      expired_.push_back(t.c);
    }
  }
  // Handled after the scan: a handler may set or clear deadlines (its own or another's).
  for (conn* c : expired_) {
    if (c->timed && timed_[c->timed_index].deadline_ms <= now) {
      clear_deadline(*c);
      switch (c->state) {
        case conn_state::open:
          switch (c->protocol) {
            case conn_protocol::http:
              http_->on_deadline(*c);
              break;
            case conn_protocol::ws_v1:
              ws_->on_deadline(*c);
              break;
            case conn_protocol::mqtt:
              mqtt_->on_deadline(*c);
              break;
          }
          break;
        case conn_state::flushing:
        case conn_state::lingering:
          abort(*c);
          break;
        case conn_state::dead:
          break;
      }
    }
  }
  expired_.clear();
  if (id_ == 0 && now >= next_stats_ms_ && !draining_ && !node_.cfg().stats_tag.empty()) {
    publish_stats(now);
  }
  if (now >= next_release_ms_) {
    next_release_ms_ = now + 1000;
    buffers_.release_if_quiet();
  }
  if (now < next_sweep_ms_) {
    return;
  }
  // A few times per idle timeout, at most once a second: idle pings, token expiry and the
  // output arrays of connections gone quiet (rare events, so a sweep over the connections
  // is cheap enough).
  const int64_t idle = node_.cfg().idle_timeout_ms;
  next_sweep_ms_ = now + (idle == 0 ? 1000 : std::clamp<int64_t>(idle / 4, tick_ms, 1000));
  const int64_t unix_now = unix_seconds();
  conns_.for_each([&](conn& c) {
    c.out.release_if_empty();
    if (c.open_as(conn_protocol::ws_v1)) {
      ws_->on_sweep(c, now, unix_now);
    } else if (c.open_as(conn_protocol::mqtt)) {
      mqtt_->on_sweep(c, now, unix_now);
    }
  });
}

void shard::publish_stats(int64_t now) {
  next_stats_ms_ = now + 1000;
  render_stats_json(stats_json_, node_.node_id(), unix_ms(), node_.metrics());
  // Published like a client's message, from no connection: the answer finds nobody to tell.
  constexpr subscriber_id nobody{UINT32_MAX, 0};
  router_->publish(nobody, {}, node_.cfg().stats_tag, stats_json_);
}

void shard::start_draining(int64_t now) {
  draining_ = true;
  drain_deadline_ = now + node_.cfg().drain_timeout_ms;
  for (unsigned i = 0; i < listeners_.size(); ++i) {
    listener& l = listeners_[i];
    if (l.fd >= 0) {
      ring_.cancel(encode_op(io_op::accept, i, 0), encode_op(io_op::cancel, 0, 0));
      ::shutdown(l.fd, SHUT_RDWR);
      ::close(l.fd);
      l.fd = -1;
    }
  }
  // Plain HTTP goes at once; WebSocket and MQTT clients at random moments within the
  // spread (they would all reconnect to the other nodes at once otherwise).
  const uint32_t spread = node_.cfg().drain_spread_ms;
  xorshift64 rng(static_cast<uint64_t>(now) * 0x9e3779b97f4a7c15ull + id_ + 1);
  conns_.for_each([&](conn& c) {
    if (spread != 0 && (c.open_as(conn_protocol::ws_v1) || c.open_as(conn_protocol::mqtt))) {
      drain_turns_.push_back({now + static_cast<int64_t>(rng.next() % spread), c.slot,
                              c.generation});
    } else {
      drain_conn(c);
    }
  });
  std::sort(drain_turns_.begin(), drain_turns_.end(),
            [](const drain_turn& a, const drain_turn& b) { return a.at_ms < b.at_ms; });
}

void shard::drain_conn(conn& c) {
  if (c.open_as(conn_protocol::ws_v1)) {
    ws_->on_drain(c, node_.cfg().drain_spread_ms);
  } else if (c.open_as(conn_protocol::mqtt)) {
    mqtt_->on_drain(c);
  } else if (c.open_as(conn_protocol::http)) {
    http_->on_drain(c);
  }
}

void shard::drain_due(int64_t now) {
  while (drain_next_ < drain_turns_.size() && drain_turns_[drain_next_].at_ms <= now) {
    const drain_turn& t = drain_turns_[drain_next_++];
    if (conn* c = conns_.find(t.slot, t.generation)) {
      drain_conn(*c);
    }
  }
}

bool shard::drained(int64_t now) {
  if (now >= drain_deadline_) {
    quiet_.store(true, std::memory_order_release);
    conns_.for_each([this](conn& c) { abort(c); });
    // Aborted sockets complete their operations at once; give them a moment, no more.
    return now >= drain_deadline_ + 500;
  }
  // Another shard's client may still wait for an answer from this shard's broker: stop
  // only once every shard is quiet.
  const bool quiet = conns_.live() == 0 && !router_->owes_answers();
  quiet_.store(quiet, std::memory_order_release);
  return quiet && node_.shards_quiet();
}

// ---- the router's client: its answers reach each connection's handler ----

void shard::published(subscriber_id to, std::string_view request_id,
                      const publish_outcome& outcome) {
  conn* c = conns_.find(to.slot, to.generation);
  if (c == nullptr || c->state != conn_state::open) {
    return;
  }
  switch (c->protocol) {
    case conn_protocol::http:
      http_->on_published(*c, outcome);
      return;
    case conn_protocol::ws_v1:
      ws_->on_published(*c, request_id, outcome);
      return;
    case conn_protocol::mqtt:
      mqtt_->on_published(*c, request_id, outcome);
      return;
  }
}

void shard::subscribed(subscriber_id to, const sub_outcome& outcome) {
  conn* c = conns_.find(to.slot, to.generation);
  if (c != nullptr && c->open_as(conn_protocol::ws_v1)) {
    ws_->on_subscribed(*c, outcome);
  } else if (c != nullptr && c->open_as(conn_protocol::mqtt)) {
    mqtt_->on_subscribed(*c, outcome);
  }
}

void shard::stream_gap(std::string_view key, std::span<const uint32_t> subscribers) {
  for (const uint32_t slot : subscribers) {
    conn& c = conns_.at(slot);
    if (c.open_as(conn_protocol::ws_v1)) {
      ws_->on_stream_gap(c, key);
    }
  }
}

void shard::presence_event(bool joined, std::string_view tag, std::string_view who,
                           std::span<const uint32_t> watchers) {
  frame* event = nullptr;  // made on first use, shared by every watcher
  for (const uint32_t slot : watchers) {
    conn& c = conns_.at(slot);
    if (c.open_as(conn_protocol::ws_v1)) {
      if (event == nullptr) {
        event = ws_->presence_event_frame(joined, tag, who);
      }
      ws_->send_presence_event(c, event);
    }
  }
  if (event != nullptr) {
    event->unref();
  }
}

void shard::presence_listed(subscriber_id to, std::string_view request_id,
                            const presence_outcome& outcome) {
  conn* c = conns_.find(to.slot, to.generation);
  if (c != nullptr && c->open_as(conn_protocol::ws_v1)) {
    ws_->on_presence_listed(*c, request_id, outcome);
  }
}

void shard::retained(message& m) {
  if (mqtt_) {
    mqtt_->on_broker_retained(m);
  }
}

void shard::retained_reset() {
  if (mqtt_) {
    mqtt_->on_broker_retained_reset();
  }
}

std::size_t shard::output_room(subscriber_id who) {
  const conn* c = conns_.find(who.slot, who.generation);
  const std::size_t limit = node_.cfg().max_outbound_bytes;
  return c == nullptr || c->out.bytes() >= limit ? 0 : limit - c->out.bytes();
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

void shard::send_mail() {
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
