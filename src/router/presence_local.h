// Protocol 1.1 presence on the subscriber side of one shard (docs/architecture.md
// "Presence"): who each local connection is to presence (its member key "<node>|<conn>" and
// its `who` object, given by its handler before its first exact subscription), and which
// connections asked for join/leave events of which exact tags (`"presence":true` on sub).
// The members themselves are kept by the broker, on the tag's owner shard.
// Nothing here is looked at per message: only subscribe, unsubscribe, close and presence
// events touch it. Shard thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pubsub/string_map.h"

namespace wsa {

class presence_local {
 public:
  struct member {
    std::string key;  ///< "<node>|<conn>"
    std::string who;  ///< the JSON object its join carries
    /// Exact tags it wants join/leave events of -> its place in that tag's watchers.
    string_map<uint32_t> watched;
  };

  void identify(uint32_t slot, std::string_view key, std::string_view who);
  /// Null when the connection never identified (it takes no part in presence).
  const member* find(uint32_t slot) const;
  /// `slot` (identified) wants join/leave events of `tag` while subscribed to it.
  void watch(uint32_t slot, std::string_view tag);
  /// No more events of `tag` for `slot`.
  void unwatch(uint32_t slot, std::string_view tag);
  /// The connections that want events of `tag`.
  std::span<const uint32_t> watchers(std::string_view tag) const;
  /// The connection is gone: its identity and watches are forgotten.
  void forget(uint32_t slot);

 private:
  std::unordered_map<uint32_t, member> members_;
  string_map<std::vector<uint32_t>> watchers_;
};

}  // namespace wsa
