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

api_tokens::entry& api_tokens::keep(std::string_view token, permissions&& perm,
                                    int64_t expires_s) {
  entry& e = entries_[slot_of(token)];
  e.token.assign(token);
  e.expires_s = expires_s;
  e.perm = std::move(perm);
  e.bucket = token_bucket{};
  return e;
}

}  // namespace wsa
