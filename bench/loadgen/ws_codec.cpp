// RFC 6455 client helpers (see ws_codec.h). SHA-1 comes from nettle, as in the server.
#include "ws_codec.h"

#include <nettle/sha1.h>

#include <cctype>
#include <cstring>

namespace wsa::loadgen {

namespace {

constexpr std::string_view ws_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string base64_encode(const unsigned char* p, std::size_t n) {
  static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i < n) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (i + 1 < n) {
      v |= uint32_t{p[i + 1]} << 8;
    }
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += i + 1 < n ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void ws_make_key(uint64_t seed_a, uint64_t seed_b, char key[ws_key_size],
                 char accept[ws_accept_size]) {
  unsigned char raw[16];
  std::memcpy(raw, &seed_a, 8);
  std::memcpy(raw + 8, &seed_b, 8);
  std::string k = base64_encode(raw, sizeof raw);
  std::memcpy(key, k.data(), ws_key_size);
  ws_accept_of(std::string_view(key, ws_key_size), accept);
}

void ws_accept_of(std::string_view key, char accept[ws_accept_size]) {
  sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, key.size(), reinterpret_cast<const uint8_t*>(key.data()));
  sha1_update(&ctx, ws_guid.size(), reinterpret_cast<const uint8_t*>(ws_guid.data()));
  uint8_t digest[SHA1_DIGEST_SIZE];
  sha1_digest(&ctx, SHA1_DIGEST_SIZE, digest);
  std::string a = base64_encode(digest, sizeof digest);
  std::memcpy(accept, a.data(), ws_accept_size);
}

void ws_write_request(byte_buffer& out, std::string_view host, std::string_view path,
                      const char key[ws_key_size], std::string_view subprotocol,
                      std::string_view token) {
  auto put = [&out](std::string_view s) { out.append(s.data(), s.size()); };
  put("GET ");
  put(path);
  put(" HTTP/1.1\r\nHost: ");
  put(host);
  put("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: ");
  put(std::string_view(key, ws_key_size));
  if (!subprotocol.empty()) {
    put("\r\nSec-WebSocket-Protocol: ");
    put(subprotocol);
  }
  if (!token.empty()) {
    put("\r\nAuthorization: Bearer ");
    put(token);
  }
  put("\r\n\r\n");
}

const char* ws_check_response(std::string_view head, const char accept[ws_accept_size],
                              std::string_view subprotocol, bool require_subprotocol) {
  std::size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) {
    return "malformed response";
  }
  std::string_view status = head.substr(0, eol);
  if (status.size() < 12 || status.substr(0, 5) != "HTTP/" || status.substr(8, 4) != " 101") {
    if (status.find(" 401") != std::string_view::npos) {
      return "HTTP 401 (token refused)";
    }
    if (status.find(" 503") != std::string_view::npos) {
      return "HTTP 503 (server full)";
    }
    return "no 101 Switching Protocols";
  }
  bool upgrade = false;
  bool accepted = false;
  std::string_view chosen;
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) {
      break;
    }
    std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return "malformed header line";
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "upgrade")) {
      upgrade = iequals(value, "websocket");
    } else if (iequals(name, "sec-websocket-accept")) {
      accepted = value == std::string_view(accept, ws_accept_size);
    } else if (iequals(name, "sec-websocket-protocol")) {
      chosen = value;
    }
  }
  if (!upgrade) {
    return "101 without Upgrade: websocket";
  }
  if (!accepted) {
    return "wrong Sec-WebSocket-Accept";
  }
  if (!chosen.empty() && chosen != subprotocol) {
    return "server chose another subprotocol";
  }
  if (chosen.empty() && require_subprotocol) {
    return "server chose no subprotocol";
  }
  return nullptr;
}

std::size_t ws_write_server_header(char* out, uint8_t opcode, std::size_t payload) {
  auto* o = reinterpret_cast<unsigned char*>(out);
  o[0] = static_cast<unsigned char>(0x80 | opcode);
  if (payload < 126) {
    o[1] = static_cast<unsigned char>(payload);
    return 2;
  }
  if (payload < 65536) {
    o[1] = 126;
    o[2] = static_cast<unsigned char>(payload >> 8);
    o[3] = static_cast<unsigned char>(payload);
    return 4;
  }
  o[1] = 127;
  for (int i = 0; i < 8; ++i) {
    o[2 + i] = static_cast<unsigned char>(static_cast<uint64_t>(payload) >> (56 - 8 * i));
  }
  return 10;
}

std::size_t ws_write_header(char* out, uint8_t opcode, std::size_t payload, uint32_t mask) {
  std::size_t h = ws_write_server_header(out, opcode, payload);
  out[1] = static_cast<char>(static_cast<unsigned char>(out[1]) | 0x80);  // the MASK bit
  std::memcpy(out + h, &mask, 4);
  return h + 4;
}

void ws_mask(char* p, std::size_t n, uint32_t mask) {
  uint64_t m8 = (static_cast<uint64_t>(mask) << 32) | mask;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    v ^= m8;
    std::memcpy(p + i, &v, 8);
  }
  unsigned char mb[4];
  std::memcpy(mb, &mask, 4);
  for (; i < n; ++i) {
    p[i] = static_cast<char>(p[i] ^ mb[i & 3]);
  }
}

bool ws_parse_header(const char* p, std::size_t n, ws_frame_header& h) {
  if (!ws_frame_size(p, n, h.size, h.payload)) {
    return false;
  }
  h.fin = (static_cast<uint8_t>(p[0]) & 0x80) != 0;
  h.opcode = static_cast<uint8_t>(p[0]) & 0x0f;
  h.masked = (static_cast<uint8_t>(p[1]) & 0x80) != 0;
  if (h.masked) {
    std::memcpy(&h.mask, p + h.size - 4, 4);
  }
  return true;
}

}  // namespace wsa::loadgen
