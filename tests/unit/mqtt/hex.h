// Hex <-> bytes for the MQTT tests, which write packets as hex strings (spaces ignored).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/hex.h"

namespace wsa::mqtt::test {

inline std::string unhex(std::string_view h) {
  std::string out;
  int high = -1;
  for (const char c : h) {
    const int v = hex_value(c);
    if (v < 0) {
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
  std::string out;
  append_hex(out, bytes.data(), bytes.size());
  return out;
}

}  // namespace wsa::mqtt::test
