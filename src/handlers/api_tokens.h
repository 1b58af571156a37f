// Tokens of the publish API (POST /api/publish), per shard. A token is verified once, then
// found by its seeded hash until it expires, as a WebSocket's token in use is: a client
// posting many messages with one token no longer makes the shard check a signature for
// each (docs/limits.md). The token itself is kept and compared byte for byte (a hash
// collision must not lend one token's rights to another): at most 64 x --max-token-bytes.
// Each entry holds the token's publish bucket (--pub-rate, --pub-burst), so that a client
// cannot escape the limit by opening new connections.
// Fixed size and direct-mapped: a token pushed out by another one is verified again on its
// next request and its bucket starts full (only a client holding many valid tokens can
// cause that). Shard thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "net/token_bucket.h"

namespace wsa {

class api_tokens {
 public:
  struct entry {
    std::string token;
    int64_t expires_s = 0;  ///< unix seconds, leeway included
    permissions perm;
    token_bucket bucket;
  };

  /// The entry of `token` if it was verified and has not expired; else null.
  entry* find(std::string_view token, int64_t now_s);
  /// Keeps a verified token's permissions until `expires_s` (token_gate::expiry_s),
  /// replacing what its slot held, and returns its entry.
  entry& keep(std::string_view token, permissions&& perm, int64_t expires_s);

 private:
  static constexpr std::size_t slots = 64;
  static std::size_t slot_of(std::string_view token);
  std::array<entry, slots> entries_{};
};

}  // namespace wsa
