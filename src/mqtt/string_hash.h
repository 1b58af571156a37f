// Hash tables keyed by strings a client influences (topics, tags) use the process-seeded
// hash of pubsub/hash.h, so that no client can make them degrade by choosing colliding
// keys. Transparent: std::string keys are found by std::string_view.
#pragma once

#include <cstddef>
#include <string_view>

#include "pubsub/hash.h"

namespace wsa::mqtt {

struct seeded_string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return hash_bytes(s); }
};

}  // namespace wsa::mqtt
