// Where a session stands in a tag's history: the last seq it has been given (QoS 0) or has
// acknowledged (QoS 1), with the epoch that gives the seq its meaning and the message's
// publish time. Resuming a session replays each tag's history after its position.
#pragma once

#include <concepts>
#include <cstdint>
#include <string_view>

namespace wsa::mqtt {

struct message_position {
  std::string_view tag;
  std::string_view epoch;
  uint64_t seq = 0;
  int64_t ts_ms = 0;  ///< the broker's publish time
};

/// What a delivered message must tell the session logic about itself (the wiring's frame
/// handle, a test's struct...).
template <class M>
concept positioned_message = requires(const M& m) {
  { m.position() } -> std::convertible_to<message_position>;
};

}  // namespace wsa::mqtt
