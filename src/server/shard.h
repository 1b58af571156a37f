// A shard: one thread pinned to one core, with its own io_uring ring, listener, buffer
// ring, connections, router and broker (docs/architecture.md "A node"). Nothing mutable is
// shared with other shards: their routers exchange records through mailboxes, and shards
// wake each other with MSG_RING doorbells.
//
// The shard keeps the loop, the I/O and the connections' life; what flows on a connection
// is its protocol handler's (handlers/), which acts on it through conn_host; pub/sub is the
// router's (router/). The loop turn, in turn() (docs/style.md guideline 3):
//   1. submit what was prepared and wait (bounded by the tick) for completions
//   2. completions: accept, recv (-> handler), send (retire), link I/O (-> broker)
//   3. mail: records from the other shards (-> router)
//   4. timers: deadlines, the sweep (idle pings, token expiry), draining
//   5. broker results: the broker's events (-> router -> connections, records)
//   6. broker poll: batched broker requests leave, broker timers
//   7. flush: one gathered send per connection with output and none in flight, at most 64
//      per turn; the others wait in order for the next turns (a long fan-out is spread over
//      short turns, so that what completes meanwhile, a Redis reply too, is read sooner)
//   8. mail out: publish the mailboxes, ring the doorbell of peers that sleep
//   9. free connections whose last operation has completed
// shard.cpp has the loop, its phases and the router's answers; shard_io.cpp the completions,
// the sockets, the fan-out's queueing and the connections' life.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.h"
#include "core/buf_ring.h"
#include "core/ring.h"
#include "core/wakeup.h"
#include "json/command.h"
#include "obs/log_limiter.h"
#include "obs/metrics.h"
#include "router/ports.h"
#include "server/conn_host.h"
#include "server/conn_table.h"

namespace wsa {

class node;
class router;
class token_gate;
class http_endpoints;
class ws_v1_handler;
class mqtt_handler;

class shard final : private conn_host, private router_client, private mail_port {
 public:
  /// `mqtt_listen_fd`: the --mqtt-listen socket of this shard, or -1.
  shard(node& owner, unsigned index, int listen_fd, int mqtt_listen_fd);
  ~shard();
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  /// Creates the ring, buffers, broker, router and handlers; must run on the shard's own
  /// thread.
  bool init(std::string& error);
  /// Serves until the node drains and every connection is gone.
  void run();

  // Read by other shards (doorbells) and by whichever shard answers /metrics.
  int ring_fd() { return ring_.fd(); }
  wakeup_flag& wakeup() { return wakeup_; }
  /// Whether this shard's broker could take publishes at its last loop turn (for /readyz,
  /// which needs every shard's: each owns a share of the tags).
  bool broker_ready() const { return broker_ready_.load(std::memory_order_relaxed); }
  /// Draining, with no connection left and no answer owed to another shard.
  bool quiet() const { return quiet_.load(std::memory_order_acquire); }
  shard_metrics& metrics() { return metrics_; }
  const shard_metrics& metrics() const { return metrics_; }

 private:
  // ---- the loop (shard.cpp; reap_completions and on_completion in shard_io.cpp) ----
  void turn();
  void reap_completions();
  void on_completion(const completion& done);
  void receive_mail();
  void on_timers(int64_t now);
  void drain_broker_results();
  /// Submits the broker's commands before the turn's sends; handles what came back meanwhile
  /// (reaps and drains the broker's results once more).
  void submit_broker_commands();
  /// --stats-tag: shard 0 publishes the node's counters (obs/stats_report.h) once a second.
  void publish_stats(int64_t now);
  void send_mail();
  void start_draining(int64_t now);
  void drain_conn(conn& c);
  void drain_due(int64_t now);
  bool drained(int64_t now);

  // ---- sockets and the connections' life (shard_io.cpp) ----
  void arm_accept();
  void arm_accept(unsigned index);  // of listeners_
  void on_accept(const completion& done);
  /// Out of descriptors or memory: stop accepting for a while (connections wait in the
  /// listen backlog) instead of re-arming into the same error at once.
  void pause_accept(int64_t now);
  /// After the backoff, or when a connection closed and gave its descriptor back.
  void resume_accept();
  void arm_recv(conn& c);
  void on_recv(conn& c, const completion& done);
  /// Received bytes to the connection's handler (closing: discarded).
  void dispatch_input(conn& c, const char* data, std::size_t size);
  void start_send(conn& c);
  void on_send(conn& c, int result);
  void flush_dirty();
  void free_dead();
  void mark_dirty(conn& c);
  /// Queues a frame counted against the outbound bound; inline for the fan-out.
  bool enqueue(conn& c, frame* f);
  /// The connection leaves the open state: its handler lets go of it.
  void closing(conn& c);

  // ---- backpressure (shard_flow.cpp) ----
  /// Whether `c` may not be read now: its HTTP answer is unsent (or a publish awaits the
  /// broker), or its queue holds `out_limit` bytes or more.
  bool input_blocked(const conn& c, std::size_t out_limit) const;
  /// Stops reading `c` if it is blocked (queue at half its limit); checked after its input.
  void pause_if_blocked(conn& c);
  /// Reads `c` again once nothing blocks it (queue below a quarter of its limit): first what
  /// arrived before the pause took effect, then the socket.
  void resume_if_unblocked(conn& c);
  /// The connection is closing: what it sends is read (to see its FIN) and discarded.
  void stop_pause(conn& c);
  /// Keeps bytes that arrived for a paused connection.
  void stash_input(conn& c, const char* data, std::size_t size);
  /// The connection holds more than its bounds allow: closed as a slow consumer (WebSocket
  /// 4008, MQTT its DISCONNECT, HTTP reset).
  void overflow(conn& c);
  /// Once a turn, after the mail went out: the gauge, any_backlogged_, and whether the
  /// broker may read live messages from Redis.
  void refresh_backlog();

