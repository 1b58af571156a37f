#include "support/ws_client.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace wsa::test {
namespace {

using clock_type = std::chrono::steady_clock;

std::string base64(const uint8_t* data, std::size_t size) {
  std::string out(BASE64_ENCODE_RAW_LENGTH(size), '\0');
  base64_encode_raw(reinterpret_cast<char*>(out.data()), size, data);
  return out;
}

std::string random_key() {
  static thread_local std::mt19937 random{std::random_device{}()};
  uint8_t nonce[16];
  for (uint8_t& b : nonce) {
    b = static_cast<uint8_t>(random());
  }
  return base64(nonce, sizeof nonce);
}

bool contains_token(std::string_view list, std::string_view token) {
  std::string lower(list);
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return lower.find(token) != std::string::npos;
}

std::string describe(const ws_message& m) {
  switch (m.opcode) {
    case ws_op::close:
      return "close " + std::to_string(m.close_code) + " \"" + m.close_reason + "\"";
    case ws_op::binary:
      return "binary message of " + std::to_string(m.payload.size()) + " bytes";
    case ws_op::text:
      return "text " + m.payload;
    default:
      return "opcode " + std::to_string(m.opcode);
  }
}

}  // namespace

std::string websocket_accept(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, key.size(), reinterpret_cast<const uint8_t*>(key.data()));
  sha1_update(&ctx, guid.size(), reinterpret_cast<const uint8_t*>(guid.data()));
  uint8_t digest[SHA1_DIGEST_SIZE];
  sha1_digest(&ctx, sizeof digest, digest);
  return base64(digest, sizeof digest);
}

std::string json_quote(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out += "\\u00";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

ws_client ws_client::connect(uint16_t port, const ws_options& options) {
  const auto deadline = clock_type::now() + options.timeout;
  ws_client client(tcp_socket::connect(port, options.timeout));
  const std::string key = random_key();
  std::string request = "GET " + options.path;
  if (!options.query.empty()) {
    request += "?" + options.query;
  }
  request +=
      " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: " +
      key + "\r\n";
  if (options.offer_subprotocol) {
    request += "Sec-WebSocket-Protocol: wsagent.v1\r\n";
  }
  for (const std::string& line : options.extra_headers) {
    request += line + "\r\n";
  }
  request += "\r\n";
  client.socket_.send_all(request, options.timeout);

  client.handshake_ = read_http_response(client.socket_, client.input_, left_until(deadline));
  const http_response& r = client.handshake_;
  if (r.status != 101) {
    throw std::runtime_error("upgrade refused: " + std::to_string(r.status) + " " + r.reason +
                             " " + r.body);
  }
  if (!contains_token(r.header("Upgrade"), "websocket") ||
      !contains_token(r.header("Connection"), "upgrade")) {
    throw std::runtime_error("101 without Upgrade: websocket / Connection: upgrade");
  }
  if (r.header("Sec-WebSocket-Accept") != websocket_accept(key)) {
    throw std::runtime_error("wrong Sec-WebSocket-Accept: " + r.header("Sec-WebSocket-Accept"));
  }
  // The server selects wsagent.v1 when it is offered, and nothing else (RFC 6455 4.2.2).
  bool offered = options.offer_subprotocol;
  for (const std::string& line : options.extra_headers) {
    offered = offered || (contains_token(line.substr(0, line.find(':')), "sec-websocket-protocol") &&
                          line.find("wsagent.v1") != std::string::npos);
  }
  const std::string protocol = r.header("Sec-WebSocket-Protocol");
  if (offered ? protocol != "wsagent.v1" : !protocol.empty()) {
    throw std::runtime_error("unexpected Sec-WebSocket-Protocol: '" + protocol + "'");
  }
  if (options.read_hello) {
    json_message hello = client.next_json(left_until(deadline));
    if (hello.op() != "hello") {
      throw std::runtime_error("first frame is not hello: " + hello.text());
    }
    client.hello_.emplace(std::move(hello));
  }
  return client;
}

const json_message& ws_client::hello() const {
  if (!hello_) {
    throw std::runtime_error("hello was not read (read_hello=false)");
  }
  return *hello_;
}

void ws_client::send_frame(const frame_spec& spec) { socket_.send_all(encode_frame(spec)); }

void ws_client::send_raw(std::string_view bytes) { socket_.send_all(bytes); }

void ws_client::send_text(std::string_view text) {
  send_frame({.opcode = ws_op::text, .payload = std::string(text)});
}

void ws_client::send_binary(std::string_view bytes) {
  send_frame({.opcode = ws_op::binary, .payload = std::string(bytes)});
}

void ws_client::send_ping(std::string_view payload) {
  send_frame({.opcode = ws_op::ping, .payload = std::string(payload)});
}

void ws_client::send_close(uint16_t code, std::string_view reason) {
  send_frame({.opcode = ws_op::close, .payload = close_payload(code, reason)});
}

void ws_client::send_fragmented(uint8_t opcode, std::string_view payload, std::size_t pieces) {
  pieces = std::max<std::size_t>(pieces, 1);
  const std::size_t step = (payload.size() + pieces - 1) / pieces;
  std::string bytes;
  for (std::size_t i = 0; i < pieces; ++i) {
    const std::size_t at = std::min(i * step, payload.size());
    bytes += encode_frame({.opcode = i == 0 ? opcode : ws_op::continuation,
                           .payload = std::string(payload.substr(at, step)),
                           .fin = i + 1 == pieces});
  }
  send_raw(bytes);
}

std::optional<ws_frame> ws_client::next_frame(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    ws_frame frame;
    const std::size_t used = decode_frame(input_, frame);
    if (used > 0) {
      input_.erase(0, used);
      return frame;
    }
    if (eof_) {
      return std::nullopt;
    }
    switch (socket_.read_some(input_, left_until(deadline))) {
      case tcp_socket::read_status::data:
        break;
      case tcp_socket::read_status::eof:
        eof_ = true;
        break;
      case tcp_socket::read_status::timeout:
        return std::nullopt;
    }
  }
}

