// RFC 6455 server handshake. See websocket_handshake.h.
#include "http/websocket_handshake.h"

#include <nettle/sha1.h>

#include <cstdint>

namespace wsa {
namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// Subprotocol names are compared exactly: the client checks that the one we echo is one it
// offered, byte for byte (RFC 6455 4.1, step 6 of the client's checks).
bool list_has_exact(std::string_view value, std::string_view token) {
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) {
      comma = value.size();
    }
    std::string_view element = value.substr(start, comma - start);
    while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) {
      element.remove_prefix(1);
    }
    while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) {
      element.remove_suffix(1);
    }
    if (element == token) {
      return true;
    }
    start = comma + 1;
  }
  return false;
}

upgrade_check refuse(uint16_t status, std::string_view reason, std::string_view extra = {}) {
  return upgrade_check{status, reason, extra, false};
}

}  // namespace

bool valid_websocket_key(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') {
    return false;
  }
  for (std::size_t i = 0; i < 22; ++i) {
    if (base64_value(key[i]) < 0) {
      return false;
    }
  }
  // 16 bytes = 128 bits = 21 sextets + 2 bits: the last character's low 4 bits are padding
  // and must be zero in the canonical encoding (RFC 4648 3.5).
  return (base64_value(key[21]) & 0x0f) == 0;
}

upgrade_check check_upgrade(const http_request& request, std::string_view subprotocol) {
  if (request.method != "GET") {
    return refuse(405, "a WebSocket handshake must use GET", "Allow: GET\r\n");
  }
  if (request.version != http_version::http_1_1) {
    return refuse(400, "a WebSocket handshake needs HTTP/1.1");
  }
  if (!request.has_host) {
    return refuse(400, "missing Host header");
  }
  if (!request.upgrade.has_token("websocket")) {
    return refuse(426, "missing Upgrade: websocket",
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n");
  }
  if (!request.connection.has_token("upgrade")) {
    return refuse(426, "missing Connection: Upgrade",
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n");
  }
  if (request.sec_websocket_version != "13") {
    return refuse(426,
                  request.sec_websocket_version.empty() ? "missing Sec-WebSocket-Version"
                                                        : "unsupported Sec-WebSocket-Version",
                  "Sec-WebSocket-Version: 13\r\n");
  }
  if (request.sec_websocket_key.empty()) {
    return refuse(400, "missing Sec-WebSocket-Key");
  }
  if (!valid_websocket_key(request.sec_websocket_key)) {
    return refuse(400, "Sec-WebSocket-Key is not base64 of 16 bytes");
  }
  upgrade_check ok;
  for (uint8_t i = 0; i < request.sec_websocket_protocol.count; ++i) {
    if (list_has_exact(request.sec_websocket_protocol.values[i], subprotocol)) {
      ok.select_subprotocol = true;
      break;
    }
  }
  return ok;
}

std::array<char, accept_key_size> accept_key(std::string_view key) {
  sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, key.size(), reinterpret_cast<const uint8_t*>(key.data()));
  sha1_update(&ctx, websocket_guid.size(), reinterpret_cast<const uint8_t*>(websocket_guid.data()));
  uint8_t digest[SHA1_DIGEST_SIZE];
  sha1_digest(&ctx, SHA1_DIGEST_SIZE, digest);

  std::array<char, accept_key_size> out{};
  std::size_t o = 0;
  for (std::size_t i = 0; i < SHA1_DIGEST_SIZE; i += 3) {
    const uint32_t group = (uint32_t{digest[i]} << 16) | (uint32_t{digest[i + 1]} << 8) |
                           (i + 2 < SHA1_DIGEST_SIZE ? uint32_t{digest[i + 2]} : 0);
    out[o++] = base64_alphabet[(group >> 18) & 63];
    out[o++] = base64_alphabet[(group >> 12) & 63];
    out[o++] = base64_alphabet[(group >> 6) & 63];
    out[o++] = base64_alphabet[group & 63];
  }
  out[accept_key_size - 1] = '=';  // 20 bytes: the last group holds 2 bytes, one pad character
  return out;
}

void build_switching_protocols(std::string& out, std::string_view accept, bool select_subprotocol,
                               std::string_view subprotocol) {
  out.append(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  out.append(accept);
  out.append("\r\n");
  if (select_subprotocol) {
    out.append("Sec-WebSocket-Protocol: ");
    out.append(subprotocol);
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace wsa
