// RFC 6455 frames for tests: an encoder that can also break every rule on purpose (no mask,
// RSV bits, reserved opcodes, a length that the payload does not match), and a decoder for
// what the server sends.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsa::test {

namespace ws_op {
inline constexpr uint8_t continuation = 0x0;
inline constexpr uint8_t text = 0x1;
inline constexpr uint8_t binary = 0x2;
inline constexpr uint8_t close = 0x8;
inline constexpr uint8_t ping = 0x9;
inline constexpr uint8_t pong = 0xA;
}  // namespace ws_op

struct frame_spec {
  uint8_t opcode = ws_op::text;
  std::string payload;
  bool fin = true;
  uint8_t rsv = 0;      // the three RSV bits, 0..7 (RSV1 = 4)
  bool masked = true;   // clients must mask (RFC 6455 5.1)
  /// Length written in the header instead of payload.size(): a header that claims a huge
  /// frame can be sent without its payload.
  std::optional<uint64_t> claimed_length;
  /// The masking key; random when not given.
  std::optional<std::array<uint8_t, 4>> mask_key;
};

std::string encode_frame(const frame_spec& spec);

struct ws_frame {
  bool fin = true;
  uint8_t rsv = 0;
  uint8_t opcode = 0;
  bool masked = false;
  std::string payload;  // unmasked
};

/// Decodes the frame at the front of `input`: the bytes it took, or 0 if it is incomplete.
std::size_t decode_frame(std::string_view input, ws_frame& out);

/// Close frame payload: 2-byte code then the reason.
std::string close_payload(uint16_t code, std::string_view reason = {});

}  // namespace wsa::test
