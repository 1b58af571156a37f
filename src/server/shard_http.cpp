// HTTP on a shard: request heads parsed in place, the WebSocket upgrade, and the small
// admin surface on the same port (docs/protocol.md "HTTP on the same port"). Slow or garbage
// clients are bounded by the head size limit (431) and the handshake deadline (408).
// Requests are answered one at a time: a pipelined request is parsed only once the answer
// before it has been sent (shard_flow.cpp stops reading the connection meanwhile), so a
// client that pipelines and never reads holds at most one response.
#include <cstring>

#include "http/request.h"
#include "http/response.h"
#include "http/websocket_handshake.h"
#include "json/writer.h"
#include "server/node.h"
#include "server/shard.h"
#include "util/clock.h"
#include "util/hex.h"
#include "wsa/version.h"

namespace wsa {
namespace {

std::string hex_id(uint64_t id) {
  std::string out = "c-";
  append_hex(out, id);
  return out;
}

}  // namespace

void shard::on_http_bytes(conn& c, const char* data, std::size_t size) {
  if (c.http_waiting || !c.out.empty()) {
    // The answer before is not sent yet (or a publish awaits the broker): later requests
    // wait their turn, unparsed. The connection is not read meanwhile, so these are only
    // the bytes that had arrived already.
    if (size > 0) {
      if (c.http_buffer == nullptr) {
        c.http_buffer = new http_pending();
      }
      c.http_buffer->bytes.append(data, size);
    }
    return;
  }
  on_http_input(c, data, size);
}

void shard::on_http_input(conn& c, const char* data, std::size_t size) {
  std::string_view input;
  parse_progress fresh;
  parse_progress* progress = &fresh;  // of the request at the front of `input`
  if (c.http_buffer != nullptr) {
    http_pending& pending = *c.http_buffer;
    if (size > 0) {
      pending.bytes.append(data, size);
    }
    if (pending.bytes.size() < pending.awaiting) {
      return;  // a body still on its way: nothing to look at yet
    }
    input = pending.bytes;
    progress = &pending.progress;
  } else {
    input = std::string_view(data, size);
  }
  const config& cfg = node_.cfg();
  std::size_t awaiting = 0;
  while (!input.empty()) {
    http_request request;
    const parse_result parsed = parse_request(input, cfg.max_header_bytes, request, progress);
    if (parsed.status == parse_status::incomplete) {
      break;
    }
    if (parsed.status == parse_status::error) {
      metrics_.handshake_failures.add();
      respond_error(c, parsed.http_status, parsed.reason);
      return;
    }
    std::size_t body_size = 0;
    if (request.has_content_length) {
      if (request.content_length > cfg.max_message_bytes) {
        respond_error(c, 413, "request body larger than max-message-bytes");
        return;
      }
      body_size = static_cast<std::size_t>(request.content_length);
      if (input.size() - parsed.head_length < body_size) {
        awaiting = parsed.head_length + body_size;
        break;  // the body is still on its way
      }
    }
    *progress = parse_progress{};  // the next request starts after this one
    const std::string_view body = input.substr(parsed.head_length, body_size);
    const std::string_view rest = input.substr(parsed.head_length + body_size);
    if (!on_http_request(c, request, body, rest)) {
      return;  // upgraded, or closing: the HTTP buffer is gone
    }
    input = rest;
    if (c.http_waiting || !c.out.empty()) {
      break;  // keep the rest until this request's answer is sent
    }
  }
  // Keep what is left (a partial head or body) until more bytes arrive.
  if (input.empty()) {
    delete c.http_buffer;
    c.http_buffer = nullptr;
    return;
  }
  if (c.http_buffer == nullptr || input.data() != c.http_buffer->bytes.data()) {
    auto* kept = new http_pending{std::string(input), *progress, 0};
    delete c.http_buffer;
    c.http_buffer = kept;
  }
  c.http_buffer->awaiting = awaiting;
}

bool shard::on_http_request(conn& c, const http_request& request, std::string_view body,
                            std::string_view rest) {
  const std::string_view path = request.path;
  const bool get = request.method == "GET";
  if (path == "/ws") {
    upgrade(c, request, rest);
    return false;
  }
  metrics_.http_requests.add();  // plain requests only: upgrades are counted as connections
  c.keep_alive = keep_alive(request);
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    if (!get) {
      respond_error(c, 405, "method not allowed", "Allow: GET\r\n");
      return false;
    }
    if (path == "/healthz") {
      respond(c, 200, "application/json", "{\"status\":\"ok\"}\n");
    } else if (path == "/readyz") {
      const bool ready = !draining_ && node_.brokers_ready();
      respond(c, ready ? 200 : 503, "application/json",
              ready ? "{\"status\":\"ready\"}\n" : "{\"status\":\"not ready\"}\n");
    } else {
      std::string text;
      const auto blocks = node_.metrics();
      render_prometheus(text, blocks, !draining_ && node_.brokers_ready());
      respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", text);
    }
  } else if (path == "/api/publish") {
    return on_http_publish(c, request, body) && c.state == conn_state::http;
  } else if (const static_files* files = node_.web_files(); files != nullptr) {
    scratch_.clear();
    const static_files::answer_body answer = files->answer(request, !c.keep_alive, scratch_);
    c.out.push_adopt(frame::make_raw(scratch_));
    if (!answer.body.empty()) {
      c.out.push(static_body(answer));
    }
    mark_dirty(c);
  } else {
    respond_error(c, 404, "no such endpoint (WebSocket clients connect to /ws)");
    return false;
  }
  if (!c.keep_alive) {
    close_after_flush(c);
    return false;
  }
  set_deadline(c, monotonic_ms() + node_.cfg().handshake_timeout_ms);
  return true;
}

