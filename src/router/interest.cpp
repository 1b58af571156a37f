#include "router/interest.h"

#include <algorithm>

#include "router/owner.h"

namespace wsa {

interest::interest(unsigned shard, unsigned shards) : shard_(shard), shards_(shards) {}

interest::watch_change interest::apply(unsigned from, std::string_view key, bool added) {
  if (added) {
    peers_.add(key, from);
  } else {
    peers_.remove(key, from);
  }
  if (owner_of(key, shards_) != shard_) {
    return watch_change::none;
  }
  auto it = watched_.find(key);
  if (added) {
    if (it == watched_.end()) {
      watched_.emplace(std::string(key), 1);
      return watch_change::watch;
    }
    ++it->second;
    return watch_change::none;
  }
  if (it != watched_.end() && --it->second == 0) {
    watched_.erase(it);
    return watch_change::unwatch;
  }
  return watch_change::none;
}

void interest::mark_peers(std::string_view tag, delivery_scope scope,
                          std::vector<bool>& marks) const {
  std::fill(marks.begin(), marks.end(), false);
  if (scope == delivery_scope::exact) {
    for (const uint32_t peer : peers_.exact_subscribers(tag)) {
      marks[peer] = true;
    }
  } else {
    peers_.for_each_subscriber(tag, [&marks](uint32_t peer) { marks[peer] = true; });
  }
  marks[shard_] = false;
}

}  // namespace wsa
