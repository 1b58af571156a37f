// The watched patterns that one Redis glob serves (redis_broker), and which of them match a
// message's concrete tag. Usually a glob serves one pattern; the catch-all glob that takes
// the patterns past --redis-max-patterns may serve thousands, so matching walks a pattern
// trie (subscription_index) instead of testing every pattern. Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pubsub/string_map.h"
#include "pubsub/subscription_index.h"

namespace wsa {

class pattern_set {
 public:
  /// False when `pattern` (a valid wildcard pattern) was already there.
  bool add(std::string_view pattern);
  /// False when `pattern` was not there.
  bool remove(std::string_view pattern);
  bool empty() const { return ids_.empty(); }
  std::size_t size() const { return ids_.size(); }

  /// Calls fn(std::string_view pattern) once for each pattern held.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const std::string& pattern : patterns_) {
      if (!pattern.empty()) {
        fn(std::string_view(pattern));
      }
    }
  }
  /// Calls fn(std::string_view pattern) once for each pattern matching the exact `tag`.
  template <class Fn>
  void for_each_match(std::string_view tag, Fn&& fn) const {
    index_.for_each_subscriber(tag, [&](uint32_t id) { fn(std::string_view(patterns_[id])); });
  }

 private:
  subscription_index index_;           // pattern -> id
  std::vector<std::string> patterns_;  // id -> pattern (empty: free)
  std::vector<uint32_t> free_ids_;
  string_map<uint32_t> ids_;
};

}  // namespace wsa
