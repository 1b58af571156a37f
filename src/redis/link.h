// One Redis connection driven by a shard's io_uring ring, never blocking the shard.
// It connects (to an address resolved at startup), authenticates and selects the database,
// then carries pipelined commands: the owner appends RESP commands between two loop turns,
// they leave in one send (one send in flight; whatever is queued meanwhile goes out as the
// next single batch), and replies come back in order to a FIFO of pending requests.
// When the connection breaks (EOF, error, malformed reply, connect or reply timeout) every
// pending request is failed, never guessed at, and the link reconnects with jittered
// exponential backoff. A keepalive PING on an idle link finds a blackholed server.
// A subscriber link (RESP2 SUBSCRIBE mode) also passes "message"/"pmessage" pushes, and the
// sharded "smessage" and unsolicited "sunsubscribe" (Redis Cluster moved the slot away),
// which are not replies to any request, to its owner.
// A link may require a master (Sentinel: ROLE is checked before it is up), and be pointed
// at another server (retarget) when the master moves.
// Owned by one shard (its broker); that shard's thread only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/op.h"
#include "core/ring.h"
#include "redis/address.h"
#include "redis/fifo.h"
#include "redis/resp_reader.h"
#include "util/latency_histogram.h"
#include "util/xorshift.h"

namespace wsa {

class link;
struct completion;

/// Redis traffic an owner counts over its links (for /metrics). Shard thread only.
struct link_traffic {
  uint64_t commands = 0;   ///< commands sent (the link's own included)
  uint64_t bytes_out = 0;  ///< bytes written to Redis
  uint64_t bytes_in = 0;   ///< bytes read from Redis
  uint64_t oversized_replies = 0;  ///< connections dropped for a reply over the limit
  latency_histogram* latency = nullptr;  ///< each reply's time since its command was queued
};

struct link_options {
  redis_address address;
  std::string username;  ///< ACL user; empty: AUTH with the password only
  std::string password;
  bool auth = false;  ///< send AUTH on connect
  uint32_t db = 0;    ///< SELECT on connect when not 0
  bool require_master = false;  ///< up only if ROLE says "master" (Sentinel: a stale address)
  int64_t connect_timeout_ms = 2000;
  int64_t reply_timeout_ms = 3000;  ///< oldest request unanswered this long (+patience): drop
  int64_t keepalive_ms = 1000;      ///< PING after this long without traffic
  int64_t backoff_min_ms = 100;     ///< first reconnect delay, doubled per failure...
  int64_t backoff_max_ms = 5000;    ///< ...up to this; each delay jittered to [d/2, d]
  link_traffic* traffic = nullptr;  ///< counted there when set (not owned)
  /// A reply that would hold more (resp_reader::set_max_reply_bytes) drops the connection
  /// instead of growing without end (--redis-max-reply-bytes; 0: no limit).
  std::size_t max_reply_bytes = 512u << 20;
};

/// A request waiting for its reply. `kind`, `aux` and `token` are the owner's and come back
/// untouched; kind 0 is the link's own (AUTH, SELECT, keepalive PING).
struct link_request {
  uint32_t kind = 0;
  uint32_t aux = 0;
  uint64_t token = 0;
  int64_t sent_ns = 0;    ///< set by the link: when it was queued (latency)
  /// Set by the link in on_reply: when the receive holding the reply completed (one clock
  /// read per receive, shared by every reply in it and by the owner's own latency figures).
  int64_t replied_ns = 0;
  uint32_t retained = 0;  ///< set by the link: bytes of the command kept for a resend
  uint32_t route = 0;     ///< the owner's, like aux (the cluster client: slot and attempts)
  /// Its reply has the shape of a push (SUNSUBSCRIBE's ["sunsubscribe", channel, n]): such
  /// an array is its reply when it is next in line, and a push otherwise.
  bool push_shaped = false;
  /// Its reply may take this much longer than reply_timeout_ms while it is the oldest
  /// pending (WAIT blocks for its own timeout by design); commands behind it wait as long.
  uint32_t patience_ms = 0;
};

class link_owner {
 public:
  /// Connected and authenticated: queue what a fresh connection needs first (scripts,
  /// subscriptions). Commands may be sent from here on.
  virtual void on_link_up(link& l) = 0;
  /// The connection is gone; every pending request has been failed already.
  virtual void on_link_down(link& l, std::string_view why) = 0;
  /// An attempt to connect failed before the link was up (no socket: EMFILE; refused;
  /// timed out; AUTH refused...). The link retries after its backoff.
  virtual void on_link_failed(link& l, std::string_view why) { (void)l, (void)why; }
  /// The reply to `request`. `command` is its bytes if it was sent with `retain`, for a
  /// resend (valid during the call).
  virtual void on_reply(link& l, const link_request& request, resp_view reply,
                        std::string_view command) = 0;
  /// `request` will never be answered: the connection dropped first.
  virtual void on_failed(link& l, const link_request& request) = 0;
  /// A pub/sub push ("message", "pmessage", "smessage" or "sunsubscribe" array) on a
  /// subscriber link.
  virtual void on_push(link& l, resp_view push) = 0;

