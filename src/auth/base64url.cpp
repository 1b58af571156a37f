// Strict base64url through libsodium (see base64url.h). libsodium's decoder stops at the first
// byte outside the alphabet; with `b64_end == NULL` that is an error instead of a silent stop,
// which is what makes "trailing junk" fail.
#include "auth/base64url.h"

#include <sodium.h>

namespace wsa {

bool base64url_decode(std::string_view text, unsigned char* out, std::size_t out_cap,
                      std::size_t& out_len) {
  out_len = 0;
  if (text.empty()) {
    return true;
  }
  return sodium_base642bin(out, out_cap, text.data(), text.size(), nullptr, &out_len, nullptr,
                           sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0;
}

bool base64url_decode(std::string_view text, std::string& out) {
  out.resize(base64url_decoded_max(text.size()));
  std::size_t len = 0;
  if (!base64url_decode(text, reinterpret_cast<unsigned char*>(out.data()), out.size(), len)) {
    out.clear();
    return false;
  }
  out.resize(len);
  return true;
}

void base64url_append(std::span<const unsigned char> bin, std::string& out) {
  if (bin.empty()) {
    return;
  }
  const std::size_t old = out.size();
  // sodium_bin2base64 writes a terminating NUL: reserve it, then drop it.
  const std::size_t room = sodium_base64_ENCODED_LEN(bin.size(),
                                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(old + room);
  sodium_bin2base64(out.data() + old, room, bin.data(), bin.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(old + base64url_encoded_len(bin.size()));
}

std::string base64url_encode(std::span<const unsigned char> bin) {
  std::string out;
  base64url_append(bin, out);
  return out;
}

std::string base64url_encode(std::string_view bin) {
  return base64url_encode(std::span<const unsigned char>(
      reinterpret_cast<const unsigned char*>(bin.data()), bin.size()));
}

}  // namespace wsa
