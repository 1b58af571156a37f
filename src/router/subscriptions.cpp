#include "router/subscriptions.h"

#include <algorithm>

#include "pubsub/hash.h"

namespace wsa {
namespace {

// A slot's key list gets a position table beyond this many keys, and loses it again at
// unindex_at, so a slot hovering around the threshold does not rebuild it (as the index).
constexpr uint32_t index_above = 16;
constexpr uint32_t unindex_at = 8;

}  // namespace

subscriptions::slot_state& subscriptions::at(uint32_t slot) {
  const uint32_t chunk = slot / chunk_size;
  if (chunk >= chunks_.size()) {
    chunks_.resize(chunk + 1);
  }
  if (!chunks_[chunk]) {
    chunks_[chunk] = std::make_unique<slot_state[]>(chunk_size);
  }
  return chunks_[chunk][slot % chunk_size];
}

uint32_t subscriptions::next_stamp() {
  if (++stamp_ == 0) {
    // Wrapped: a slot stamped 2^32 fan-outs ago must not look reached by this one.
    for (auto& chunk : chunks_) {
      for (uint32_t i = 0; chunk && i < chunk_size; ++i) {
        chunk[i].stamp = 0;
      }
    }
    stamp_ = 1;
  }
  return stamp_;
}

uint32_t subscriptions::find_key(std::string_view key) const {
  return key_ids_.find(hash_bytes(key), [&](uint32_t id) { return keys_[id] == key; });
}

uint32_t subscriptions::intern(std::string_view key) {
  const uint64_t hash = hash_bytes(key);
  uint32_t id = key_ids_.find(hash, [&](uint32_t i) { return keys_[i] == key; });
  if (id != id_table::npos) {
    return id;
  }
  if (!free_keys_.empty()) {
    id = free_keys_.back();
    free_keys_.pop_back();
    keys_[id].assign(key);
  } else {
    id = static_cast<uint32_t>(keys_.size());
    keys_.emplace_back(key);
  }
  key_ids_.insert(hash, id);
  return id;
}

void subscriptions::forget_key(uint32_t id) {
  key_ids_.erase(hash_bytes(keys_[id]), id);
  std::string().swap(keys_[id]);
  free_keys_.push_back(id);
}

void subscriptions::slot_add(uint32_t slot, slot_state& s, uint32_t id) {
  const uint32_t position = s.keys.size();
  s.keys.push_back(id);
  if (s.keys.indexed()) {
    key_positions_.insert(slot, id, position);
  } else if (s.keys.size() > index_above) {
    for (uint32_t i = 0; i < s.keys.size(); ++i) {
      key_positions_.insert(slot, s.keys[i], i);
    }
    s.keys.set_indexed(true);
  }
}

void subscriptions::slot_remove(uint32_t slot, slot_state& s, uint32_t position) {
  const uint32_t id = s.keys[position];
  const uint32_t moved = s.keys.swap_remove(position);
  if (!s.keys.indexed()) {
    return;
  }
  key_positions_.erase(slot, id);
  if (s.keys.size() <= unindex_at) {
    for (uint32_t i = 0; i < s.keys.size(); ++i) {
      key_positions_.erase(slot, s.keys[i]);
    }
    s.keys.set_indexed(false);
  } else if (moved != subscriber_list::npos) {
    key_positions_.update(slot, moved, position);
  }
}

bool subscriptions::unhold(uint32_t slot, slot_state& s, uint32_t position, uint32_t id) {
  if (s.latest) {
    set_latest({slot, latest_.find(slot)->second.generation}, s, id, 0);
  }
  slot_remove(slot, s, position);
  index_.remove(keys_[id], slot);
  return index_.subscribers_of(keys_[id]).empty();
}

void subscriptions::set_latest(subscriber_id who, slot_state& s, uint32_t id,
                               uint32_t latest_ms) {
  if (latest_ms == 0 && !s.latest) {
    return;  // the usual case: nothing conflated
  }
  latest_keys& l = latest_[who.slot];
  l.generation = who.generation;
  // Kept sorted by id for interval_of().
  auto it = std::lower_bound(l.intervals.begin(), l.intervals.end(),
                             std::pair<uint32_t, uint32_t>{id, 0});
  if (it != l.intervals.end() && it->first == id) {
    if (latest_ms == 0) {
      l.intervals.erase(it);
    } else {
      it->second = latest_ms;
    }
  } else if (latest_ms != 0) {
    l.intervals.insert(it, {id, latest_ms});
  }
  s.latest = !l.intervals.empty();
  if (!s.latest) {
    latest_.erase(who.slot);
  }
}

uint32_t subscriptions::latest_ms(uint32_t slot, std::string_view key) const {
  const slot_state* s = find_slot(slot);
  if (s == nullptr || !s->latest) {
    return 0;
  }
  return interval_of(latest_.find(slot)->second, find_key(key));
}

bool subscriptions::add(subscriber_id who, std::string_view key, bool& added,
                        uint32_t latest_ms) {
  added = false;
  if (!index_.add(key, who.slot)) {
    // Held already: it takes the new mode.
    set_latest(who, slot_at(who.slot), find_key(key), latest_ms);
    return false;
  }
  added = true;
  slot_state& s = at(who.slot);
  const uint32_t id = intern(key);
  slot_add(who.slot, s, id);
  set_latest(who, s, id, latest_ms);
  return index_.subscribers_of(key).size() == 1;
}

bool subscriptions::remove(uint32_t slot, std::string_view key, bool& removed) {
  removed = false;
  if (find_slot(slot) == nullptr || !index_.contains(key, slot)) {
    return false;
  }
  const uint32_t id = find_key(key);
  slot_state& s = slot_at(slot);
  const uint32_t position =
      s.keys.indexed() ? key_positions_.find(slot, id) : s.keys.find(id);
  removed = true;
  if (!unhold(slot, s, position, id)) {
    return false;
  }
  forget_key(id);  // last: `key` may be a view of keys_[id]
  return true;
}

bool subscriptions::holds(uint32_t slot, std::string_view key) const {
  return index_.contains(key, slot);
}

std::size_t subscriptions::count(uint32_t slot) const {
  const slot_state* s = find_slot(slot);
  return s == nullptr ? 0 : s->keys.size();
}

}  // namespace wsa
