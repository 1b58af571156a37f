// A blocking WebSocket client for tests, every wait bounded by a timeout. It speaks RFC 6455
// correctly by default (masked frames, checked Sec-WebSocket-Accept, subprotocol wsagent.v1)
// and misbehaves on request through send_frame/send_raw. Unexpected events (timeouts, the
// server closing, a handshake refused) throw std::runtime_error, which gtest reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/frame_codec.h"
#include "support/http_client.h"
#include "support/json_message.h"
#include "support/tcp_socket.h"

namespace wsa::test {

struct ws_options {
  std::string path = "/ws";
  std::string query;                       // without the '?'
  bool offer_subprotocol = true;           // Sec-WebSocket-Protocol: wsagent.v1
  std::vector<std::string> extra_headers;  // whole lines without CRLF, "Name: value"
  bool read_hello = true;                  // wait for `hello` right after the upgrade
  std::chrono::milliseconds timeout = 5s;
};

/// A whole message (fragments joined) or a control frame.
struct ws_message {
  uint8_t opcode = 0;
  std::string payload;
  uint16_t close_code = 0;  // close frames: 1005 when the frame carries no code
  std::string close_reason;
};

class ws_client {
 public:
  /// Connects, upgrades, checks the answer, and (by default) reads `hello`.
  static ws_client connect(uint16_t port, const ws_options& options = {});

  const http_response& handshake_response() const { return handshake_; }
  /// The `hello` frame (only when read_hello was set).
  const json_message& hello() const;
  tcp_socket& socket() { return socket_; }

  // ---- sending (masked unless the frame_spec says otherwise) ----
  void send_frame(const frame_spec& spec);
  void send_raw(std::string_view bytes);
  void send_text(std::string_view text);
  void send_binary(std::string_view bytes);
  void send_ping(std::string_view payload = {});
  void send_close(uint16_t code = 1000, std::string_view reason = {});
  /// Sends `payload` as `pieces` fragments (first with `opcode`, then continuations).
  void send_fragmented(uint8_t opcode, std::string_view payload, std::size_t pieces);

  // ---- receiving ----
  /// The next frame as it came; nullopt on timeout or when the server closed (see eof()).
  std::optional<ws_frame> next_frame(std::chrono::milliseconds timeout = 5s);
  /// The next message (data fragments joined; control frames come alone, also between
  /// fragments); nullopt on timeout or eof.
  std::optional<ws_message> try_next_message(std::chrono::milliseconds timeout = 5s);
  /// As try_next_message, but throws on timeout or eof.
  ws_message next_message(std::chrono::milliseconds timeout = 5s);
  /// The next JSON text message. Pings are answered and pongs skipped on the way; anything
  /// else (close, binary, timeout) throws with a description.
  json_message next_json(std::chrono::milliseconds timeout = 5s);
  /// The next JSON message with this `op`; messages of other ops are kept, in order, for the
  /// following next_json/wait_for calls.
  json_message wait_for(std::string_view op, std::chrono::milliseconds timeout = 5s);
  /// Sends a request that carries an `id` and returns its `ok` or `err` (same id); other
  /// messages that come first are kept for later.
  json_message call(std::string_view request, std::chrono::milliseconds timeout = 5s);
  /// Reads until the server's close frame, skipping everything else; throws if none comes.
  ws_message wait_close(std::chrono::milliseconds timeout = 5s);
  /// True once the server closed the TCP connection.
  bool eof() const { return eof_; }
  /// Reads and discards until the server closes the TCP connection.
  bool wait_eof(std::chrono::milliseconds timeout = 5s);
  /// JSON messages waiting in the kept queue.
  std::size_t kept() const { return kept_.size(); }

 private:
  explicit ws_client(tcp_socket socket) : socket_(std::move(socket)) {}
  json_message take_json(std::chrono::milliseconds timeout, bool keep_looking,
                         std::string_view want_op, std::string_view want_id);

  tcp_socket socket_;
  http_response handshake_;
  std::optional<json_message> hello_;
  std::string input_;  // received, not yet decoded
  bool eof_ = false;
  std::deque<json_message> kept_;
};

/// Sec-WebSocket-Accept for a key (RFC 6455 4.2.2).
std::string websocket_accept(std::string_view key);

/// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

}  // namespace wsa::test
