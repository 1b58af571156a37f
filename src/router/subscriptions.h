// The subscriptions of one shard's local connections: which slots hold which keys (tags and
// patterns), each slot's list of keys (for limits, cleanup and token refresh), and the
// fan-out's de-duplication stamp. It answers "who on this shard gets this message" without
// allocating, and says when a key gains its first or loses its last local subscriber (the
// moments the router announces interest to the key's owner). Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/events.h"
#include "pubsub/string_map.h"
#include "pubsub/subscription_index.h"
#include "router/ports.h"

namespace wsa {

class subscriptions {
 public:
  /// Adds `key` for `who` unless held. True when the key had no local subscriber before
  /// (its first on this shard). `added` says whether anything changed.
  bool add(subscriber_id who, std::string_view key, bool& added);
  /// Removes `key` from `slot` if held. True when that was the key's last local subscriber.
  bool remove(uint32_t slot, std::string_view key, bool& removed);
  /// Removes every key of `slot`, calling last_on_shard(key) for each key that lost its last
  /// local subscriber.
  template <class Fn>
  void remove_all(uint32_t slot, Fn&& last_on_shard);
  /// Removes every key of `slot` that pred(key) selects, in one pass, calling
  /// last_on_shard(key) as remove_all does. Returns how many were removed.
  template <class Pred, class Fn>
  std::size_t remove_if(uint32_t slot, Pred&& pred, Fn&& last_on_shard);

  bool holds(uint32_t slot, std::string_view key) const;
  std::size_t count(uint32_t slot) const;
  std::span<const std::string> keys(uint32_t slot) const;

  /// Marks whether `slot` has a subscribe request waiting (the fan-out then asks `hold`).
  void set_waiting(uint32_t slot, bool waiting) {
    if (waiting || slot < slots_.size()) {
      at(slot).waiting = waiting;
    }
  }

  /// Appends to `out` every local subscriber a live message of `tag` in `scope` reaches,
  /// each once, except those of waiting slots for which hold(slot) says it held the message.
  template <class Hold>
  void collect(std::string_view tag, delivery_scope scope, std::vector<uint32_t>& out,
               Hold&& hold);

  /// The slots holding exactly `key` (a tag or a pattern).
  std::span<const uint32_t> holders_of(std::string_view key) const {
    return index_.subscribers_of(key);
  }

 private:
  struct slot_state {
    uint64_t stamp = 0;    // the last fan-out that reached this slot
    bool waiting = false;  // a subscribe request of this slot waits for its answer
    std::vector<std::string> keys;
  };
  slot_state& at(uint32_t slot);
  subscription_index index_;  // slots by key
  std::vector<slot_state> slots_;
  // Local subscribers per key: 0 -> 1 and 1 -> 0 are the interest announcements.
  string_map<uint32_t> per_key_;
  uint64_t stamp_ = 0;
};

template <class Fn>
void subscriptions::remove_all(uint32_t slot, Fn&& last_on_shard) {
  if (slot >= slots_.size()) {
    return;
  }
  std::vector<std::string>& keys = slots_[slot].keys;
  while (!keys.empty()) {
    const std::string key = std::move(keys.back());
    keys.pop_back();
    index_.remove(key, slot);
    auto it = per_key_.find(key);
    if (it != per_key_.end() && --it->second == 0) {
      per_key_.erase(it);
      last_on_shard(std::string_view(key));
    }
  }
  keys.shrink_to_fit();
}

template <class Pred, class Fn>
std::size_t subscriptions::remove_if(uint32_t slot, Pred&& pred, Fn&& last_on_shard) {
  if (slot >= slots_.size()) {
    return 0;
  }
  std::vector<std::string>& keys = slots_[slot].keys;
  std::size_t removed = 0;
  // Highest index first: the last key moves into a hole, and it has been looked at already.
  for (std::size_t i = keys.size(); i-- > 0;) {
    if (!pred(std::string_view(keys[i]))) {
      continue;
    }
    const std::string key = std::move(keys[i]);
    keys[i] = std::move(keys.back());
    keys.pop_back();
    ++removed;
    index_.remove(key, slot);
    auto it = per_key_.find(key);
    if (it != per_key_.end() && --it->second == 0) {
      per_key_.erase(it);
      last_on_shard(std::string_view(key));
    }
  }
  return removed;
}

template <class Hold>
void subscriptions::collect(std::string_view tag, delivery_scope scope, std::vector<uint32_t>& out,
                            Hold&& hold) {
  if (scope == delivery_scope::exact) {
    for (const uint32_t slot : index_.exact_subscribers(tag)) {
      if (!slots_[slot].waiting || !hold(slot)) {
        out.push_back(slot);
      }
    }
    return;
  }
  const uint64_t stamp = ++stamp_;
  if (scope == delivery_scope::patterns) {
    // Exact subscribers get this message from the tag's own stream.
    for (const uint32_t slot : index_.exact_subscribers(tag)) {
      slots_[slot].stamp = stamp;
    }
  }
  index_.for_each_subscriber(tag, [&](uint32_t slot) {
    // A slot whose subscriptions match several times gets the message once.
    slot_state& s = slots_[slot];
    if (s.stamp == stamp) {
      return;
    }
    s.stamp = stamp;
    if (!s.waiting || !hold(slot)) {
      out.push_back(slot);
    }
  });
}

}  // namespace wsa