  // ---- conn_host (shard_io.cpp) ----
  bool queue(conn& c, frame* f) override { return enqueue(c, f); }
  void queue_control(conn& c, frame* f) override;
  bool queue_replacing(conn& c, frame* f, uint64_t& position) override;
  void close_after_flush(conn& c) override;
  void abort(conn& c) override;
  void set_deadline(conn& c, int64_t at) override;
  void clear_deadline(conn& c) override;
  void switch_protocol(conn& c, conn_protocol to) override;
  conn* find(uint32_t slot, uint32_t generation) override {
    return conns_.find(slot, generation);
  }

  // ---- router_client (shard.cpp; deliver in shard_io.cpp, beside enqueue) ----
  void deliver(message& m, std::span<const uint32_t> subscribers) override;
  void published(subscriber_id to, std::string_view request_id,
                 const publish_outcome& outcome) override;
  void subscribed(subscriber_id to, const sub_outcome& outcome) override;
  void stream_gap(std::string_view key, std::span<const uint32_t> subscribers) override;
  std::size_t output_room(subscriber_id who) override;
  void presence_event(bool joined, std::string_view tag, std::string_view who,
                      std::span<const uint32_t> watchers) override;
  void presence_listed(subscriber_id to, std::string_view request_id,
                       const presence_outcome& outcome) override;
  void retained(message& m) override;
  void retained_reset() override;

  // ---- mail_port (shard.cpp) ----
  char* begin_record(unsigned to, uint32_t type, std::size_t size) override;
  void end_record(unsigned to) override;
  bool backlogged(unsigned peer) const override;
  bool any_backlogged() const override { return any_backlogged_; }

  node& node_;
  const unsigned id_;
  // listeners_[0] is --listen (HTTP first), [1] --mqtt-listen (MQTT from the first byte);
  // the slot field of an accept's user_data says which.
  struct listener {
    int fd = -1;         // -1: absent, or closed by a drain
    bool armed = false;  // its multishot accept is in flight
  };
  std::array<listener, 2> listeners_;
  ring ring_;
  buf_ring buffers_;
  conn_table conns_;
  shard_metrics metrics_;
  broker_events broker_results_;
  std::unique_ptr<broker> broker_;
  std::unique_ptr<router> router_;
  command_parser parser_;  // client frames and API bodies, shared by the handlers
  std::unique_ptr<token_gate> gate_;
  std::unique_ptr<ws_v1_handler> ws_;
  std::unique_ptr<mqtt_handler> mqtt_;  // null unless --mqtt-listen or --mqtt-ws
  std::unique_ptr<http_endpoints> http_;
  wakeup_flag wakeup_;
  std::atomic<bool> broker_ready_{false};
  std::atomic<bool> quiet_{false};

  bool out_of_buffers_ = false;  // a receive found no buffer this turn: provide more
  bool accept_paused_ = false;
  int64_t accept_resume_ms_ = 0;
  int64_t accept_backoff_ms_ = 0;  // doubles while accepts keep failing, up to a second
  log_limiter accept_log_;
  // The 503 of a connection refused at accept: over --max-connections, or while draining.
  std::string refusal_full_;
  std::string refusal_draining_;
  bool any_backlogged_ = false;  // some peer is backlogged(): checked before producing
  bool live_paused_ = false;     // the broker was told not to read live messages
  bool draining_ = false;
  int64_t drain_deadline_ = 0;
  // --drain-spread: when each client connection is told to go, earliest first.
  struct drain_turn {
    int64_t at_ms;
    uint32_t slot;
    uint32_t generation;
  };
  std::vector<drain_turn> drain_turns_;
  std::size_t drain_next_ = 0;
  int64_t next_sweep_ms_ = 0;
  int64_t next_release_ms_ = 0;  // receive buffers' pages given back when quiet (buf_ring.h)
  int64_t next_stats_ms_ = 0;
  std::string stats_json_;  // the --stats-tag report being published
  uint64_t next_conn_id_ = 0;

  /// The connections with a deadline (few: those in a handshake, an auth wait or a
  /// closing), kept here rather than in every connection's slot.
  struct timed_conn {
    conn* c;
    int64_t deadline_ms;
  };
  std::vector<timed_conn> timed_;
  std::vector<conn*> expired_;  // this turn's, handled after the scan
  std::vector<conn*> dirty_;      // output to flush, in order (a queue: see flush_dirty)
  std::size_t dirty_head_ = 0;    // dirty_[dirty_head_..] are still to flush
  std::vector<conn*> dead_;       // to free once their operations complete
  std::vector<conn*> rearm_recv_;  // multishot recv ended for lack of buffers
  // Sends started per turn at most. A turn's submission runs its sends inside the kernel
  // (~4-6 us each on loopback): a 1,000-subscriber fan-out sent at once is a ~5 ms turn, and
  // whatever completed meanwhile (a Redis reply, a publisher's frame) waits for its end. 64
  // sends keep a turn near 0.3 ms; the rest go in the next turns, in order.
  static constexpr unsigned max_sends_per_turn = 64;
  static constexpr unsigned max_iov_per_send = 128;
  // This turn's sends: max_iov_per_send iovecs and one msghdr each at most.
  std::vector<iovec> iov_arena_;
  std::vector<msghdr> msg_arena_;
  std::size_t iov_used_ = 0;
  std::size_t msg_used_ = 0;
  std::vector<bool> mail_written_;  // per peer: records written this turn
};

}  // namespace wsa