frame* shard::static_body(const static_files::answer_body& answer) {
  // One copy of each file per shard, queued by reference (frames never cross shards).
  if (static_bodies_.size() <= answer.file) {
    static_bodies_.resize(node_.web_files()->file_count(), nullptr);
  }
  frame*& body = static_bodies_[answer.file];
  if (body == nullptr) {
    body = frame::make_raw(answer.body);
  }
  return body;
}

void shard::respond(conn& c, int status, std::string_view content_type, std::string_view body,
                    std::string_view extra_headers, bool close) {
  std::string text;
  append_response(text, status, content_type, body, extra_headers, close || !c.keep_alive);
  c.out.push_adopt(frame::make_raw(text));
  mark_dirty(c);
  if (close) {
    close_after_flush(c);
  }
}

void shard::respond_error(conn& c, int status, std::string_view reason,
                          std::string_view extra_headers) {
  std::string text;
  append_error_response(text, status, reason, extra_headers, /*close=*/true);
  c.keep_alive = false;
  c.out.push_adopt(frame::make_raw(text));
  mark_dirty(c);
  close_after_flush(c);
}

void shard::upgrade(conn& c, const http_request& request, std::string_view rest) {
  const upgrade_check check = check_upgrade(request);
  if (!check.ok()) {
    metrics_.handshake_failures.add();
    respond_error(c, check.status, check.reason, check.extra_headers);
    return;
  }
  if (auth_required() && !authenticate_upgrade(c, request)) {
    return;  // answered 401, no upgrade
  }
  std::string text;
  const auto accept = accept_key(request.sec_websocket_key);
  build_switching_protocols(text, std::string_view(accept.data(), accept.size()),
                            check.select_subprotocol);
  c.out.push_adopt(frame::make_raw(text));
  // Bytes that followed the head (a client may send its first frame at once) must survive
  // the HTTP buffer.
  std::string early(rest);
  delete c.http_buffer;
  c.http_buffer = nullptr;
  clear_deadline(c);
  c.state = conn_state::websocket;
  metrics_.websockets.add();

  scratch_.clear();
  append_hello(scratch_, node_.node_id(), hex_id(c.id), version);
  send_json(c, scratch_);
  if (auth_required() && c.perms == nullptr) {
    // No token in the handshake: the first frame must be `auth`, in time.
    set_deadline(c, monotonic_ms() + node_.cfg().auth_timeout_ms);
  }
  if (!early.empty() && c.state == conn_state::websocket) {
    on_ws_bytes(c, early.data(), early.size());
  }
}

}  // namespace wsa
