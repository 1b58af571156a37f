// Percent-decoding (RFC 3986 section 2.1), one unit at a time, so that callers decode into
// whatever they hold (a fixed buffer, a string, or nothing while comparing) without
// allocating. Strict: a '%' must be followed by two hex digits. Pure functions: any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "util/hex.h"

namespace wsa {

/// Decodes the unit at s[i] (i < s.size()) and advances `i` past it: "%XX" is that byte, '+'
/// is a space when `plus_is_space` (application/x-www-form-urlencoded), any other byte is
/// itself. Returns the byte (0..255), or -1 for a malformed escape (`i` then unspecified).
constexpr int percent_decode_next(std::string_view s, std::size_t& i, bool plus_is_space) {
  const char c = s[i];
  if (c == '+' && plus_is_space) {
    ++i;
    return ' ';
  }
  if (c != '%') {
    ++i;
    return static_cast<unsigned char>(c);
  }
  if (s.size() - i < 3) {
    return -1;
  }
  const int hi = hex_value(s[i + 1]);
  const int lo = hex_value(s[i + 2]);
  if (hi < 0 || lo < 0) {
    return -1;
  }
  i += 3;
  return hi * 16 + lo;
}

}  // namespace wsa
