// Hexadecimal digits both ways, written once: lowercase output (ids, epochs, JSON \u00XX
// escapes) and strict input (percent-escapes). Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsa {

inline constexpr char hex_digits[] = "0123456789abcdef";

/// The value of one hex digit (either case), or -1.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// Appends each byte as two lowercase hex digits.
inline void append_hex(std::string& out, const void* bytes, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(hex_digits[p[i] >> 4]);
    out.push_back(hex_digits[p[i] & 15]);
  }
}

/// Appends `value` in lowercase hex without leading zeros ("0" for zero).
inline void append_hex(std::string& out, uint64_t value) {
  char digits[16];
  std::size_t n = 0;
  do {
    digits[n++] = hex_digits[value & 15];
    value >>= 4;
  } while (value != 0);
  while (n > 0) {
    out.push_back(digits[--n]);
  }
}

}  // namespace wsa
