// The subscriptions of one shard's local connections: which slots hold which keys (tags and
// patterns), each slot's list of keys (for limits, cleanup and token refresh), and the
// fan-out's de-duplication stamp. It answers "who on this shard gets this message" without
// allocating, and says when a key gains its first or loses its last local subscriber (the
// moments the router announces interest to the key's owner). Shard thread only.
//
// Sized for many idle connections: a key's bytes are stored once per shard (keys_, by id),
// a slot holds the ids of its keys (two inline, so most slots own no heap block), and slots
// live in fixed chunks (no doubling slack, no copies when the table grows): 24 bytes per
// slot. A slot with many keys keeps their positions in a side table, so removing one key is
// O(1) whatever the slot holds. Whether a key has local subscribers is the index's answer,
// not a separate count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/events.h"
#include "pubsub/id_table.h"
#include "pubsub/position_table.h"
#include "pubsub/subscriber_list.h"
#include "pubsub/subscription_index.h"
#include "pubsub/tag.h"
#include "router/ports.h"

namespace wsa {

class subscriptions {
 public:
  /// Adds `key` for `who` unless held. True when the key had no local subscriber before
  /// (its first on this shard). `added` says whether anything changed.
  /// `latest_ms`: the key's conflation interval ("mode":"latest"), 0 for every message;
  /// a key held already takes the new mode.
  bool add(subscriber_id who, std::string_view key, bool& added, uint32_t latest_ms = 0);
  /// The conflation interval `slot` holds `key` with (0: every message; also when not held).
  uint32_t latest_ms(uint32_t slot, std::string_view key) const;
  /// Removes `key` from `slot` if held. True when that was the key's last local subscriber.
  bool remove(uint32_t slot, std::string_view key, bool& removed);
  /// Removes every key of `slot`, calling last_on_shard(key) for each key that lost its last
  /// local subscriber.
  template <class Fn>
  void remove_all(uint32_t slot, Fn&& last_on_shard) {
    remove_if(slot, [](std::string_view) { return true; }, last_on_shard);
  }
  /// Removes every key of `slot` that pred(key) selects, in one pass, calling
  /// last_on_shard(key) as remove_all does. Returns how many were removed.
  template <class Pred, class Fn>
  std::size_t remove_if(uint32_t slot, Pred&& pred, Fn&& last_on_shard);

  bool holds(uint32_t slot, std::string_view key) const;
  std::size_t count(uint32_t slot) const;

  /// Marks whether `slot` has a subscribe request waiting (the fan-out then asks `hold`).
  void set_waiting(uint32_t slot, bool waiting) {
    if (waiting || find_slot(slot) != nullptr) {
      at(slot).waiting = waiting;
    }
  }

  /// A subscriber that gets a tag conflated: every subscription of it matching the tag is
  /// "latest"; the shortest interval applies.
  struct latest_target {
    subscriber_id who;
    uint32_t interval_ms;
  };
  /// Appends to `out` every local subscriber a live message of `tag` in `scope` reaches,
  /// each once, except those of waiting slots for which hold(slot) says it held the message;
  /// subscribers that get the tag conflated go to `latest` instead.
  template <class Hold>
  void collect(std::string_view tag, delivery_scope scope, std::vector<uint32_t>& out,
               std::vector<latest_target>& latest, Hold&& hold);

  /// The slots holding exactly `key` (a tag or a pattern).
  std::span<const uint32_t> holders_of(std::string_view key) const {
    return index_.subscribers_of(key);
  }

 private:
  static constexpr uint32_t chunk_size = 1024;
  struct slot_state {
    uint32_t stamp = 0;    // the last fan-out that reached this slot
    bool waiting = false;  // a subscribe request of this slot waits for its answer
    bool latest = false;   // some key is held in mode "latest" (an entry in latest_)
    subscriber_list keys;  // ids of the keys held (keys_)
  };
  // The conflated keys of a slot (protocol 1.1 "mode":"latest"): only slots that have one.
  struct latest_keys {
    uint32_t generation = 0;
    std::vector<std::pair<uint32_t, uint32_t>> intervals;  // (key id, interval ms), by id
  };
  /// The interval `l` holds key `id` with (0: every message): a binary search, as the
  /// fan-out asks it for each of a conflated slot's keys matching a message.
  static uint32_t interval_of(const latest_keys& l, uint32_t id) {
    const auto it = std::lower_bound(l.intervals.begin(), l.intervals.end(),
                                     std::pair<uint32_t, uint32_t>{id, 0});
    return it != l.intervals.end() && it->first == id ? it->second : 0;
  }
  /// Sets the mode `who` holds key `id` with (0: every message).
  void set_latest(subscriber_id who, slot_state& s, uint32_t id, uint32_t latest_ms);
  /// Where a message of `tag` goes for `slot`: `out`, or `latest` when conflated.
  void route(uint32_t slot, const slot_state& s, std::string_view tag,
             std::vector<uint32_t>& out, std::vector<latest_target>& latest);
  // Only slots that ever subscribed have a chunk: at() creates it.
  slot_state& at(uint32_t slot);
  slot_state& slot_at(uint32_t slot) { return chunks_[slot / chunk_size][slot % chunk_size]; }
  const slot_state* find_slot(uint32_t slot) const {
    return slot / chunk_size < chunks_.size() && chunks_[slot / chunk_size]
               ? &chunks_[slot / chunk_size][slot % chunk_size]
               : nullptr;
  }
  uint32_t find_key(std::string_view key) const;
  uint32_t intern(std::string_view key);
  void forget_key(uint32_t id);
  void slot_add(uint32_t slot, slot_state& s, uint32_t id);
  void slot_remove(uint32_t slot, slot_state& s, uint32_t position);
  /// Ends slot's hold of key `id` (at `position` in its list) in the index; true when that
  /// was the key's last local subscriber (the id is then free once its bytes are used).
  bool unhold(uint32_t slot, slot_state& s, uint32_t position, uint32_t id);
  uint32_t next_stamp();

