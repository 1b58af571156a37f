// Which shard owns a key: orders its messages (the one thread that asks the broker for its
// seqs), keeps its waiters, and fans its messages out to the other shards. Every shard
// computes the same answer. Pure function: any thread.
#pragma once

#include <string_view>

#include "pubsub/hash.h"
#include "pubsub/tag.h"

namespace wsa {

/// An exact tag belongs to the shard its seeded hash picks (with a public hash, a client
/// could pick tags that all land on one shard; the shards of a process share the seed, so
/// all agree). Every pattern belongs to shard 0, so that a message reaching several patterns
/// (one delivery per pattern from Redis) arrives at one place, where it is delivered once.
inline unsigned owner_of(std::string_view key, unsigned shards) {
  if (is_wildcard(key)) {
    return 0;
  }
  return static_cast<unsigned>(hash_bytes(key) % shards);
}

}  // namespace wsa
