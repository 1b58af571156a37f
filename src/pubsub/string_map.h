// Hash tables keyed by strings that clients choose (tags, patterns): std::unordered_map with
// the process-seeded hash of hash.h, so that nobody can fill a table with colliding keys and
// turn every lookup into a walk of one long bucket. Lookups take a std::string_view without
// building a std::string (transparent hash and equality).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pubsub/hash.h"

namespace wsa {

struct seeded_string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const {
    return static_cast<std::size_t>(hash_bytes(s));
  }
};

template <class T>
using string_map = std::unordered_map<std::string, T, seeded_string_hash, std::equal_to<>>;

}  // namespace wsa
