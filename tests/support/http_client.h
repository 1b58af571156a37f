// Plain HTTP/1.1 over a test socket: raw requests in (well-formed or not), one parsed response
// out. Used for /healthz, /readyz, /metrics, refused upgrades, and the WebSocket handshake.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/tcp_socket.h"

namespace wsa::test {

struct http_response {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// Value of the first header named `name` (any case), or empty.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

/// Reads one response from `socket`. `buffer` holds bytes already received and keeps what
/// follows the response (a WebSocket stream after 101). 101, 204, 304 and answers to HEAD
/// (`head_only`) have no body; other bodies are read by Content-Length, or to the end of
/// the connection. Throws on timeout or garbage.
http_response read_http_response(tcp_socket& socket, std::string& buffer,
                                 std::chrono::milliseconds timeout = 5s, bool head_only = false);

/// Connects, sends `raw_request` byte for byte, reads the response.
http_response http_exchange(uint16_t port, std::string_view raw_request,
                            std::chrono::milliseconds timeout = 5s);

/// GET `target` with Host and Connection: close.
http_response http_get(uint16_t port, std::string_view target,
                       std::chrono::milliseconds timeout = 5s);

}  // namespace wsa::test
