// See presence_local.h.
#include "router/presence_local.h"

namespace wsa {

void presence_local::identify(uint32_t slot, std::string_view key, std::string_view who) {
  member& m = members_[slot];
  m.key.assign(key);
  m.who.assign(who);
}

const presence_local::member* presence_local::find(uint32_t slot) const {
  const auto it = members_.find(slot);
  return it == members_.end() ? nullptr : &it->second;
}

void presence_local::watch(uint32_t slot, std::string_view tag) {
  const auto m = members_.find(slot);
  if (m == members_.end() || m->second.watched.find(tag) != m->second.watched.end()) {
    return;
  }
  auto w = watchers_.find(tag);
  if (w == watchers_.end()) {
    w = watchers_.emplace(std::string(tag), std::vector<uint32_t>{}).first;
  }
  m->second.watched.emplace(std::string(tag), static_cast<uint32_t>(w->second.size()));
  w->second.push_back(slot);
}

void presence_local::unwatch(uint32_t slot, std::string_view tag) {
  const auto m = members_.find(slot);
  if (m == members_.end()) {
    return;
  }
  const auto at = m->second.watched.find(tag);
  if (at == m->second.watched.end()) {
    return;
  }
  const uint32_t place = at->second;
  const auto w = watchers_.find(tag);
  m->second.watched.erase(at);
  if (w == watchers_.end()) {
    return;
  }
  // Swap-remove: the slot moved into `place` learns its new place.
  std::vector<uint32_t>& slots = w->second;
  const uint32_t moved = slots.back();
  slots[place] = moved;
  slots.pop_back();
  if (moved != slot) {
    members_[moved].watched.find(w->first)->second = place;
  }
  if (slots.empty()) {
    watchers_.erase(w);
  }
}

std::span<const uint32_t> presence_local::watchers(std::string_view tag) const {
  const auto w = watchers_.find(tag);
  return w == watchers_.end() ? std::span<const uint32_t>{} : w->second;
}

void presence_local::forget(uint32_t slot) {
  const auto m = members_.find(slot);
  if (m == members_.end()) {
    return;
  }
  while (!m->second.watched.empty()) {
    const std::string tag = m->second.watched.begin()->first;
    unwatch(slot, tag);
  }
  members_.erase(m);
}

}  // namespace wsa
