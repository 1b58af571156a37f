// Retained messages (MQTT's "retain": the last message a tag keeps for its next
// subscribers), one replica per shard of a node. The shard that takes a retained publish
// gives it an order (its time, and a number unique among the shards, as the message's ts and
// seq) and sends it to every shard, which applies it here: a newer (ts, seq) replaces the
// tag's message, an empty data clears it, an older one is ignored, so replicas agree
// whatever order updates arrive in.
// Subscribing reads the local replica: no round trip to another shard.
//
// Kept as a tree of tag segments (as Mosquitto keeps retained messages by topic level), so
// that a pattern visits the branches it can match, not every retained tag: `a.*.t` looks up
// `a`, walks a's children and looks up `t` under each; `a.>` walks what is under `a`.
//
// Bounded per replica (a node holds one replica per shard): at most `max_messages` tags and
// `max_bytes` of what they cost (messages and tree nodes: a deep topic costs a node per
// level). A new tag past the bound is refused by the publisher's shard
// (counted); the others take what it accepted up to twice the bound, so that replicas
// near the bound stay close without trusting order. Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "broker/message.h"
#include "pubsub/string_map.h"

namespace wsa {

class retained_store {
 public:
  struct limits {
    uint32_t max_messages = 10000;
    uint64_t max_bytes = 16 * 1024 * 1024;
  };
  struct entry {
    message_ref m;
    uint8_t qos = 1;        ///< the QoS it was published with
    uint32_t expiry_s = 0;  ///< MQTT's Message Expiry Interval it was published with (0: none)
  };

  explicit retained_store(limits l) : limits_(l) {}

  enum class put_result : uint8_t { stored, cleared, stale, full };

  /// Applies a retained publish of `tag` (empty `data`: clears it). `origin`: the
  /// publisher's shard, which decides alone whether a new tag still fits.
  put_result put(std::string_view tag, uint64_t seq, int64_t ts_ms, std::string_view data,
                 uint8_t qos, bool origin, std::string_view meta = {}, uint32_t expiry_s = 0);

  const entry* find(std::string_view tag) const;
  /// Forgets every retained message.
  void clear() {
    root_.children.clear();
    size_ = 0;
    bytes_ = 0;
  }
  /// Calls f(entry) for each retained message whose tag `pattern` (a valid tag or pattern)
  /// matches, until f returns false or `visits` (nodes of the tree looked at, decremented)
  /// runs out. Returns false if it stopped early.
  template <class F>
  bool for_each_match(std::string_view pattern, std::size_t& visits, F&& f) const {
    return match(root_, pattern, visits, f);
  }
  template <class F>
  bool for_each_match(std::string_view pattern, F&& f) const {
    std::size_t unbounded = SIZE_MAX;
    return match(root_, pattern, unbounded, f);
  }

  std::size_t size() const { return size_; }
  uint64_t bytes() const { return bytes_; }

 private:
  struct node {
    string_map<std::unique_ptr<node>> children;  // by the next segment
    std::optional<entry> value;                  // the retained message of this node's tag
  };

  // What the store charges against max_bytes is what it allocates: each message (its
  // record, tag, data and metadata), and each node of the tree (one per topic level: the
  // node, its entry in the parent's hash table, its segment), each allocation rounded up.
  static constexpr uint64_t allocation_overhead = 16;
  static uint64_t message_cost(std::string_view tag, std::string_view data,
                               std::string_view meta) {
    return sizeof(message) + tag.size() + data.size() + meta.size() + allocation_overhead;
  }
  static uint64_t message_cost(const message& m) {
    return message_cost(m.tag(), m.data(), m.meta());
  }
  static uint64_t node_cost(std::string_view segment);
  /// The cost of the nodes `tag` still lacks.
  uint64_t missing_nodes_cost(std::string_view tag) const;
  bool fits(uint64_t more_bytes, uint32_t more_messages, unsigned factor) const {
    return size_ + more_messages <= uint64_t{limits_.max_messages} * factor &&
           bytes_ + more_bytes <= limits_.max_bytes * factor;
  }
  node* find_node(std::string_view tag) const;
  node& make_node(std::string_view tag);
  /// Removes the empty nodes on `rest`'s path below `n`; true if `n` itself is now empty.
  bool prune(node& n, std::string_view rest);

  /// Splits the first segment off `rest`; false when `rest` was the last one.
  static bool split(std::string_view& rest, std::string_view& segment) {
    const std::size_t dot = rest.find('.');
    segment = rest.substr(0, dot);
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    return dot != std::string_view::npos;
  }
  template <class F>
  static bool match(const node& n, std::string_view pattern, std::size_t& visits, F& f);
  template <class F>
  static bool visit_below(const node& n, std::size_t& visits, F& f);

  limits limits_;
  node root_;
  std::size_t size_ = 0;
  uint64_t bytes_ = 0;
};

template <class F>
bool retained_store::match(const node& n, std::string_view pattern, std::size_t& visits, F& f) {
  std::string_view segment;
  const bool more = split(pattern, segment);
  if (segment == ">") {
    return visit_below(n, visits, f);  // one or more segments: everything under n
  }
  auto step = [&](const node& child) {
    if (visits == 0) {
      return false;
    }
    --visits;
    if (more) {
      return match(child, pattern, visits, f);
    }
    return !child.value || f(*child.value);
  };
  if (segment == "*") {
    for (const auto& [_, child] : n.children) {
      if (!step(*child)) {
        return false;
      }
    }
    return true;
  }
  const auto it = n.children.find(segment);
  return it == n.children.end() || step(*it->second);
}

template <class F>
bool retained_store::visit_below(const node& n, std::size_t& visits, F& f) {
  for (const auto& [_, child] : n.children) {
    if (visits == 0) {
      return false;
    }
    --visits;
    if ((child->value && !f(*child->value)) || !visit_below(*child, visits, f)) {
      return false;
    }
  }
  return true;
}

}  // namespace wsa
