// HTTP requests, the admin endpoints, the publish API and the WebSocket upgrade. See
// http_endpoints.h.
#include "handlers/http_endpoints.h"

#include <utility>

#include "handlers/mqtt.h"
#include "handlers/token_gate.h"
#include "handlers/ws_v1.h"
#include "http/query.h"
#include "http/request.h"
#include "http/response.h"
#include "http/websocket_handshake.h"
#include "json/writer.h"
#include "net/frame.h"
#include "pubsub/tag.h"
#include "server/node.h"
#include "util/clock.h"

namespace wsa {
namespace {

constexpr std::string_view bearer_challenge =
    "WWW-Authenticate: Bearer realm=\"wsagent\", error=\"invalid_token\"\r\n";

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

http_endpoints::http_endpoints(conn_host& host, router& r, token_gate& gate,
                               command_parser& parser, ws_v1_handler& ws, mqtt_handler* mqtt,
                               const node& owner, const bool& draining, shard_metrics& metrics)
    : host_(host),
      router_(r),
      gate_(gate),
      parser_(parser),
      ws_(ws),
      mqtt_(mqtt),
      node_(owner),
      draining_(draining),
      metrics_(metrics),
      cfg_(owner.cfg()),
      pub_rate_(rate_limit::of(cfg_.pub_rate, cfg_.pub_burst)) {}

http_endpoints::~http_endpoints() {
  for (frame* body : static_bodies_) {
    if (body != nullptr) {
      body->unref();
    }
  }
}

void http_endpoints::on_open(conn& c) {
  host_.set_deadline(c, c.last_rx_ms + cfg_.handshake_timeout_ms);
}

void http_endpoints::on_deadline(conn& c) {
  metrics_.handshake_failures.add();
  respond_error(c, 408, "request not received in time");
}

void http_endpoints::on_drain(conn& c) {
  if (c.http.waiting) {
    c.http.keep_alive = false;  // the publish in flight is answered, then the connection closes
  } else if (!c.out.empty()) {
    // An answer not sent yet, perhaps a publish's that came back from the tag's owner shard
    // in this very turn: sent, then the connection closes (what is pipelined behind it was
    // not read, so not applied).
    host_.close_after_flush(c);
  } else {
    host_.abort(c);
  }
}

void http_endpoints::on_closed(conn& c) {
  delete c.http.buffer;
  c.http.buffer = nullptr;
}

void http_endpoints::queue_text(conn& c, const std::string& text) {
  frame* f = frame::make_raw(text);
  host_.queue_control(c, f);
  f->unref();
}

// ---- requests ----

void http_endpoints::on_bytes(conn& c, const char* data, std::size_t size) {
  if (c.http.waiting || !c.out.empty()) {
    // The answer before is not sent yet (or a publish awaits the broker): later requests
    // wait their turn, unparsed. The connection is not read meanwhile (the shard pauses
    // it), so these are only the bytes that had arrived already.
    if (size > 0) {
      if (c.http.buffer == nullptr) {
        c.http.buffer = new http_pending();
      }
      c.http.buffer->bytes.append(data, size);
    }
    return;
  }
  on_input(c, data, size);
}

void http_endpoints::on_input(conn& c, const char* data, std::size_t size) {
  std::string_view input;
  parse_progress fresh;
  parse_progress* progress = &fresh;  // of the request at the front of `input`
  if (c.http.buffer != nullptr) {
    http_pending& pending = *c.http.buffer;
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
  std::size_t awaiting = 0;
  while (!input.empty()) {
    http_request request;
    const parse_result parsed = parse_request(input, cfg_.max_header_bytes, request, progress);
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
      if (request.content_length > cfg_.max_message_bytes) {
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
    if (!on_request(c, request, body, rest)) {
      return;  // upgraded, or closing: the HTTP buffer is gone
    }
    input = rest;
    if (c.http.waiting || !c.out.empty()) {
      break;  // keep the rest until this request's answer is sent
    }
  }
  // Keep what is left (a partial head or body, or pipelined requests) for later.
  if (input.empty()) {
    delete c.http.buffer;
    c.http.buffer = nullptr;
    return;
  }
  if (c.http.buffer == nullptr || input.data() != c.http.buffer->bytes.data()) {
    auto* kept = new http_pending{std::string(input), *progress, 0};
    delete c.http.buffer;
    c.http.buffer = kept;
  }
  c.http.buffer->awaiting = awaiting;
}

bool http_endpoints::on_request(conn& c, const http_request& request, std::string_view body,
                                std::string_view rest) {
  const std::string_view path = request.path;
  const bool get = request.method == "GET";
  if (path == "/ws" || (path == "/mqtt" && mqtt_ != nullptr)) {
    upgrade(c, request, rest, path == "/ws" ? conn_protocol::ws_v1 : conn_protocol::mqtt);
    return false;
  }
  metrics_.http_requests.add();  // plain requests only: upgrades are counted as connections
  c.http.keep_alive = keep_alive(request);
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    if (!get) {
      respond_error(c, 405, "method not allowed", "Allow: GET\r\n");
      return false;
    }
    if (path == "/healthz") {
      respond(c, 200, "application/json", "{\"status\":\"ok\"}\n");
    } else if (path == "/readyz") {
      const bool leaving = draining_ || node_.leaving.load(std::memory_order_relaxed);
      const bool ready = !leaving && node_.brokers_ready();
      respond(c, ready ? 200 : 503, "application/json",
              ready     ? "{\"status\":\"ready\"}\n"
              : leaving ? "{\"status\":\"draining\"}\n"
                        : "{\"status\":\"not ready\"}\n");
    } else {
      std::string text;
      const auto blocks = node_.metrics();
      render_prometheus(text, blocks,
                        !draining_ && !node_.leaving.load(std::memory_order_relaxed) &&
                            node_.brokers_ready());
      respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", text);
    }
  } else if (path == "/api/publish") {
    return publish(c, request, body) && c.open_as(conn_protocol::http);
  } else if (const static_files* files = node_.web_files(); files != nullptr) {
    scratch_.clear();
    const static_files::answer_body answer = files->answer(request, !c.http.keep_alive, scratch_);
    queue_text(c, scratch_);
    if (!answer.body.empty()) {
      host_.queue_control(c, static_body(answer));
    }
  } else {
    respond_error(c, 404, "no such endpoint (WebSocket clients connect to /ws)");
    return false;
  }
  return answered(c);
}

bool http_endpoints::answered(conn& c) {
  if (!c.http.keep_alive) {
    host_.close_after_flush(c);
    return false;
  }
  host_.set_deadline(c, monotonic_ms() + cfg_.handshake_timeout_ms);
  return true;
}

void http_endpoints::respond(conn& c, int status, std::string_view content_type,
                             std::string_view body) {
  scratch_.clear();
  append_response(scratch_, status, content_type, body, {}, !c.http.keep_alive);
  queue_text(c, scratch_);
}

void http_endpoints::respond_error(conn& c, int status, std::string_view reason,
                                   std::string_view extra_headers) {
  scratch_.clear();
  append_error_response(scratch_, status, reason, extra_headers, /*close=*/true);
  c.http.keep_alive = false;
  queue_text(c, scratch_);
  host_.close_after_flush(c);
}

void http_endpoints::respond_unauthorized(conn& c, std::string_view reason) {
  respond_error(c, 401, reason, bearer_challenge);
}

frame* http_endpoints::static_body(const static_files::answer_body& answer) {
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

// ---- the upgrade ----

void http_endpoints::upgrade(conn& c, const http_request& request, std::string_view rest,
                             conn_protocol to) {
  const bool mqtt = to == conn_protocol::mqtt;
  const std::string_view subprotocol = mqtt ? mqtt_subprotocol : ws_subprotocol;
  const upgrade_check check = check_upgrade(request, subprotocol);
  if (!check.ok()) {
    metrics_.handshake_failures.add();
    respond_error(c, check.status, check.reason, check.extra_headers);
    return;
  }
  // MQTT's token comes in its CONNECT packet.
  if (!mqtt && gate_.required() && !authenticate_upgrade(c, request)) {
    return;  // answered 401, no upgrade
  }
  scratch_.clear();
  const auto accept = accept_key(request.sec_websocket_key);
  build_switching_protocols(scratch_, std::string_view(accept.data(), accept.size()),
                            check.select_subprotocol, subprotocol);
  queue_text(c, scratch_);
  // Bytes that followed the head (a client may send its first frame at once) must survive
  // the HTTP buffer.
  const std::string early(rest);
  delete c.http.buffer;
  c.http.buffer = nullptr;
  host_.clear_deadline(c);
  host_.switch_protocol(c, to);
  if (mqtt) {
    mqtt_->on_open(c, /*over_ws=*/true, early);
  } else {
    ws_.on_open(c, early);
  }
}

bool http_endpoints::authenticate_upgrade(conn& c, const http_request& request) {
  std::string_view token;
  const char* via = "authorization";
  if (!request.authorization.empty()) {
    token = bearer_credentials(request.authorization);
    if (token.empty()) {
      gate_.count_failure();
      respond_unauthorized(c, "the Authorization header must hold a Bearer token");
      return false;
    }
  } else {
    via = "query";
    std::vector<char>& buffer = gate_.query_token_buffer();
    const query_value q = find_query_param(request.query, "token", buffer);
    switch (q.status) {
      case query_status::absent:
        return true;  // the first frame must be `auth`, within the auth timeout
      case query_status::found:
        token = std::string_view(buffer.data(), q.length);
        break;
      case query_status::too_long:
        gate_.count_failure();
        respond_unauthorized(c, "the token is longer than max-token-bytes");
        return false;
      case query_status::malformed:
      case query_status::duplicate:
        gate_.count_failure();
        respond_unauthorized(c, "the token query parameter is malformed or repeated");
        return false;
    }
  }
  const token_status status = ws_.authenticate(c, token, via);
  if (!status.ok()) {
    metrics_.handshake_failures.add();
    respond_unauthorized(c, token_error_text(status.error));
    return false;
  }
  return true;
}

// ---- POST /api/publish ----

bool http_endpoints::publish(conn& c, const http_request& request, std::string_view body) {
  if (request.method != "POST") {
    respond_error(c, 405, "method not allowed", "Allow: POST\r\n");
    return false;
  }
  // Rate first, the cheapest refusal: per token (new connections do not refill it), per
  // connection without auth (WebSocket's bucket, unused on an HTTP connection).
  const permissions* perm = nullptr;
  token_bucket* bucket = &c.ws.pub_bucket;
  if (gate_.required()) {
    api_tokens::entry* token = api_token(c, request);
    if (token == nullptr) {
      return false;  // answered 401
    }
    perm = &token->perm;
    bucket = &token->bucket;
  }
  if (!bucket->take(pub_rate_, monotonic_ns())) {
    return refuse_rate(c);
  }
  // The body {"tag":..,"data":..} is parsed as the pub frame it stands for, by the same
  // strict parser: `data` is kept byte for byte.
  std::size_t open = 0;
  while (open < body.size() && is_json_space(body[open])) {
    ++open;
  }
  if (open == body.size() || body[open] != '{') {
    respond_error(c, 400, "the body must be a JSON object {\"tag\":...,\"data\":...}");
    return false;
  }
  const std::string_view members = body.substr(open + 1);
  std::size_t first = 0;
  while (first < members.size() && is_json_space(members[first])) {
    ++first;
  }
  const bool empty_object = first < members.size() && members[first] == '}';
  api_frame_.assign(empty_object ? "{\"op\":\"pub\"" : "{\"op\":\"pub\",");
  api_frame_.append(members);
  const std::size_t size = api_frame_.size();
  api_frame_.resize(size + json_padding());
  parse_error error;
  if (!parser_.parse(api_frame_.data(), size, api_frame_.size(), command_, error)) {
    respond_error(c, 400, error.reason);
    return false;
  }
  if (!is_valid_tag(command_.tag)) {
    respond_error(c, 400, "tag must be an exact tag (1..255 printable bytes, no wildcard)");
    return false;
  }
  if (perm != nullptr && !perm->may_publish(command_.tag)) {
    respond_error(c, 403, "no publish permission for " + std::string(command_.tag));
    return false;
  }
  metrics_.publishes.add();
  c.http.waiting = true;
  host_.clear_deadline(c);
  if (!router_.publish({c.slot, c.generation}, {}, command_.tag, command_.data,
                       command_.idem)) {
    c.http.waiting = false;  // refused at once: a backlog between shards is full
    respond_error(c, 503, "the broker did not accept the message (unavailable)");
    return false;
  }
  return true;
}

api_tokens::entry* http_endpoints::api_token(conn& c, const http_request& request) {
  const std::string_view token = bearer_credentials(request.authorization);
  if (token.empty()) {
    gate_.count_failure();
    respond_unauthorized(c, "a bearer token is required (Authorization: Bearer <token>)");
    return nullptr;
  }
  const int64_t now_s = unix_seconds();
  if (api_tokens::entry* known = tokens_.find(token, now_s)) {
    metrics_.auth_reused.add();
    return known;
  }
  if (!gate_.verify(token, "api").ok()) {
    respond_unauthorized(c, "the token was refused");
    return nullptr;
  }
  return &tokens_.keep(token, std::move(gate_.claims().perm), gate_.expiry_s());
}

bool http_endpoints::refuse_rate(conn& c) {
  metrics_.rate_limited_publishes.add();
  scratch_.clear();
  append_error_response(scratch_, 429, "too many publishes; slow down and retry (--pub-rate)",
                        "Retry-After: 1\r\n", !c.http.keep_alive);
  queue_text(c, scratch_);  // not published; a keep-alive connection stays open
  return answered(c);
}

void http_endpoints::on_published(conn& c, const publish_outcome& outcome) {
  if (!c.http.waiting) {
    return;
  }
  c.http.waiting = false;
  if (!outcome.ok) {
    respond_error(c, 503,
                  "the broker did not accept the message (" + std::string(outcome.error) + ")");
    return;
  }
  // Not in scratch_: respond() builds the whole answer there.
  publish_answer_.clear();
  append_publish_result(publish_answer_, outcome.seq, outcome.ts_ms, outcome.dup);
  publish_answer_.push_back('\n');
  respond(c, 200, "application/json", publish_answer_);
  // Requests pipelined behind the publish are read once this answer is sent (the shard
  // resumes the connection: shard_flow.cpp).
  answered(c);
}

}  // namespace wsa
