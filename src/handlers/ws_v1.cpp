// Protocol v1 over WebSocket: connection life, frames in and out, the router's answers.
// The commands themselves are in ws_v1_commands.cpp. See ws_v1.h.
#include "handlers/ws_v1.h"

#include <cstring>

#include "handlers/token_gate.h"
#include "json/writer.h"
#include "util/clock.h"
#include "util/hex.h"
#include "ws/frame.h"
#include "ws/msg_frame.h"
#include "wsa/version.h"


namespace wsa {
namespace {

constexpr std::size_t session_pool_max = 256;

}  // namespace

std::string conn_name(uint64_t id) {
  std::string out = "c-";
  append_hex(out, id);
  return out;
}

std::string served_features(const config& cfg) {
  std::string features(protocol_features);
  if (cfg.broker.type == broker_url::kind::redis_cluster) {
    constexpr std::string_view patterns = R"("pattern-since",)";
    if (const std::size_t at = features.find(patterns); at != std::string::npos) {
      features.erase(at, patterns.size());
    }
  }
  return features;
}

ws_v1_handler::ws_v1_handler(conn_host& host, router& r, token_gate& gate,
                             command_parser& parser, const config& cfg, shard_metrics& metrics,
                             std::string_view node_id, std::string_view node_epoch)
    : host_(host),
      router_(r),
      gate_(gate),
      parser_(parser),
      cfg_(cfg),
      metrics_(metrics),
      node_id_(node_id),
      features_(served_features(cfg)),
      presence_node_(std::string(node_id) + "/" + std::string(node_epoch)),
      session_pool_(this, cfg.max_message_bytes, json_padding(), session_pool_max),
      ping_frame_(make_ws_frame(ws_opcode::ping, {})),
      pub_rate_(rate_limit::of(cfg.pub_rate, cfg.pub_burst)),
      sub_rate_(rate_limit::of(cfg.sub_rate, cfg.sub_burst)),
      auth_rate_(rate_limit::of(cfg.auth_rate, cfg.auth_burst)),
      invalid_rate_(rate_limit::of(cfg.invalid_frame_rate, cfg.invalid_frame_burst)) {}

ws_v1_handler::~ws_v1_handler() { ping_frame_->unref(); }

// ---- connection life ----

void ws_v1_handler::on_open(conn& c, std::string_view early) {
  metrics_.websockets.add();
  scratch_.clear();
  append_hello(scratch_, node_id_, conn_name(c.id), version, features_);
  send_json(c, scratch_);
  if (gate_.required() && c.ws.perms == nullptr) {
    // No token in the handshake: the first frame must be `auth`, in time.
    host_.set_deadline(c, monotonic_ms() + cfg_.auth_timeout_ms);
  }
  if (!early.empty() && c.open_as(conn_protocol::ws_v1)) {
    on_bytes(c, early.data(), early.size());
  }
}

void ws_v1_handler::on_bytes(conn& c, const char* data, std::size_t size) {
  c.ws.ping_sent = false;
  if (c.ws.draining) {
    return;  // the node drains: no new request is read
  }
  if (c.ws.session == nullptr) {
    c.ws.session = session_pool_.acquire(&c);
  }
  feeding_ = c.ws.session;
  const ws_session::result result = c.ws.session->feed(data, size);
  feeding_ = nullptr;
  if (!c.open_as(conn_protocol::ws_v1)) {
    release_session(c);  // a command ended the connection while wslay was running
    return;
  }
  switch (result) {
    case ws_session::result::ok:
    case ws_session::result::stopped:
      if (c.ws.session->idle()) {
        release_session(c);  // at a message boundary: back to the pool
      }
      return;
    case ws_session::result::closing: {
      // wslay queued the close frame: the echo of the client's close, or its verdict on a
      // violation (1002 masking/opcode/RSV, 1007 UTF-8, 1009 size).
      const uint16_t code = c.ws.session->close_code_sent();
      if (code == 1002 || code == 1007 || code == 1009) {
        metrics_.protocol_errors.add();
      }
      close(c, code, {}, false, /*queue_frame=*/false);
      return;
    }
    case ws_session::result::protocol_error:
      metrics_.protocol_errors.add();
      close(c, 1002, "protocol error", false);
      return;
    case ws_session::result::too_big:
      metrics_.protocol_errors.add();
      close(c, 1009, "message too big", false);
      return;
  }
}

void ws_v1_handler::on_deadline(conn& c) {
  metrics_.auth_timeouts.add();
  close(c, 4001, "authentication timeout", false);
}

void ws_v1_handler::on_sweep(conn& c, int64_t now_ms, int64_t unix_now) {
  if (c.ws.token_exp != 0 && unix_now >= c.ws.token_exp) {
    metrics_.token_expiries.add();
    close(c, 4001, "token expired", false);
    return;
  }
  const int64_t idle = cfg_.idle_timeout_ms;
  if (idle == 0) {
    return;
  }
  const int64_t silent = now_ms - c.last_rx_ms;
  if (silent >= idle && c.ws.ping_sent) {
    metrics_.idle_closes.add();
    host_.abort(c);  // no answer to our ping: the peer is gone
  } else if (silent >= idle / 2 && !c.ws.ping_sent) {
    c.ws.ping_sent = true;
    c.ws.pong_owed = true;
    host_.queue(c, ping_frame_);
  }
}

void ws_v1_handler::on_overflow(conn& c) {
  metrics_.slow_consumer_closes.add();
  close(c, 4008, "slow consumer", /*drop_unsent=*/true);
}

void ws_v1_handler::on_drain(conn& c, uint32_t reconnect_within_ms) {
  if (c.ws.draining) {
    return;
  }
  scratch_.clear();
  append_reconnect(scratch_, reconnect_within_ms);
  send_json(c, scratch_);
  // Requests already taken in are answered before the connection closes (or their effect
  // would be unknown to the client); nothing new is read.
  c.ws.draining = true;
  close_when_answered(c);
}

void ws_v1_handler::close_when_answered(conn& c) {
  if (c.ws.publishes_in_flight == 0 && !router_.waiting(c.slot)) {
    close(c, 1001, "server shutting down", false);
  }
}

void ws_v1_handler::close(conn& c, uint16_t code, std::string_view reason, bool drop_unsent,
                          bool queue_frame) {
  if (!c.open_as(conn_protocol::ws_v1)) {
    return;
  }
  if (drop_unsent) {
    c.out.drop_unsent();
  }
  c.ws.pong_at = no_pong;
  if (queue_frame) {
    frame* f = make_ws_close(code, reason);
    host_.queue_control(c, f);
    f->unref();
  }
  c.ws.close_code = code;
  host_.close_after_flush(c);
}

void ws_v1_handler::on_closed(conn& c) {
  metrics_.websockets.sub();
  release_session(c);
  router_.drop(c.slot);
}

void ws_v1_handler::release_session(conn& c) {
  ws_session* s = c.ws.session;
  if (s == nullptr || s == feeding_) {
    return;  // a command closed the connection mid-feed: on_bytes releases it after
  }
  session_pool_.release(s);
  c.ws.session = nullptr;
}

// ---- frames ----

void ws_v1_handler::on_ws_output(void* owner, const char* data, std::size_t size) {
  conn& c = *static_cast<conn*>(owner);
  if (!c.open_as(conn_protocol::ws_v1)) {
    return;  // nothing may follow our close frame
  }
  frame* f = frame::make_raw(std::string_view(data, size));
  if (static_cast<ws_opcode>(data[0] & 0x0f) == ws_opcode::pong) {
    // The pong for the latest ping replaces one still unsent (RFC 6455 5.5.3), counted
    // against the outbound bound like every answer.
    if (host_.queue_replacing(c, f, c.ws.pong_at)) {
      metrics_.pongs_replaced.add();
    }
  } else {
    host_.queue_control(c, f);  // the close reply: the last frame, at most 127 bytes
  }
  f->unref();
}

bool ws_v1_handler::on_ws_message(void* owner, ws_opcode opcode, char* data, std::size_t size,
                                  std::size_t capacity) {
  conn& c = *static_cast<conn*>(owner);
  if (!c.open_as(conn_protocol::ws_v1)) {
    return false;
  }
  metrics_.messages_in.add();
  if (opcode != ws_opcode::text) {
    return refuse_frame(c, {}, "bad_request",
                        "binary frames are reserved; send JSON text frames");
  }
  parse_error error;
  if (!parser_.parse(data, size, capacity, command_, error)) {
    return refuse_frame(c, error.id.size() <= max_request_id_bytes ? error.id : std::string_view{},
                        error.code, error.reason);
  }
  on_command(c, command_);
  return c.open_as(conn_protocol::ws_v1);
}

bool ws_v1_handler::on_ws_pong(void* owner) {
  conn& c = *static_cast<conn*>(owner);
  if (!c.open_as(conn_protocol::ws_v1)) {
    return false;
  }
  if (c.ws.pong_owed) {
    c.ws.pong_owed = false;  // the answer to our idle ping: no invalid frame
    return true;
  }
  return refuse_frame(c, {}, {}, {});
}

bool ws_v1_handler::refuse_frame(conn& c, std::string_view id, std::string_view code,
                                 std::string_view reason) {
  // Each costs a parse and an answer like a request, but no other limit applies to it.
  if (!c.ws.invalid_bucket.take(invalid_rate_, monotonic_ns())) {
    metrics_.invalid_frame_closes.add();
    close(c, 1008, "too many invalid frames", false);
    return false;
  }
  if (!code.empty()) {
    send_err(c, id, code, reason);
  }
  return c.open_as(conn_protocol::ws_v1);
}

// ---- replies ----

void ws_v1_handler::send_json(conn& c, std::string_view json) {
  frame* f = make_ws_frame(ws_opcode::text, json);
  host_.queue(c, f);
  f->unref();
}

void ws_v1_handler::send_ok(conn& c, std::string_view id) {
  if (id.empty()) {
    return;  // fire-and-forget requests get no ok
  }
  scratch_.clear();
  append_ok(scratch_, id);
  send_json(c, scratch_);
}

void ws_v1_handler::send_err(conn& c, std::string_view id, std::string_view code,
                             std::string_view reason) {
  metrics_.command_errors.add();
  scratch_.clear();
  append_err(scratch_, id, code, reason);
  send_json(c, scratch_);
}

// ---- the router's answers ----

bool ws_v1_handler::deliver(conn& c, message& m) { return host_.queue(c, ws_msg_frame(m)); }

void ws_v1_handler::on_published(conn& c, std::string_view request_id,
                                 const publish_outcome& outcome) {
  --c.ws.publishes_in_flight;
  if (!outcome.ok) {
    send_err(c, request_id, outcome.error.empty() ? "internal" : outcome.error,
             "the broker did not accept the message");
  } else if (!request_id.empty()) {
    scratch_.clear();
    append_ok_pub(scratch_, request_id, outcome.seq, outcome.ts_ms, outcome.dup);
    send_json(c, scratch_);
  }
  if (c.ws.draining) {
    close_when_answered(c);
  }
}

void ws_v1_handler::on_subscribed(conn& c, const sub_outcome& outcome) {
  if (!outcome.ok) {
    send_err(c, outcome.request_id, outcome.error, outcome.reason);
  } else if (!outcome.request_id.empty()) {
    std::vector<sub_ack_entry> positions;
    positions.reserve(outcome.positions.size());
    for (const sub_position& p : outcome.positions) {
      positions.push_back({p.tag, p.seq, p.epoch, p.gap, p.only_gap});
    }
    scratch_.clear();
    append_ok_sub(scratch_, outcome.request_id, positions);
    send_json(c, scratch_);
  }
  for (message* m : outcome.messages) {
    if (!c.open_as(conn_protocol::ws_v1) || !deliver(c, *m)) {
      return;  // closed on the way (a slow consumer): the rest is moot
    }
  }
  if (c.ws.draining) {
    close_when_answered(c);  // the 1001 follows this answer and its replay
  }
}

void ws_v1_handler::on_stream_gap(conn& c, std::string_view key) {
  metrics_.gap_notices.add();
  scratch_.clear();
  append_gap(scratch_, key);
  send_json(c, scratch_);
}

}  // namespace wsa
