// Retained messages (MQTT's "retain": the last message a tag keeps for its next
// subscribers), one replica per shard of a node. The shard that takes a retained publish
// gives it an order (its time, and a number unique among the shards, as the message's ts and
// seq) and sends it to every shard, which applies it here: a newer (ts, seq) replaces the
// tag's message, an empty data clears it, an older one is ignored, so replicas agree
// whatever order updates arrive in.
// Subscribing reads the local replica: no round trip to another shard.
//
// Bounded per replica (a node holds one replica per shard): at most `max_messages` tags and
// `max_bytes` of tags and data. A new tag past the bound is refused by the publisher's shard
// (counted); the others take what it accepted up to twice the bound, so that replicas
// near the bound stay close without trusting order. Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker/message.h"
#include "pubsub/string_map.h"
#include "pubsub/tag.h"

namespace wsa {

class retained_store {
 public:
  struct limits {
    uint32_t max_messages = 10000;
    uint64_t max_bytes = 16 * 1024 * 1024;
  };
  struct entry {
    message_ref m;
    uint8_t qos = 1;  ///< the QoS it was published with
  };

  explicit retained_store(limits l) : limits_(l) {}

  enum class put_result : uint8_t { stored, cleared, stale, full };

  /// Applies a retained publish of `tag` (empty `data`: clears it). `origin`: the
  /// publisher's shard, which decides alone whether a new tag still fits.
  put_result put(std::string_view tag, uint64_t seq, int64_t ts_ms, std::string_view data,
                 uint8_t qos, bool origin);

  const entry* find(std::string_view tag) const;
  /// Calls f(entry) for each retained message whose tag `pattern` matches (an exact tag:
  /// at most one, by lookup; a pattern: a pass over every retained tag).
  template <class F>
  void for_each_match(std::string_view pattern, F&& f) const;

  std::size_t size() const { return entries_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  static uint64_t cost(std::string_view tag, std::string_view data) {
    return tag.size() + data.size() + sizeof(message) + 64;  // + the table's node
  }
  bool fits(uint64_t more_bytes, uint32_t more_messages, unsigned factor) const {
    return entries_.size() + more_messages <= uint64_t{limits_.max_messages} * factor &&
           bytes_ + more_bytes <= limits_.max_bytes * factor;
  }

  limits limits_;
  string_map<entry> entries_;
  uint64_t bytes_ = 0;
};

template <class F>
void retained_store::for_each_match(std::string_view pattern, F&& f) const {
  if (!is_wildcard(pattern)) {
    if (const entry* e = find(pattern)) {
      f(*e);
    }
    return;
  }
  for (const auto& [tag, e] : entries_) {
    if (pattern_matches(pattern, tag)) {
      f(e);
    }
  }
}

}  // namespace wsa
