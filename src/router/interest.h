// Which shards have local subscribers of which keys, as this shard has been told (interest
// records): for the exact tags it owns, and for every pattern. It decides where a live
// message goes, and, for the keys this shard owns, when its broker starts and stops
// watching them (while any shard, this one included, has a subscriber). Owned by the
// router; shard thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/events.h"
#include "pubsub/string_map.h"
#include "pubsub/subscription_index.h"

namespace wsa {

class interest {
 public:
  interest(unsigned shard, unsigned shards);

  enum class watch_change : uint8_t { none, watch, unwatch };
  /// Shard `from` gained its first (`added`) or lost its last local subscriber of `key`.
  /// For a key this shard owns, says whether the broker must start or stop watching it.
  watch_change apply(unsigned from, std::string_view key, bool added);

  /// Sets marks[peer] for every other shard whose subscribers a live message of `tag` in
  /// `scope` can reach (marks has one entry per shard and is cleared first).
  void mark_peers(std::string_view tag, delivery_scope scope, std::vector<bool>& marks) const;
  /// Whether pred(peer) holds for some other shard that a message of `tag` would reach
  /// (exact subscribers and matching patterns).
  template <class Pred>
  bool any_peer(std::string_view tag, Pred&& pred) const {
    bool found = false;
    peers_.for_each_subscriber(tag, [&](uint32_t peer) {
      found = found || (peer != shard_ && pred(peer));
    });
    return found;
  }
  /// The shards with subscribers of exactly `key`.
  std::span<const uint32_t> peers_of(std::string_view key) const {
    return peers_.subscribers_of(key);
  }

 private:
  const unsigned shard_;
  const unsigned shards_;
  subscription_index peers_;  // its "subscribers" are shard numbers
  // For owned keys: how many shards are interested (first/last watch/unwatch the broker).
  string_map<uint32_t> watched_;
};

}  // namespace wsa
