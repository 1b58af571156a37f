// Free-list tickets: the index of a reused or new entry of `items`, for answers that come
// back later by ticket (the router's publish, query and presence waiters; the Redis
// broker's query contexts). Shard thread only.
#pragma once

#include <cstdint>
#include <vector>

namespace wsa {

template <class T>
uint32_t acquire_ticket(std::vector<T>& items, std::vector<uint32_t>& free) {
  if (!free.empty()) {
    const uint32_t index = free.back();
    free.pop_back();
    return index;
  }
  items.emplace_back();
  return static_cast<uint32_t>(items.size() - 1);
}

}  // namespace wsa
