// Client side of RFC 6455 for the load generator: the upgrade request and the check of the
// server's answer, masked frame headers, and parsing of server frame headers. No state: the
// worker keeps reassembly buffers per connection. Pure functions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "byte_buffer.h"

namespace wsa::loadgen {

constexpr uint8_t ws_continuation = 0x0;
constexpr uint8_t ws_text = 0x1;
constexpr uint8_t ws_binary = 0x2;
constexpr uint8_t ws_close = 0x8;
constexpr uint8_t ws_ping = 0x9;
constexpr uint8_t ws_pong = 0xA;

constexpr std::size_t ws_key_size = 24;     // base64 of 16 random bytes
constexpr std::size_t ws_accept_size = 28;  // base64 of a SHA-1 digest

// Derives a key from `seed` (any 128 bits; uniqueness is all RFC 6455 asks of a client
// that is not a browser) and the Sec-WebSocket-Accept the server must answer with.
void ws_make_key(uint64_t seed_a, uint64_t seed_b, char key[ws_key_size],
                 char accept[ws_accept_size]);

// The Sec-WebSocket-Accept of any client key (the trivial sender answers upgrades with it).
void ws_accept_of(std::string_view key, char accept[ws_accept_size]);

// Appends `GET path HTTP/1.1` with the upgrade headers; `subprotocol` and `token` may be
// empty (the token travels as `Authorization: Bearer`).
void ws_write_request(byte_buffer& out, std::string_view host, std::string_view path,
                      const char key[ws_key_size], std::string_view subprotocol,
                      std::string_view token);

// Checks a response head that ends with "\r\n\r\n". Returns nullptr when it is a valid
// 101 answer to our key, else a short reason. A server may choose no subprotocol unless
// `require_subprotocol`; choosing a different one is always an error.
const char* ws_check_response(std::string_view head, const char accept[ws_accept_size],
                              std::string_view subprotocol, bool require_subprotocol);

inline std::size_t ws_client_header_size(std::size_t payload) {
  return payload < 126 ? 6 : payload < 65536 ? 8 : 14;
}

// Writes a final, masked frame header and returns its size.
std::size_t ws_write_header(char* out, uint8_t opcode, std::size_t payload, uint32_t mask);

// Writes a final, unmasked (server-side) frame header and returns its size (2, 4 or 10).
std::size_t ws_write_server_header(char* out, uint8_t opcode, std::size_t payload);
inline std::size_t ws_server_header_size(std::size_t payload) {
  return payload < 126 ? 2 : payload < 65536 ? 4 : 10;
}

// XORs p with the 4 mask bytes as they appear on the wire (mask is their memcpy image).
void ws_mask(char* p, std::size_t n, uint32_t mask);

struct ws_frame_header {
  bool fin = false;
  uint8_t opcode = 0;
  bool masked = false;
  uint32_t mask = 0;
  uint64_t payload = 0;
  std::size_t size = 0;  // header bytes, including the masking key
};

// Header and payload sizes of the frame at p[0..n): true when the header is complete,
// false when more bytes are needed. Inline: the receive path calls it once per frame, and the
// rest of the header (FIN, opcode, mask) is read from p[0], p[1] and p[header - 4] directly.
inline bool ws_frame_size(const char* p, std::size_t n, std::size_t& header,
                          uint64_t& payload) {
  if (n < 2) {
    return false;
  }
  auto* u = reinterpret_cast<const unsigned char*>(p);
  uint64_t len = u[1] & 0x7f;
  std::size_t h = (u[1] & 0x80) != 0 ? 6 : 2;
  if (len == 126) {
    h += 2;
    if (n < 4) {
      return false;
    }
    len = (uint64_t{u[2]} << 8) | u[3];
  } else if (len == 127) {
    h += 8;
    if (n < 10) {
      return false;
    }
    len = 0;
    for (int i = 2; i < 10; ++i) {
      len = (len << 8) | u[i];
    }
  }
  if (n < h) {
    return false;
  }
  header = h;
  payload = len;
  return true;
}

// Parses a frame header from p[0..n). Returns false if more bytes are needed.
bool ws_parse_header(const char* p, std::size_t n, ws_frame_header& h);

std::string base64_encode(const unsigned char* p, std::size_t n);

}  // namespace wsa::loadgen
