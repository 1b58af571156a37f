// A shard: one thread pinned to one core, with its own io_uring ring, listener, buffer
// ring, connections, subscription index and share of the tags (docs/architecture.md "A
// node"). Nothing mutable is shared with other shards: they exchange records through
// mailboxes and wake each other with MSG_RING doorbells.
//
// The loop turn (docs/style.md guideline 3), all in turn():
//   1. submit what was prepared and wait (bounded by the tick) for completions
//   2. reap completions: accept, recv (parse, dispatch), send (retire), doorbells
//   3. process mailboxes from the other shards
//   4. timers: handshake/close deadlines, idle pings, token expiry, draining
//   5. flush: one gathered send for each connection that has output and none in flight
//   6. publish mailboxes, ring the doorbell of peers that sleep
//   7. free connections whose last operation has completed
//
// The implementation is split by concern: shard.cpp (loop, I/O, lifecycle), shard_flow.cpp
// (backpressure: when a connection stops being read), shard_http.cpp (requests, upgrade,
// admin endpoints), shard_ws.cpp (frames, protocol commands), shard_pubsub.cpp (ordering,
// fan-out, recovery, cross-shard records).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "broker/broker.h"
#include "core/buf_ring.h"
#include "core/ring.h"
#include "core/wakeup.h"
#include "http/static_files.h"
#include "json/command.h"
#include "obs/log_limiter.h"
#include "obs/metrics.h"
#include "pubsub/string_map.h"
#include "pubsub/subscription_index.h"
#include "server/conn_table.h"
#include "server/pending_sub.h"
#include "server/records.h"
#include "ws/session.h"

namespace wsa {

class node;
class tag_set;
struct http_request;

class shard final : private ws_sink, private broker_listener {
 public:
  shard(node& owner, unsigned index, int listen_fd);
  ~shard();
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  /// Creates the ring and buffers; must run on the shard's own thread.
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
  // ---- loop (shard.cpp) ----
  void turn();
  void on_completion(const completion& c);
  void on_timers(int64_t now);
  void flush_dirty();
  void publish_mail();
  void free_dead();
  void start_draining(int64_t now);
  /// Draining: the connection takes no new request and is closed with 1001 once every
  /// request it made has been answered.
  void close_when_answered(conn& c);
  bool drained(int64_t now);

  // ---- I/O and lifecycle (shard.cpp) ----
  void arm_accept();
  void on_accept(const completion& c);
  /// Out of descriptors or memory: stop accepting for a while (connections wait in the
  /// listen backlog) instead of re-arming into the same error at once.
  void pause_accept(int64_t now);
  /// After the backoff, or when a connection closed and gave its descriptor back.
  void resume_accept();
  void arm_recv(conn& c);
  void on_recv(conn& c, const completion& done);
  /// Received bytes to the connection's parser (HTTP or WebSocket).
  void dispatch_input(conn& c, const char* data, std::size_t size);
  void start_send(conn& c);
  void on_send(conn& c, int result);
  void set_deadline(conn& c, int64_t at);
  void clear_deadline(conn& c);
  void mark_dirty(conn& c);
  /// Queues a frame (takes a reference). Over the outbound limit the connection is closed
  /// as a slow consumer (4008) and false is returned.
  bool enqueue(conn& c, frame* f);
  /// Ends a WebSocket with a close frame; drop_unsent for slow consumers. queue_frame is
  /// false when wslay already queued the close frame (its reply or its protocol error).
  void close_ws(conn& c, uint16_t code, std::string_view reason, bool drop_unsent,
                bool queue_frame = true);
  /// Sends what is queued, then FIN, then waits for the peer's close.
  void close_after_flush(conn& c);
  /// Ends a connection now; it is freed once its operations have completed.
  void abort_conn(conn& c);
  void release_ws_session(conn& c);

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
  /// More than --max-shard-backlog waits for `peer` beyond the ring between us: requests
  /// that would add to it are refused (unavailable) until it drains.
  bool backlogged(unsigned peer) const;
  /// Would a message of `tag` published here be copied to a backlogged peer?
  bool fanout_backlogged(std::string_view tag);
  /// Once a turn, after the mail went out: the gauge, any_backlogged_, and whether the
  /// broker may read live messages from Redis.
  void refresh_backlog();

