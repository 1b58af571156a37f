#include "handlers/api_tokens.h"

#include <utility>

#include "pubsub/hash.h"

namespace wsa {

std::size_t api_tokens::slot_of(std::string_view token) { return hash_bytes(token) % slots; }

api_tokens::entry* api_tokens::find(std::string_view token, int64_t now_s) {
  entry& e = entries_[slot_of(token)];
  if (e.token.empty() || e.token != token) {
    return nullptr;
  }
  if (now_s >= e.expires_s) {
    e.token.clear();  // expired: verified (and refused) again
    return nullptr;
  }
  return &e;
}

api_tokens::entry& api_tokens::keep(std::string_view token, token_claims& claims,
                                    int64_t leeway_s) {
  entry& e = entries_[slot_of(token)];
  e.token.assign(token);
  // A verified token has an exp (required), clamped to +-2^62 (auth/jwt.h): no overflow,
  // and the same moment at which the verifier itself would refuse it.
  e.expires_s = claims.exp_s + leeway_s;
  e.perm = std::move(claims.perm);
  e.bucket = token_bucket{};
  return e;
}

}  // namespace wsa
