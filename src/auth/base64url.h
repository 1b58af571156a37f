// Strict base64url without padding (RFC 4648 section 5, as JWS/JWK use it, RFC 7515 section 2),
// through libsodium's constant-time codec. Strict means: only the URL-safe alphabet, no '=',
// no whitespace, no trailing junk, a length that is not 1 mod 4, and unused low bits of the
// last character zero (libsodium checks this), so every byte string has exactly one accepted
// encoding and a token cannot be altered without changing its signed text.
// Pure functions: any thread.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace wsa {

/// Upper bound on the bytes `text_len` characters of base64url decode to.
constexpr std::size_t base64url_decoded_max(std::size_t text_len) { return text_len / 4 * 3 + 2; }

/// Exact length of the unpadded encoding of `bin_len` bytes.
constexpr std::size_t base64url_encoded_len(std::size_t bin_len) {
  return bin_len / 3 * 4 + (bin_len % 3 == 0 ? 0 : bin_len % 3 + 1);
}

/// Decodes `text` into `out` (room for `out_cap` bytes). False on any invalid input or when
/// the result would not fit; `out_len` is then unspecified. Does not allocate.
bool base64url_decode(std::string_view text, unsigned char* out, std::size_t out_cap,
                      std::size_t& out_len);

/// Decodes `text` into `out` (resized to the decoded length). False on invalid input; `out`
/// is then unspecified.
bool base64url_decode(std::string_view text, std::string& out);

/// Appends the unpadded base64url encoding of `bin` to `out`.
void base64url_append(std::span<const unsigned char> bin, std::string& out);

/// The unpadded base64url encoding of `bin`.
std::string base64url_encode(std::span<const unsigned char> bin);
std::string base64url_encode(std::string_view bin);

}  // namespace wsa