  // ---- HTTP (shard_http.cpp) ----
  void on_http_bytes(conn& c, const char* data, std::size_t size);
  void on_http_input(conn& c, const char* data, std::size_t size);
  /// Handles one complete request; returns false when the connection stops reading HTTP.
  bool on_http_request(conn& c, const http_request& request, std::string_view body,
                       std::string_view rest);
  void respond(conn& c, int status, std::string_view content_type, std::string_view body,
               std::string_view extra_headers = {}, bool close = false);
  void respond_error(conn& c, int status, std::string_view reason,
                     std::string_view extra_headers = {});
  void upgrade(conn& c, const http_request& request, std::string_view rest);
  /// The --static file body of `answer`, made once per shard and shared by reference.
  frame* static_body(const static_files::answer_body& answer);

  // ---- WebSocket and protocol (shard_ws.cpp) ----
  void on_ws_bytes(conn& c, const char* data, std::size_t size);
  bool on_ws_message(void* owner, ws_opcode opcode, char* data, std::size_t size,
                     std::size_t capacity) override;
  void on_ws_output(void* owner, const char* data, std::size_t size) override;
  /// Queues the pong for the latest ping: it replaces a pong still unsent (RFC 6455 5.5.3).
  void queue_pong(conn& c, frame* pong);
  void send_json(conn& c, std::string_view json);
  void send_ok(conn& c, std::string_view id);
  void send_err(conn& c, std::string_view id, const char* code, std::string_view reason);
  /// Takes a token from `bucket`; without one, answers `err rate_limited` and counts it.
  bool within_rate(conn& c, token_bucket& bucket, const rate_limit& limit, counter& refusals,
                   std::string_view op);
  /// A sub/unsub naming more than twice as many tags (or `since` entries, repeats
  /// included) as a connection may hold is refused before any other work.
  bool within_tag_limit(conn& c, const command& cmd);
  /// `sub` requests with `since` still waiting for their answers.
  std::size_t pending_recoveries(const conn& c) const;
  void on_pub(conn& c, const command& cmd);
  void on_sub(conn& c, const command& cmd);
  void on_unsub(conn& c, const command& cmd);
  /// Routes a publish to the tag's owner shard; the answer comes to on_publish_result.
  void submit_publish(conn& c, std::string_view id, std::string_view tag, std::string_view data);
  void submit_publish(records::conn_address from, std::string_view id, std::string_view tag,
                      std::string_view data);
  /// --stats-tag: shard 0 publishes the node's counters (obs/stats_report.h) once a second.
  void publish_stats(int64_t now);

  // ---- authentication (shard_auth.cpp) ----
  void init_auth();
  bool auth_required() const;
  /// Verifies a token into claims_, counting and logging a refusal.
  token_status verify_token(std::string_view token, std::string_view where);
  /// Verifies `token` and gives `c` its permissions and expiry (replacing earlier ones).
  token_status authenticate(conn& c, std::string_view token, std::string_view where);
  /// The upgrade's token (Authorization: Bearer, else ?token=); false after answering 401.
  bool authenticate_upgrade(conn& c, const http_request& request);
  /// HTTP 401 with the Bearer challenge (RFC 6750), closing the connection.
  void respond_unauthorized(conn& c, std::string_view reason);
  void on_auth(conn& c, const command& cmd);
  /// Permission checks; on refusal the `err forbidden` is sent and false returned.
  bool may_publish(conn& c, const command& cmd);
  bool may_subscribe(conn& c, const command& cmd);
  /// POST /api/publish; returns true while the connection goes on reading HTTP.
  bool on_http_publish(conn& c, const http_request& request, std::string_view body);
  void finish_http_publish(conn& c, bool ok, uint64_t seq, std::string_view error);

