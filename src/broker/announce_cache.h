// Patterns on Redis Cluster (docs/redis-cluster.md "Patterns"): the tags a shard announced
// to their first segment's pattern subscribers lately. A publish announces its tag when the
// tag is not here (or was announced more than `refresh_ms` ago, which keeps the registry's
// scores fresh); so steady traffic costs no announce. Bounded: past `capacity` tags the
// oldest inserted is forgotten (its next publish announces again, which is harmless).
// Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "pubsub/string_map.h"

namespace wsa {

class announce_cache {
 public:
  announce_cache(std::size_t capacity, int64_t refresh_ms)
      : capacity_(capacity), refresh_ms_(refresh_ms) {}

  /// True when `tag` must be announced now; it is then "in flight" (no second announce)
  /// until done() or failed().
  bool due(std::string_view tag, int64_t now_ms) {
    auto it = when_.find(tag);
    if (it != when_.end()) {
      if (it->second == in_flight || now_ms - it->second < refresh_ms_) {
        return false;
      }
      it->second = in_flight;
      return true;
    }
    evict();
    when_.emplace(std::string(tag), in_flight);
    order_.emplace_back(tag);
    return true;
  }
  /// The announce reached Redis.
  void done(std::string_view tag, int64_t now_ms) {
    auto it = when_.find(tag);
    if (it != when_.end()) {
      it->second = now_ms;
    }
  }
  /// The announce (or the publish it follows) failed: the next publish announces again.
  void failed(std::string_view tag) {
    auto it = when_.find(tag);
    if (it != when_.end()) {
      when_.erase(it);
    }
  }
  std::size_t size() const { return when_.size(); }

 private:
  // Forgets the oldest inserted until there is room; names seen again (after failed()) may
  // repeat in order_, which stays within twice the capacity. In-flight names are kept.
  void evict() {
    for (std::size_t n = order_.size();
         n > 0 && (when_.size() >= capacity_ || order_.size() >= 2 * capacity_); --n) {
      std::string name = std::move(order_.front());
      order_.pop_front();
      auto old = when_.find(name);
      if (old == when_.end()) {
        continue;  // forgotten already
      }
      if (old->second == in_flight) {
        order_.push_back(std::move(name));
        continue;
      }
      when_.erase(old);
    }
  }

  static constexpr int64_t in_flight = INT64_MIN;
  std::size_t capacity_;
  int64_t refresh_ms_;
  string_map<int64_t> when_;
  std::deque<std::string> order_;  // insertion order (names may repeat; a stale one is skipped)
};

}  // namespace wsa
