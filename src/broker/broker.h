// The broker seam (docs/architecture.md "Brokers"): what the shard that owns a tag asks of
// whatever keeps that tag's sequence and history. It speaks tags, seqs, publication times
// and data bytes, never a transport: messages are message handles (broker/message.h) that
// each transport encodes for itself.
//
// Every tag has one owner shard per node (chosen by hash); only the owner calls the broker
// for it, so per-tag order on a node is the order of one thread. Implementations: embedded
// (in process, the default) and Redis (many nodes); the interface leaves room for Redis
// Cluster and Sentinel. Results go to the broker_events queue given at construction and come
// back in the shard's "broker results" phase, never through calls into the caller.
// One instance per shard; shard thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "broker/events.h"
#include "broker/session_store.h"

namespace wsa {

struct completion;

/// A message to number and keep.
struct publish_request {
  std::string_view tag;
  std::string_view data;  ///< raw JSON, byte for byte
  uint64_t ticket = 0;    ///< comes back in the `published` event
  /// Protocol 1.1 `idem` (empty: none): if (tag, idem) was published inside the window, the
  /// `published` event repeats that publish's seq and ts with `dup`, and nothing is published.
  std::string_view idem;
  /// The publisher's metadata (message::meta; empty: none), kept and delivered with it.
  std::string_view meta;
};

/// An MQTT retained message for the whole cluster (shares_retained()): `tag`'s new one
/// (data and the publisher's metadata), or none (empty data). Past the bounds (a new tag
/// when max_messages are kept, or max_bytes of tags, data and metadata), it is not kept.
struct retain_request {
  std::string_view tag;
  std::string_view data;
  std::string_view meta;
  uint32_t max_messages = 0;
  uint64_t max_bytes = 0;
};

/// A `since` request for one exact tag.
struct since_request {
  bool present = false;
  uint64_t seq = 0;
  std::string_view epoch;  ///< empty: the client gave a bare number
  /// The replay stops before its frames pass this many bytes (the subscriber's outbound
  /// limit): the rest is reported as a gap, which a later `since` recovers.
  uint64_t max_bytes = UINT64_MAX;
};

/// A position the client knows of one tag of a recovering pattern.
struct known_position {
  std::string_view tag;
  uint64_t seq = 0;
  std::string_view epoch;  ///< empty: a bare number
};

/// Protocol 1.1 recovery on a pattern (`since` keyed by a pattern): for each tag the
/// pattern matches, the messages after the known position (tags in `known`, exact rules),
/// or published at or after ts_ms (other tags; every retained one without ts).
struct pattern_since_request {
  std::string_view pattern;
  bool has_ts = false;
  uint64_t ts_ms = 0;
  std::span<const known_position> known;  ///< those of the tags this broker answers for
  uint32_t max_tags = 1000;  ///< --max-recovery-tags: past it, only `over_bound` is reported
  uint64_t max_bytes = UINT64_MAX;  ///< as since_request::max_bytes, for all tags together
};

class broker {
 public:
  explicit broker(broker_events& results) : results_(results) {}
  virtual ~broker() = default;
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  /// Assigns the tag's next seq to the data and makes it a message: a `published` event,
  /// then (for a watched tag, or always with the embedded broker) a `message` event. A
  /// repeated idem key gets only the `published` event, marked dup, in the same atomic step.
  virtual void publish(const publish_request& request) = 0;
  /// Reports the key's position and, if `since` is present, the retained messages after it
  /// (a `queried` event). For a watched tag the answer comes only after every message up to
  /// the reported top has been queued, so a subscriber holding live messages until the
  /// answer can drop those <= top: call watch() before query() when the subscriber needs
  /// live messages. For a watched pattern, when pattern_streams(), the answer (with no
  /// position) comes once the pattern's own stream flows.
  virtual void query(std::string_view key, const since_request& since, uint64_t ticket) = 0;
  /// Recovery on a pattern: a `queried` event whose `tags` lists each tag with something
  /// to replay or a gap (at most max_tags; `position.gap` set when there were more), and
  /// whose `missed` holds their messages, grouped by tag in seq order. Embedded: every
  /// shard answers for the tags it owns. Redis (pattern_streams()): the pattern's owner
  /// answers for all, once the pattern's stream flows, after every live message up to
  /// each reported top.
  virtual void query_pattern(const pattern_since_request& request, uint64_t ticket) = 0;
  /// The owner shard starts or stops needing a key's live messages.
  virtual void watch(std::string_view key) = 0;
  virtual void unwatch(std::string_view key) = 0;
  /// Protocol 1.1 presence (docs/architecture.md "Presence"): `member` ("<node>|<conn>")
  /// joins the exact `tag` with `who` (a JSON object), or leaves it. Every change that takes
  /// effect comes back as a `presence` event, on the owner shard of every node that watches
  /// the tag. A broker without presence ignores them.
  virtual void presence_join(std::string_view tag, std::string_view member,
                             std::string_view who) {
    (void)tag, (void)member, (void)who;
  }
  virtual void presence_leave(std::string_view tag, std::string_view member) {
    (void)tag, (void)member;
  }
  /// The members of `tag` on every node: a `presence_listed` event with the exact count and
  /// at most `limit` who objects, in a JSON array of at most about `max_bytes`.
  virtual void presence_query(std::string_view tag, uint32_t limit, uint64_t max_bytes,
                              uint64_t ticket) {
    (void)tag, (void)limit, (void)max_bytes;
    results_.presence_failed(ticket, "unavailable");
  }
  /// Whether it keeps MQTT retained messages for every node (Redis): retain() stores a
  /// change, and the broker of each node's shard 0 brings every node's changes as
  /// `retained` events (after a `retained_reset` and the whole set when it (re)connects).
  /// Otherwise each node keeps its own (handlers/mqtt_retained.cpp).
  virtual bool shares_retained() const { return false; }
  virtual void retain(const retain_request& request) { (void)request; }
  /// Can it take publishes now (for /readyz)?
  virtual bool ready() const = 0;
  /// Whether patterns have live streams of their own (`patterns` scope, Redis) rather than
  /// reaching their subscribers through each exact tag's stream (embedded).
  virtual bool pattern_streams() const = 0;
  /// Why this broker cannot serve a subscription to `pattern` (with a pattern `since` when
  /// `since`), in words for the client; nullptr when it can.
  virtual const char* pattern_refusal(std::string_view pattern, bool since) const {
    (void)pattern;
    (void)since;
    return nullptr;
  }
  /// Once per loop turn: flush batched requests, run timers.
  virtual void poll() {}
  /// While paused, live messages from outside the process (Redis) are not read: the shard
  /// cannot pass more on to its peers for now.
  virtual void pause_live(bool paused) { (void)paused; }
  /// A completion whose user_data has kind io_op::link (the broker's own sockets).
  virtual void on_completion(const completion& c) { (void)c; }
  /// Where persistent MQTT sessions are shared between nodes (Redis); nullptr: they stay
  /// on the node (embedded).
  virtual session_store* sessions() { return nullptr; }

 protected:
  broker_events& results_;
};

}  // namespace wsa