  // ---- pub/sub (shard_pubsub.cpp) ----
  unsigned owner_of(std::string_view tag) const;
  void publish(unsigned origin, records::conn_address from, std::string_view id,
               std::string_view tag, std::string_view data);
  void query(unsigned origin, records::conn_address from, uint32_t request,
             std::string_view tag, const since_request& since);
  /// Which local subscribers a fan-out reaches. With the embedded broker the owner of a tag
  /// reaches everyone (`all`). With Redis, exact subscribers get a tag's messages from the
  /// tag's own channel (`exact`) and pattern subscribers from the pattern's (`patterns`:
  /// those without an exact subscription), so that nobody gets a message twice.
  enum class fanout_scope : uint8_t { all, exact, patterns };
  void fanout(std::string_view tag, uint64_t seq, frame* msg, fanout_scope scope);
  /// Sends a message to the peers whose subscribers `scope` reaches.
  void forward(std::string_view tag, uint64_t seq, frame* msg, fanout_scope scope);
  void deliver_to(conn& c, std::string_view tag, uint64_t seq, frame* msg);
  void on_record(unsigned from, uint32_t type, std::string_view bytes);
  void on_publish_result(records::conn_address to, std::string_view id, bool ok, uint64_t seq,
                         std::string_view error);
  void on_query_result(records::conn_address to, uint32_t request, std::string_view tag,
                       bool ok, uint64_t top, std::string_view epoch, bool gap);
  void on_replay(records::conn_address to, uint32_t request, std::string_view tag,
                 uint64_t seq, frame* msg);
  /// The oldest waiting request's entry that holds live messages of `tag`, or null.
  pending_sub::tag_entry* find_holder(conn& c, std::string_view tag);
  pending_sub* find_request(conn& c, uint32_t request);
  void complete_sub(conn& c, pending_sub* p);
  /// Cuts a completed request's replays to what the connection may still have queued; a
  /// tag cut short is reported in `gaps` (a later `since` recovers the rest).
  void fit_replays(conn& c, pending_sub& p);
  /// Delivers a completed request's part for one tag (replay, then held messages, or hands
  /// them to the next waiting holder). False if the connection was closed meanwhile.
  bool release_entry(conn& c, pending_sub::tag_entry& t);
  void drop_pending(conn& c);
  void add_subscription(conn& c, std::string_view tag);
  void remove_subscription(conn& c, std::size_t index);
  /// Removes every subscription of `c` whose tag is in `tags`, in one pass.
  void remove_subscriptions_in(conn& c, const tag_set& tags);
  void announce_interest(std::string_view key, bool added);
  void apply_interest(unsigned from, std::string_view key, bool added);
  void on_published(uint64_t ticket, bool ok, uint64_t seq, const char* error) override;
  /// A publish's outcome to its origin (this shard or another).
  void answer_publish(unsigned origin, records::conn_address from, std::string_view id,
                      bool ok, uint64_t seq, std::string_view error);
  void on_tag_message(std::string_view tag, uint64_t seq, frame* msg) override;
  void on_pattern_message(std::string_view pattern, std::string_view tag, uint64_t seq,
                          frame* msg) override;
  void on_stream_gap(std::string_view key) override;
  /// Sends `gap` for `key` to the local connections holding exactly that subscription.
  void notify_gap(std::string_view key);
  void on_queried(uint64_t ticket, bool ok, const tag_position& position,
                  std::span<const history_entry> missed) override;
  /// A record from another shard; a malformed one is logged and dropped (it is a bug).
  template <class R>
  bool read(std::string_view bytes, R& r);
  void refuse_record(uint32_t type, std::size_t size);
  // The mail port of post_record(): records to the other shards, sent at the end of the turn.
  char* begin_record(unsigned to, uint32_t type, std::size_t size);
  void end_record(unsigned to);
  template <class Port, class R>
  friend void post_record(Port& port, unsigned to, const R& r);

