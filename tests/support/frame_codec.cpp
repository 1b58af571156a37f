#include "support/frame_codec.h"

#include <random>

namespace wsa::test {

std::string encode_frame(const frame_spec& spec) {
  std::string out;
  out.push_back(static_cast<char>((spec.fin ? 0x80 : 0) | ((spec.rsv & 7) << 4) |
                                  (spec.opcode & 0x0F)));
  const uint64_t length = spec.claimed_length.value_or(spec.payload.size());
  const uint8_t mask_bit = spec.masked ? 0x80 : 0;
  if (length < 126) {
    out.push_back(static_cast<char>(mask_bit | length));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>(length >> shift));
    }
  }
  if (!spec.masked) {
    out += spec.payload;
    return out;
  }
  std::array<uint8_t, 4> key;
  if (spec.mask_key) {
    key = *spec.mask_key;
  } else {
    static thread_local std::mt19937 random{std::random_device{}()};
    const uint32_t bits = random();
    key = {static_cast<uint8_t>(bits), static_cast<uint8_t>(bits >> 8),
           static_cast<uint8_t>(bits >> 16), static_cast<uint8_t>(bits >> 24)};
  }
  out.append(reinterpret_cast<const char*>(key.data()), key.size());
  for (std::size_t i = 0; i < spec.payload.size(); ++i) {
    out.push_back(static_cast<char>(spec.payload[i] ^ key[i % 4]));
  }
  return out;
}

std::size_t decode_frame(std::string_view input, ws_frame& out) {
  if (input.size() < 2) {
    return 0;
  }
  const auto byte = [&](std::size_t i) { return static_cast<uint8_t>(input[i]); };
  std::size_t at = 2;
  uint64_t length = byte(1) & 0x7F;
  if (length == 126) {
    if (input.size() < 4) {
      return 0;
    }
    length = (uint64_t{byte(2)} << 8) | byte(3);
    at = 4;
  } else if (length == 127) {
    if (input.size() < 10) {
      return 0;
    }
    length = 0;
    for (std::size_t i = 2; i < 10; ++i) {
      length = (length << 8) | byte(i);
    }
    at = 10;
  }
  const bool masked = (byte(1) & 0x80) != 0;
  std::array<uint8_t, 4> key{};
  if (masked) {
    if (input.size() < at + 4) {
      return 0;
    }
    for (std::size_t i = 0; i < 4; ++i) {
      key[i] = byte(at + i);
    }
    at += 4;
  }
  if (input.size() - at < length) {
    return 0;
  }
  out.fin = (byte(0) & 0x80) != 0;
  out.rsv = (byte(0) >> 4) & 7;
  out.opcode = byte(0) & 0x0F;
  out.masked = masked;
  out.payload.assign(input.substr(at, static_cast<std::size_t>(length)));
  if (masked) {
    for (std::size_t i = 0; i < out.payload.size(); ++i) {
      out.payload[i] = static_cast<char>(out.payload[i] ^ key[i % 4]);
    }
  }
  return at + static_cast<std::size_t>(length);
}

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code));
  out += reason;
  return out;
}

}  // namespace wsa::test
