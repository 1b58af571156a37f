// The broker seam (docs/architecture.md "Publishing, ordering and fan-out"): what the shard
// that owns a tag asks of whatever keeps that tag's sequence and history. Every tag has one
// owner shard per node (chosen by hash); only the owner calls the broker for it, so per-tag
// order on a node is the order of one thread. Two implementations: embedded (in process, the
// default) and Redis (many nodes). Answers come back through broker_listener, synchronously
// (embedded) or on a later loop turn (Redis); either way on the owner shard's thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "ws/frame.h"


namespace wsa {

struct completion;

/// A `since` request for one exact tag.
struct since_request {
  bool present = false;
  uint64_t seq = 0;
  std::string_view epoch;  ///< empty: the client gave a bare number
  /// The replay stops before its frames pass this many bytes (the subscriber's outbound
  /// limit): the rest is reported as a gap, which a later `since` recovers.
  uint64_t max_bytes = UINT64_MAX;
};

/// Where the tag's history stands for a subscriber, and what it missed.
struct tag_position {
  uint64_t top = 0;         ///< highest seq assigned so far (0: none yet)
  std::string_view epoch;   ///< valid during the listener call
  bool gap = false;         ///< recovery could not reach back to `since`, or stopped short
};

/// One retained message: its seq and its encoded `msg` frame (owned by the broker).
struct history_entry {
  uint64_t seq;
  frame* msg;
};

class broker_listener {
 public:
  /// A publish finished: ok with its seq, or failed (`error` is a protocol error code such
  /// as "unavailable"; the client gets an err, never a false ok).
  virtual void on_published(uint64_t ticket, bool ok, uint64_t seq, const char* error) = 0;
  /// A message of an owned tag, in seq order: the owner fans it out on this node.
  virtual void on_tag_message(std::string_view tag, uint64_t seq, frame* msg) = 0;
  /// A message matching a watched pattern (Redis broker only: it subscribes to patterns
  /// itself, while the embedded broker reaches pattern subscribers through the owner of
  /// each exact tag). `pattern` is one watched pattern it matches, `tag` the concrete tag; a
  /// publish matching several watched patterns comes once. A tag that is also watched
  /// exactly arrives through on_tag_message too.
  virtual void on_pattern_message(std::string_view pattern, std::string_view tag,
                                  uint64_t seq, frame* msg) {
    (void)pattern, (void)tag, (void)seq, (void)msg;
  }
  /// The live stream of a watched tag or pattern may have missed messages that the broker
  /// cannot deliver (a pattern while the subscription was down; a tag whose history did not
  /// reach back, or whose state was lost). Comes in stream order: after the messages before
  /// the hole, before those after it. Its subscribers are told (docs/protocol.md, gap notices).
  virtual void on_stream_gap(std::string_view key) { (void)key; }
  /// The answer to query(): position, then the retained messages after `since` in order.
  virtual void on_queried(uint64_t ticket, bool ok, const tag_position& position,
                          std::span<const history_entry> missed) = 0;

 protected:
  ~broker_listener() = default;
};

class broker {
 public:
  virtual ~broker() = default;
  /// Assigns the tag's next seq to `data` (raw JSON) and makes it a message.
  virtual void publish(std::string_view tag, std::string_view data, uint64_t ticket) = 0;
  /// Reports the tag's position and, if `since` is present, what came after it. For a
  /// watched tag the answer comes only after every live message up to the reported top has
  /// gone to on_tag_message, so a subscriber holding live messages until the answer can
  /// drop those <= top. Call watch() before query() when the subscriber needs live messages.
  /// For a watched pattern (Redis) the answer, with no position, comes once its live
  /// stream flows, so that the subscriber's `ok` promises live messages truthfully.
  virtual void query(std::string_view tag, const since_request& since, uint64_t ticket) = 0;
  /// The owner shard starts or stops needing a tag's live messages (Redis subscribes).
  virtual void watch(std::string_view tag) = 0;
  virtual void unwatch(std::string_view tag) = 0;
  /// Can it take publishes now (for /readyz)?
  virtual bool ready() const = 0;
  /// Called once per loop turn: flush batched requests, handle timers.
  virtual void poll() {}
  /// While paused, live messages from outside the process (Redis) are not read: the shard
  /// cannot pass more on to its peers for now.
  virtual void pause_live(bool paused) { (void)paused; }
  /// A completion whose user_data has kind io_op::link (the Redis broker's sockets).
  virtual void on_completion(const completion& c) { (void)c; }
};

}  // namespace wsa