std::optional<ws_message> ws_client::try_next_message(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  std::optional<ws_message> partial;
  for (;;) {
    std::optional<ws_frame> frame = next_frame(left_until(deadline));
    if (!frame) {
      if (partial) {
        throw std::runtime_error("message ended before its last fragment");
      }
      return std::nullopt;
    }
    if (frame->opcode >= ws_op::close) {
      ws_message m{frame->opcode, frame->payload};
      if (frame->opcode == ws_op::close) {
        m.close_code = 1005;
        if (frame->payload.size() >= 2) {
          m.close_code = static_cast<uint16_t>((static_cast<uint8_t>(frame->payload[0]) << 8) |
                                               static_cast<uint8_t>(frame->payload[1]));
          m.close_reason = frame->payload.substr(2);
        }
      }
      if (partial) {
        throw std::runtime_error("control frame inside a fragmented message is not kept apart "
                                 "by this client; got " + describe(m));
      }
      return m;
    }
    if (!partial) {
      if (frame->opcode == ws_op::continuation) {
        throw std::runtime_error("server sent a continuation frame with no message started");
      }
      partial = ws_message{frame->opcode, std::move(frame->payload)};
    } else {
      if (frame->opcode != ws_op::continuation) {
        throw std::runtime_error("server started a new message inside a fragmented one");
      }
      partial->payload += frame->payload;
    }
    if (frame->fin) {
      return partial;
    }
  }
}

ws_message ws_client::next_message(std::chrono::milliseconds timeout) {
  std::optional<ws_message> m = try_next_message(timeout);
  if (!m) {
    throw std::runtime_error(eof_ ? "the server closed the connection"
                                  : "no message within " + std::to_string(timeout.count()) +
                                        " ms");
  }
  return std::move(*m);
}

json_message ws_client::take_json(std::chrono::milliseconds timeout, bool keep_looking,
                                  std::string_view want_op, std::string_view want_id) {
  const auto matches = [&](const json_message& m) {
    if (!want_op.empty() && m.op() != want_op) {
      return false;
    }
    if (!want_id.empty() && (!m.has("/id") || m.raw("id") != want_id)) {
      return false;
    }
    return true;
  };
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (!keep_looking || matches(*it)) {
      json_message found = std::move(*it);
      kept_.erase(it);
      return found;
    }
  }
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    std::optional<ws_message> m = try_next_message(left_until(deadline));
    if (!m) {
      std::string what = eof_ ? "the server closed the connection"
                              : "no message within " + std::to_string(timeout.count()) + " ms";
      if (!want_op.empty() || !want_id.empty()) {
        what += " (waiting for op '" + std::string(want_op) + "' id " + std::string(want_id) +
                ")";
      }
      throw std::runtime_error(what);
    }
    if (m->opcode == ws_op::ping) {
      send_frame({.opcode = ws_op::pong, .payload = m->payload});
      continue;
    }
    if (m->opcode == ws_op::pong) {
      continue;
    }
    if (m->opcode != ws_op::text) {
      throw std::runtime_error("expected a JSON text message, got " + describe(*m));
    }
    json_message parsed(std::move(m->payload));
    if (!keep_looking || matches(parsed)) {
      return parsed;
    }
    kept_.push_back(std::move(parsed));
  }
}

json_message ws_client::next_json(std::chrono::milliseconds timeout) {
  return take_json(timeout, false, {}, {});
}

json_message ws_client::wait_for(std::string_view op, std::chrono::milliseconds timeout) {
  return take_json(timeout, true, op, {});
}

json_message ws_client::call(std::string_view request, std::chrono::milliseconds timeout) {
  const json_message parsed{std::string(request)};
  const std::string id(parsed.raw("id"));
  send_text(request);
  json_message reply = take_json(timeout, true, {}, id);
  if (reply.op() != "ok" && reply.op() != "err") {
    throw std::runtime_error("a reply with our id that is neither ok nor err: " + reply.text());
  }
  return reply;
}

ws_message ws_client::wait_close(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    std::optional<ws_message> m = try_next_message(left_until(deadline));
    if (!m) {
      throw std::runtime_error(eof_ ? "the server closed TCP without a close frame"
                                    : "no close frame within " +
                                          std::to_string(timeout.count()) + " ms");
    }
    if (m->opcode == ws_op::close) {
      return std::move(*m);
    }
  }
}

bool ws_client::wait_eof(std::chrono::milliseconds timeout) {
  if (eof_) {
    return true;
  }
  eof_ = socket_.wait_eof(timeout);
  return eof_;
}

}  // namespace wsa::test
