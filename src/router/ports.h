// The router's two seams, so that it runs without sockets or threads (its unit tests drive
// it with fakes): the mailboxes to the other shards (mail_port) and the local connections
// it serves (router_client, implemented by the shard, which hands each call to the
// connection's protocol handler). Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wsa {

class message;

/// A local connection as the router knows it: its slot, and the slot's generation, so that
/// an answer for a connection that has gone (and whose slot was reused) is dropped.
struct subscriber_id {
  uint32_t slot = 0;
  uint32_t generation = 0;
};

/// The records this shard sends to the others (core/record.h post_record). Records become
/// visible to the peer at the end of the loop turn, in the order they were written.
class mail_port {
 public:
  virtual char* begin_record(unsigned to, uint32_t type, std::size_t size) = 0;
  virtual void end_record(unsigned to) = 0;
  /// More than --max-shard-backlog waits for `peer` beyond the ring between us: requests
  /// that would add to it are refused (unavailable) until it drains. Answers and interest
  /// records, small and owed, are always sent.
  virtual bool backlogged(unsigned peer) const = 0;
  /// Whether any peer may be backlogged (the fast check before the others).
  virtual bool any_backlogged() const = 0;

 protected:
  ~mail_port() = default;
};

/// How a publish ended, for the publisher's reply.
struct publish_outcome {
  bool ok = false;
  uint64_t seq = 0;
  int64_t ts_ms = 0;               ///< the broker's publication time (0: not known)
  std::string_view error;          ///< a protocol error code when not ok
  bool dup = false;                ///< an idem repeat: seq and ts are the first publish's
};

/// One exact tag of a subscription's answer (patterns have none, but for their gap past
/// --max-recovery-tags).
struct sub_position {
  std::string_view tag;
  uint64_t seq = 0;  ///< the tag's top when the subscription took effect
  std::string_view epoch;
  bool gap = false;  ///< recovery could not reach back to `since`
  bool only_gap = false;  ///< a pattern's gap: listed in `gaps` only
};

/// How a subscribe request ended: ok with the positions of its exact tags, or an error (the
/// tags that failed are not subscribed). Either way `messages` are then sent, in order:
/// each tag's replay, then the live messages held while the request waited.
struct sub_outcome {
  std::string_view request_id;
  bool ok = true;
  std::string_view error;   ///< protocol error code when not ok
  std::string_view reason;  ///< human text when not ok
  std::span<const sub_position> positions;
  std::span<message* const> messages;
};

/// The answer to a `presence` request (protocol 1.1).
struct presence_outcome {
  bool ok = false;
  uint64_t count = 0;          ///< exact, over every node
  std::string_view who_array;  ///< a JSON array of at most --presence-max-members objects
};

/// What the router tells the local connections. Calls happen in the router's own calls
/// (records, broker events), never inside a request a handler is making.
class router_client {
 public:
  /// A live message for `subscribers` (slots, each listed once). One call per message.
  virtual void deliver(message& m, std::span<const uint32_t> subscribers) = 0;
  /// The publish of `to` with `request_id` (raw JSON id; empty: none) ended.
  virtual void published(subscriber_id to, std::string_view request_id,
                         const publish_outcome& outcome) = 0;
  /// The subscribe request of `to` ended. Stop sending `messages` if the connection
  /// closes on the way (a slow consumer).
  virtual void subscribed(subscriber_id to, const sub_outcome& outcome) = 0;
  /// The live stream of `key` lost messages: tell `subscribers` (those holding exactly key).
  virtual void stream_gap(std::string_view key, std::span<const uint32_t> subscribers) = 0;
  /// Protocol 1.1: another connection joined (`joined`) or left the exact `tag`, as `who`
  /// (a JSON object); `watchers` asked for these events. No-op unless served.
  virtual void presence_event(bool joined, std::string_view tag, std::string_view who,
                              std::span<const uint32_t> watchers) {
    (void)joined, (void)tag, (void)who, (void)watchers;
  }
  /// The `presence` request of `to` with `request_id` ended.
  virtual void presence_listed(subscriber_id to, std::string_view request_id,
                               const presence_outcome& outcome) {
    (void)to, (void)request_id, (void)outcome;
  }
  /// Bytes `who` may still be queued before its outbound limit (a completed subscription's
  /// replays are cut to fit, and the tags cut are reported as gaps).
  virtual std::size_t output_room(subscriber_id who) = 0;
  /// A retained message of the cluster (broker::shares_retained; empty data: cleared), and
  /// the start of a whole set. Only on the shard whose broker brings them (shard 0).
  virtual void retained(message& m) { (void)m; }
  virtual void retained_reset() {}

 protected:
  ~router_client() = default;
};

}  // namespace wsa
