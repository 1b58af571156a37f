// Hex <-> bytes for the MQTT tests, which write packets as hex strings (spaces ignored).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wsa::mqtt::test {

inline std::string unhex(std::string_view h) {
  std::string out;
  int high = -1;
  for (const char c : h) {
    int v = -1;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high << 4 | v));
      high = -1;
    }
  }
  return out;
}

inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(digits[u >> 4]);
    out.push_back(digits[u & 15]);
  }
  return out;
}

}  // namespace wsa::mqtt::test
