// A shard's subscription index: which of its local subscribers (uint32_t ids, opaque here; in
// practice connection slots) want the messages of which tags.
//
// Exact tags live in a hash table whose value is a contiguous subscriber array, so the fan-out
// hot path is one lookup and a plain array scan. Wildcard patterns live in a segment trie (as
// NATS' sublist): a node per literal segment, one `*` child, a list of the patterns that end
// at the node and a list of those that continue with `>` there. Matching a tag walks only the
// trie paths that can match it, so 10k pattern subscriptions do not mean 10k pattern_matches
// calls per message, and the walk allocates nothing.
//
// add/remove are O(1) on average for exact tags whatever the number of subscribers (large
// lists keep each subscriber's position in a side table) and O(segments) for patterns.
// Memory per subscription, measured with 100k subscriptions (bench/subscription_index_bench,
// `memory/*`; glibc heap incl. growth slack): one tag with 100k subscribers ~37 bytes (4 in
// the array, the rest in the position table); 10k tags x 10 subscribers ~17 bytes; 100k tags
// x 1 subscriber ~127 bytes (48-byte entry, tag bytes, table slot); 100k distinct patterns x 1
// ~126 bytes (an 80-byte trie node per distinct segment); 1k patterns x 100 ~39 bytes.
//
// Owned by one shard; single-threaded, no locks. The caller removes a closing subscriber's
// subscriptions itself (it knows them; the index keeps no per-subscriber reverse map).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pubsub/id_table.h"
#include "pubsub/position_table.h"
#include "pubsub/subscriber_list.h"

namespace wsa {

class subscription_index {
 public:
  subscription_index();
  ~subscription_index();
  subscription_index(const subscription_index&) = delete;
  subscription_index& operator=(const subscription_index&) = delete;

  /// Subscribes `subscriber` to `pattern` (a valid pattern, exact tags included; checked in
  /// debug builds only). Returns true if the subscription is new, false if it existed.
  bool add(std::string_view pattern, uint32_t subscriber);

  /// Ends one subscription. Returns true if it existed. Other subscribers of the pattern and
  /// other patterns of the subscriber are untouched.
  bool remove(std::string_view pattern, uint32_t subscriber);

  /// Is `subscriber` subscribed to exactly `pattern` (not: does a pattern of it match)?
  bool contains(std::string_view pattern, uint32_t subscriber) const;

  /// Calls fn(uint32_t subscriber) for every subscriber of the exact tag `tag` (a valid tag),
  /// then for every subscriber of every pattern matching it. A subscriber is reported once per
  /// matching subscription: one with `a.b` and `a.*` is reported twice for `a.b`, and the
  /// caller de-duplicates (e.g. with a per-connection stamp). Order is unspecified. fn must
  /// not modify the index. No allocation.
  template <class Fn>
  void for_each_subscriber(std::string_view tag, Fn&& fn) const {
    for (const uint32_t subscriber : exact_subscribers(tag)) {
      fn(subscriber);
    }
    if (pattern_subscriptions_ == 0) {
      return;
    }
    using fn_type = std::remove_reference_t<Fn>;
    visit_pattern_lists(tag, const_cast<void*>(static_cast<const void*>(std::addressof(fn))),
                        [](void* context, std::span<const uint32_t> subscribers) {
                          fn_type& f = *static_cast<fn_type*>(context);
                          for (const uint32_t subscriber : subscribers) {
                            f(subscriber);
                          }
                          return true;
                        });
  }

  /// The subscribers of exactly `tag` (patterns not included). Valid until the next add or
  /// remove.
  std::span<const uint32_t> exact_subscribers(std::string_view tag) const;

  /// The subscribers of exactly `pattern`, a tag or a wildcard pattern (not those of other
  /// patterns that match it). Valid until the next add or remove.
  std::span<const uint32_t> subscribers_of(std::string_view pattern) const;

  /// Would for_each_subscriber(tag) report anyone? Stops at the first match: what a shard
  /// asks to decide whether it wants a tag's messages at all.
  bool has_subscribers(std::string_view tag) const;

  /// Number of subscriptions (pattern, subscriber pairs), exact and wildcard.
  std::size_t size() const { return exact_subscriptions_ + pattern_subscriptions_; }
  bool empty() const { return size() == 0; }
  /// Distinct exact tags with at least one subscriber.
  std::size_t exact_tags() const { return exact_table_.size(); }
  /// Subscriptions to wildcard patterns.
  std::size_t pattern_subscriptions() const { return pattern_subscriptions_; }
  /// Nodes of the pattern trie, the root included.
  std::size_t trie_nodes() const { return nodes_.size() - free_nodes_.size(); }

  /// Heap bytes owned by the index, counted from capacities (std::string and vector blocks,
  /// not the allocator's own overhead). O(number of entries): for diagnostics, not per message.
  std::size_t memory_bytes() const;

 private:
  struct exact_entry {
    std::string tag;  // empty while the entry is on the free list
    subscriber_list subscribers;
  };

  struct trie_node {
    std::string segment;  // literal children only (the `*` child's is empty)
    uint32_t parent = 0;
    uint32_t star = id_table::npos;  // the `*` child
    uint32_t literal_children = 0;
    subscriber_list here;  // patterns ending at this node
    subscriber_list gt;    // patterns with `>` right after this node
  };

  // Returns false to stop the walk.
  using list_visitor = bool (*)(void* context, std::span<const uint32_t> subscribers);

  /// Calls visit for each non-empty pattern list matching `tag`; false if visit stopped it.
  bool visit_pattern_lists(std::string_view tag, void* context, list_visitor visit) const;
  bool walk(uint32_t node, std::string_view rest, void* context, list_visitor visit) const;

  uint32_t find_exact(std::string_view tag, uint64_t hash) const;
  uint32_t find_child(uint32_t parent, std::string_view segment, uint64_t hash) const;
  uint32_t add_child(uint32_t parent, std::string_view segment);
  void prune(uint32_t node);

  // Where a wildcard pattern's subscribers are: nodes_[node].gt or .here (node npos: absent).
  struct list_ref {
    uint32_t node;
    bool gt;
  };
  list_ref find_pattern_list(std::string_view pattern) const;

  bool list_add(subscriber_list& list, uint32_t key, uint32_t subscriber);
  bool list_remove(subscriber_list& list, uint32_t key, uint32_t subscriber);
  uint32_t list_find(const subscriber_list& list, uint32_t key, uint32_t subscriber) const;

  std::vector<exact_entry> exact_;
  std::vector<uint32_t> free_exact_;
  id_table exact_table_;  // hash(tag) -> exact_ index

  std::vector<trie_node> nodes_;  // nodes_[0] is the root
  std::vector<uint32_t> free_nodes_;
  id_table children_;  // hash(parent, segment) -> nodes_ index of a literal child

  position_table positions_;  // positions in lists longer than index_above

  std::size_t exact_subscriptions_ = 0;
  std::size_t pattern_subscriptions_ = 0;
};

}  // namespace wsa
