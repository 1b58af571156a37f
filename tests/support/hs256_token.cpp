#include "support/hs256_token.h"

#include <nettle/hmac.h>

#include <ctime>

namespace wsa::test {

std::string b64url(std::string_view bin) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bin[k])); };
  for (; i + 3 <= bin.size(); i += 3) {
    const uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) {
      out += alphabet[(v >> s) & 63];
    }
  }
  if (bin.size() - i == 1) {
    const uint32_t v = byte(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (bin.size() - i == 2) {
    const uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string hs256_raw(std::string_view signing_input, std::string_view key) {
  hmac_sha256_ctx ctx;
  hmac_sha256_set_key(&ctx, key.size(), reinterpret_cast<const uint8_t*>(key.data()));
  hmac_sha256_update(&ctx, signing_input.size(),
                     reinterpret_cast<const uint8_t*>(signing_input.data()));
  uint8_t mac[SHA256_DIGEST_SIZE];
  hmac_sha256_digest(&ctx, sizeof mac, mac);
  return std::string(signing_input) + "." +
         b64url(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

std::string hs256(std::string_view payload, std::string_view key, std::string_view header) {
  return hs256_raw(b64url(header) + "." + b64url(payload), key);
}

std::string claims_json(int64_t exp, std::string_view perm, std::string_view extra,
                        std::string_view sub) {
  return "{\"sub\":\"" + std::string(sub) + "\",\"iat\":" + std::to_string(unix_now()) +
         ",\"exp\":" + std::to_string(exp) + ",\"perm\":" + std::string(perm) +
         std::string(extra) + "}";
}

}  // namespace wsa::test
