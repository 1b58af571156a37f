// Topic aliases (MQTT 5.0 section 3.3.2.3.4), both directions, per network connection:
// they do not survive a reconnect. Each side is bounded by the maximum the other side
// announced in CONNECT / CONNACK. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pubsub/string_map.h"

namespace wsa::mqtt {

/// Aliases a client sets on its PUBLISHes: alias -> the topic's tag.
class inbound_aliases {
 public:
  explicit inbound_aliases(uint16_t maximum) : tags_(maximum) {}

  enum class result : uint8_t {
    ok,
    alias_invalid,  ///< 0 or above the maximum: DISCONNECT topic_alias_invalid
    alias_unknown,  ///< empty topic with an alias never set: DISCONNECT protocol_error
    topic_invalid,  ///< the topic maps to no tag: DISCONNECT topic_name_invalid
  };

  /// The tag of a PUBLISH with `topic` and `alias` (0: none). A topic with an alias sets
  /// (or replaces) the alias. On success `tag` views the tag (valid until the next call).
  result resolve(std::string_view topic, uint16_t alias, std::string_view& tag);

 private:
  std::vector<std::string> tags_;  // index alias - 1; empty: not set
  std::string scratch_;
};

/// Aliases the server assigns to the topics it sends: the first `maximum` topics get one,
/// after which the least recently used alias is given to the new topic.
class outbound_aliases {
 public:
  explicit outbound_aliases(uint16_t maximum) : maximum_(maximum) {}

  /// The alias for a delivery on `topic` (0: none, aliases are off) and whether the topic
  /// must travel with it (a new or reassigned alias) or may be left out.
  uint16_t assign(std::string_view topic, bool& send_topic);

 private:
  struct entry {
    std::string topic;
    uint64_t last_use = 0;
  };

  uint16_t maximum_;
  std::vector<entry> entries_;  // index alias - 1
  std::unordered_map<std::string_view, uint16_t, seeded_string_hash>
      by_topic_;  // views into entries_
  uint64_t clock_ = 0;
};

}  // namespace wsa::mqtt