 protected:
  ~link_owner() = default;
};

class link {
 public:
  /// Operations go on `r` tagged with this link's id (core/op.h link ops); the owner routes
  /// completions whose decode_link_op(...).link is id() to on_completion().
  link(ring& r, link_owner& owner, link_options options, bool subscriber);
  ~link();
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  /// Starts the first connection attempt.
  void start();
  /// Connected and authenticated: commands may be sent.
  bool up() const { return state_ == state::up; }
  /// Requests sent and not yet answered (the link's own included).
  std::size_t pending() const { return pending_.size(); }
  /// Bytes of commands queued, being sent, or kept for a resend: what the owner bounds.
  std::size_t backlog_bytes() const {
    const std::size_t unsent = sending_.size() > sent_ ? sending_.size() - sent_ : 0;
    return queued_.size() + unsent + (retained_.size() - retained_head_);
  }
  /// While paused, nothing more is read once the link is up (replies and pushes wait in
  /// the kernel and in Redis): the owner cannot take more. Pending requests still time out.
  void set_reading_paused(bool paused);

  /// Queues one command. False (nothing queued) when the link is not up.
  bool send(const link_request& request, std::initializer_list<std::string_view> args,
            bool retain = false);
  /// Building a command in place: append one command's RESP to begin()'s buffer, then
  /// commit() it. Only when up().
  std::string& begin();
  void commit(link_request request, bool retain = false);
  /// Queues again the bytes of a command (from on_reply's `command`). False when not up.
  bool resend(link_request request, std::string_view command);

  /// Drops the connection now (the owner saw a reply it cannot accept), then reconnects.
  void fail(std::string_view why);
  /// Connects to `address` from now on (Sentinel named a new master): drops the current
  /// connection, if any, and tries the new address at the next poll.
  void retarget(const redis_address& address);
  const redis_address& address() const { return options_.address; }

  /// Once per loop turn: starts the batched send, runs connect/reply/keepalive timers and
  /// the reconnect schedule.
  void poll(int64_t now_ms);
  /// A completion of this link (its decode_link_op(...).link is id()).
  void on_completion(const completion& c);

  /// Successful connections after the first (for the reconnect metric).
  uint64_t reconnects() const { return reconnects_; }
  /// This link's id on its ring.
  uint32_t id() const { return id_; }

 private:
  enum class state { idle, backoff, connecting, handshake, up, closing };

  void start_connect(int64_t now_ms);
  void on_connected(int res);
  void on_received(int res);
  void on_sent(int res);
  void arm_recv();
  void arm_send();
  void handle_reply(resp_view reply);
  void handle_own_reply(const link_request& request, resp_view reply);
  void go_up();
  void drop(std::string_view why);
  void finish_close();
  bool in_flight() const { return connect_in_flight_ || recv_in_flight_ || send_in_flight_; }
  uint64_t user_data(link_io io) const;
  void queue_own(std::initializer_list<std::string_view> args, uint32_t what);

  ring& ring_;
  link_owner& owner_;
  const uint32_t id_;
  link_options options_;  // address changes with retarget()
  const bool subscriber_;

  state state_ = state::idle;
  int fd_ = -1;
  uint32_t generation_ = 0;
  bool connect_in_flight_ = false;
  bool recv_in_flight_ = false;
  bool send_in_flight_ = false;
  bool ever_up_ = false;
  bool retarget_now_ = false;  // the next attempt, to a new address, goes without backoff
  bool reading_paused_ = false;
  uint64_t reconnects_ = 0;

  int64_t now_ms_ = 0;
  int64_t received_ns_ = 0;     // when the last receive completed
  int64_t deadline_ms_ = 0;     // connecting: give up; backoff: try again
  int64_t progress_ms_ = 0;     // last reply, or when the FIFO stopped being empty
  int64_t last_traffic_ms_ = 0; // last byte in or out (keepalive)
  int64_t backoff_ms_ = 0;
  xorshift64 jitter_;  // reconnect delays
  std::string down_reason_;

  std::string queued_;   // commands of this turn, not yet handed to the kernel
  std::string sending_;  // the bytes of the one send in flight (stable until its CQE)
  std::size_t sent_ = 0;
  std::size_t commit_mark_ = 0;
  fifo<link_request> pending_;
  std::string retained_;  // bytes of pending retained commands, oldest first
  std::size_t retained_head_ = 0;
  std::vector<link_request> failing_;  // reused while failing the pending requests
  std::vector<char> rbuf_;
  resp_reader reader_;
};

}  // namespace wsa
