// Server-to-client WebSocket frames (RFC 6455 section 5.2): unmasked, never fragmented, each
// one whole frame (header + payload) in one shared `frame` buffer (net/frame.h), so that a
// frame is encoded once and queued to any number of connections by reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "net/frame.h"

namespace wsa {

enum class ws_opcode : uint8_t { text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA };

/// Bytes of the header of an unmasked frame carrying `payload` bytes: 2, 4 or 10.
inline constexpr std::size_t frame_header_size(std::size_t payload) {
  return payload < 126 ? 2 : payload <= 0xffff ? 4 : 10;
}

/// Writes the header of a final, unmasked frame; returns the bytes written.
inline std::size_t write_frame_header(char* out, ws_opcode opcode, std::size_t payload) {
  auto* p = reinterpret_cast<unsigned char*>(out);
  p[0] = static_cast<unsigned char>(0x80 | static_cast<uint8_t>(opcode));
  if (payload < 126) {
    p[1] = static_cast<unsigned char>(payload);
    return 2;
  }
  if (payload <= 0xffff) {
    p[1] = 126;
    p[2] = static_cast<unsigned char>(payload >> 8);
    p[3] = static_cast<unsigned char>(payload);
    return 4;
  }
  p[1] = 127;
  for (int i = 0; i < 8; ++i) {
    p[2 + i] = static_cast<unsigned char>(uint64_t{payload} >> (56 - 8 * i));
  }
  return 10;
}

/// A complete frame with this opcode and payload (refcount 1).
inline frame* make_ws_frame(ws_opcode opcode, std::string_view payload) {
  const std::size_t header = frame_header_size(payload.size());
  frame* f = frame::allocate(header + payload.size());
  write_frame_header(f->data(), opcode, payload.size());
  if (!payload.empty()) {
    std::memcpy(f->data() + header, payload.data(), payload.size());
  }
  return f;
}

/// A close frame with a status code and a short reason (at most 123 bytes are kept).
inline frame* make_ws_close(uint16_t code, std::string_view reason) {
  char payload[125];
  payload[0] = static_cast<char>(code >> 8);
  payload[1] = static_cast<char>(code & 0xff);
  const std::size_t n = reason.size() < 123 ? reason.size() : 123;
  if (n != 0) {  // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(payload + 2, reason.data(), n);
  }
  return make_ws_frame(ws_opcode::close, std::string_view(payload, 2 + n));
}

}  // namespace wsa