  node& node_;
  const unsigned id_;
  int listen_fd_;
  ring ring_;
  buf_ring buffers_;
  conn_table conns_;
  subscription_index subscriptions_;  // local connections (slots) by tag and pattern
  // Which shards have subscribers: exact tags this shard owns, and every pattern. Its
  // "subscribers" are shard numbers. Decides where messages go and what the broker watches.
  subscription_index interest_;
  // Local connections per key (first/last announce interest), and, for keys this shard
  // owns, how many shards are interested (first/last watch/unwatch the broker).
  string_map<uint32_t> local_keys_;
  string_map<uint32_t> watched_;
  std::vector<bool> peer_marks_;
  std::unique_ptr<broker> broker_;
  bool shared_broker_ = false;  // Redis: tags and patterns arrive on their own channels
  command_parser parser_;
  command command_;  // reused for every frame
  // Per-connection rate limits, from the configuration.
  rate_limit pub_rate_;
  rate_limit sub_rate_;
  rate_limit auth_rate_;
  shard_metrics metrics_;
  wakeup_flag wakeup_;
  std::atomic<bool> broker_ready_{false};
  std::atomic<bool> quiet_{false};

  bool accept_armed_ = false;
  bool accept_paused_ = false;
  int64_t accept_resume_ms_ = 0;
  int64_t accept_backoff_ms_ = 0;  // doubles while accepts keep failing, up to a second
  log_limiter accept_log_;
  bool any_backlogged_ = false;  // some peer is backlogged(): checked before producing
  bool live_paused_ = false;     // the broker was told not to read live messages
  bool draining_ = false;
  int64_t drain_deadline_ = 0;
  int64_t next_sweep_ms_ = 0;
  uint64_t next_conn_id_ = 0;
  uint64_t fanout_stamp_ = 0;
  uint32_t next_request_ = 1;

  conn* timed_head_ = nullptr;            // connections with a deadline (few)
  std::vector<conn*> dirty_;               // output to flush this turn
  std::vector<conn*> dead_;                // to free once their operations complete
  std::vector<conn*> rearm_recv_;          // multishot recv ended for lack of buffers
  std::vector<iovec> iov_arena_;           // iovecs of this turn's sends
  std::vector<msghdr> msg_arena_;
  std::size_t iov_used_ = 0;
  std::size_t msg_used_ = 0;
  std::vector<ws_session*> session_pool_;  // detached wslay contexts, reused
  ws_session* feeding_ = nullptr;          // the session inside feed(): not released there
  std::vector<bool> mail_written_;         // per peer: records written this turn

  // Owner side: who waits for a broker answer (index = ticket).
  struct publish_waiter {
    unsigned origin;
    records::conn_address from;
    std::string id;
  };
  struct query_waiter {
    unsigned origin;
    records::conn_address from;
    uint32_t request;
    std::string tag;
  };
  std::vector<publish_waiter> publish_waiters_;
  std::vector<uint32_t> free_publish_waiters_;
  std::vector<query_waiter> query_waiters_;
  std::vector<uint32_t> free_query_waiters_;

  std::string scratch_;  // JSON replies being built
  std::string stats_json_;      // the --stats-tag report being published
  std::vector<frame*> static_bodies_;  // --static file bodies sent so far, by file index
  int64_t next_stats_ms_ = 0;
  std::vector<std::string_view> since_scratch_;  // a sub's `since` tags
  frame* ping_frame_ = nullptr;  // the idle ping, shared by every connection

  // Authentication (null verifier: --no-auth).
  std::unique_ptr<token_verifier> verifier_;
  token_claims claims_;             // the last verified token's claims (reused)
  std::vector<char> query_token_;   // ?token= decoded
  std::string api_frame_;           // POST /api/publish body as a pub frame (padded)
  int auth_log_budget_ = 0;         // refusals still logged this second...
  int64_t auth_log_second_ = 0;     // ...which is this unix second
};

}  // namespace wsa
