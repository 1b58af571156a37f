#include "router/subscriptions.h"

#include <algorithm>

namespace wsa {

subscriptions::slot_state& subscriptions::at(uint32_t slot) {
  if (slot >= slots_.size()) {
    slots_.resize(std::max<std::size_t>(slot + 1, slots_.size() * 2));
  }
  return slots_[slot];
}

bool subscriptions::add(subscriber_id who, std::string_view key, bool& added) {
  added = false;
  if (!index_.add(key, who.slot)) {
    return false;  // held already
  }
  added = true;
  at(who.slot).keys.emplace_back(key);
  auto it = per_key_.find(key);
  if (it == per_key_.end()) {
    per_key_.emplace(std::string(key), 1);
    return true;
  }
  ++it->second;
  return false;
}

bool subscriptions::remove(uint32_t slot, std::string_view key, bool& removed) {
  removed = false;
  if (slot >= slots_.size() || !index_.remove(key, slot)) {
    return false;
  }
  removed = true;
  bool last = false;
  auto it = per_key_.find(key);
  if (it != per_key_.end() && --it->second == 0) {
    per_key_.erase(it);
    last = true;
  }
  // Last, since `key` may be a view of the entry removed here.
  std::vector<std::string>& keys = slots_[slot].keys;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) {
      keys[i] = std::move(keys.back());
      keys.pop_back();
      break;
    }
  }
  return last;
}

bool subscriptions::holds(uint32_t slot, std::string_view key) const {
  return index_.contains(key, slot);
}

std::size_t subscriptions::count(uint32_t slot) const {
  return slot < slots_.size() ? slots_[slot].keys.size() : 0;
}

std::span<const std::string> subscriptions::keys(uint32_t slot) const {
  if (slot >= slots_.size()) {
    return {};
  }
  return slots_[slot].keys;
}

}  // namespace wsa