  subscription_index index_;  // slots by key
  std::vector<std::unique_ptr<slot_state[]>> chunks_;
  std::vector<std::string> keys_;  // by key id; empty while on the free list
  std::vector<uint32_t> free_keys_;
  id_table key_ids_;              // hash(key) -> id
  position_table key_positions_;  // (slot, key id) -> position, for slots with many keys
  uint32_t stamp_ = 0;
  std::unordered_map<uint32_t, latest_keys> latest_;  // by slot
};

template <class Pred, class Fn>
std::size_t subscriptions::remove_if(uint32_t slot, Pred&& pred, Fn&& last_on_shard) {
  if (find_slot(slot) == nullptr) {
    return 0;
  }
  slot_state& s = slot_at(slot);
  std::size_t removed = 0;
  // Highest position first: the last id moves into a hole, and it has been looked at already.
  for (uint32_t i = s.keys.size(); i-- > 0;) {
    const uint32_t id = s.keys[i];
    if (!pred(std::string_view(keys_[id]))) {
      continue;
    }
    ++removed;
    if (unhold(slot, s, i, id)) {
      // A copy: what last_on_shard does may add keys (and move keys_).
      const std::string key = keys_[id];
      forget_key(id);
      last_on_shard(std::string_view(key));
    }
  }
  return removed;
}

template <class Hold>
void subscriptions::collect(std::string_view tag, delivery_scope scope, std::vector<uint32_t>& out,
                            std::vector<latest_target>& latest, Hold&& hold) {
  if (scope == delivery_scope::exact) {
    for (const uint32_t slot : index_.exact_subscribers(tag)) {
      const slot_state& s = slot_at(slot);
      if (!s.waiting || !hold(slot)) {
        route(slot, s, tag, out, latest);
      }
    }
    return;
  }
  const uint32_t stamp = next_stamp();
  if (scope == delivery_scope::patterns) {
    // Exact subscribers get this message from the tag's own stream.
    for (const uint32_t slot : index_.exact_subscribers(tag)) {
      slot_at(slot).stamp = stamp;
    }
  }
  index_.for_each_subscriber(tag, [&](uint32_t slot) {
    // A slot whose subscriptions match several times gets the message once.
    slot_state& s = slot_at(slot);
    if (s.stamp == stamp) {
      return;
    }
    s.stamp = stamp;
    if (!s.waiting || !hold(slot)) {
      route(slot, s, tag, out, latest);
    }
  });
}

inline void subscriptions::route(uint32_t slot, const slot_state& s, std::string_view tag,
                                 std::vector<uint32_t>& out,
                                 std::vector<latest_target>& latest) {
  if (!s.latest) [[likely]] {
    out.push_back(slot);
    return;
  }
  // The fullest mode of the subscriptions matching the tag wins: any "all" gets every
  // message; otherwise the shortest interval applies.
  const latest_keys& l = latest_.find(slot)->second;
  uint32_t shortest = UINT32_MAX;
  for (uint32_t i = 0; i < s.keys.size(); ++i) {
    const uint32_t id = s.keys[i];
    const std::string& key = keys_[id];
    if (key != tag && !(is_wildcard(key) && pattern_matches(key, tag))) {
      continue;
    }
    const uint32_t interval = interval_of(l, id);
    if (interval == 0) {
      out.push_back(slot);
      return;
    }
    shortest = std::min(shortest, interval);
  }
  if (shortest == UINT32_MAX) {
    out.push_back(slot);  // (cannot happen: the index matched one of its keys)
    return;
  }
  latest.push_back({{slot, l.generation}, shortest});
}

}  // namespace wsa
