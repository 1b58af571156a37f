// The server side of the WebSocket opening handshake (RFC 6455 4.2): decides whether a parsed
// request is an acceptable upgrade and, if not, which status to answer; computes
// Sec-WebSocket-Accept (SHA-1 from nettle) and writes the 101 response. The only user of
// nettle in src/. Plain functions: any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request.h"

namespace wsa {

/// The one subprotocol we speak; selected when the client offers it (docs/protocol.md).
inline constexpr std::string_view ws_subprotocol = "wsagent.v1";
/// MQTT over WebSocket's subprotocol (MQTT 5.0 section 6, [MQTT-6.0.0-3]), at /mqtt.
inline constexpr std::string_view mqtt_subprotocol = "mqtt";

/// Outcome of check_upgrade. On failure the caller answers `status` with `reason` in the body
/// and `extra_headers` (whole CRLF-terminated lines, static storage) in the head, e.g. via
/// append_error_response(out, check.status, check.reason, check.extra_headers).
struct upgrade_check {
  uint16_t status = 101;            ///< 101 when acceptable; else 400, 405 or 426
  std::string_view reason;          ///< why not, for the error body
  std::string_view extra_headers;   ///< "Allow: GET\r\n", "Upgrade: websocket\r\n...", ...
  bool select_subprotocol = false;  ///< the client offered the endpoint's subprotocol

  bool ok() const { return status == 101; }
};

/// Checks the handshake fields of a request routed to the WebSocket endpoint, in this order:
///   method GET, else 405 + "Allow: GET";
///   HTTP/1.1, else 400 (an HTTP/1.0 client gets no upgrade; 505 would refuse HTTP/1.0 itself,
///     which we serve elsewhere);
///   Host present, else 400;
///   "Upgrade: websocket" and "Connection: upgrade" as tokens, else 426 + "Upgrade: websocket"
///     (RFC 9110 7.8: Upgrade without Connection: upgrade must be ignored, so both are the same
///     case: a plain GET to an endpoint that needs an upgrade);
///   Sec-WebSocket-Version 13, else 426 + "Sec-WebSocket-Version: 13" (4.2.2; checked before
///     the key, whose form another version may define differently);
///   Sec-WebSocket-Key is the canonical base64 of 16 bytes, else 400.
/// Origin is not checked here. Authentication is the caller's (401 after this passes).
/// `subprotocol` is the endpoint's (ws_subprotocol at /ws, mqtt_subprotocol at /mqtt).
upgrade_check check_upgrade(const http_request& request,
                            std::string_view subprotocol = ws_subprotocol);

inline constexpr std::size_t accept_key_size = 28;  // base64 of a 20-byte SHA-1

/// Sec-WebSocket-Accept for a client key: base64(SHA-1(key + RFC 6455 GUID)).
std::array<char, accept_key_size> accept_key(std::string_view key);

/// True when `key` is 24 characters of base64 decoding to exactly 16 bytes, in canonical form.
bool valid_websocket_key(std::string_view key);

/// Appends the 101 Switching Protocols response; with select_subprotocol it names
/// `subprotocol` in Sec-WebSocket-Protocol, otherwise that field is absent.
void build_switching_protocols(std::string& out, std::string_view accept, bool select_subprotocol,
                               std::string_view subprotocol = ws_subprotocol);

}  // namespace wsa
