// MQTT connections: their life, bytes in (over TCP or inside WebSocket binary messages),
// decode errors, CONNECT, and the packets that go out. Publishing, subscribing and
// deliveries are in mqtt_flow.cpp. See mqtt.h.
#include "handlers/mqtt.h"

#include "handlers/token_gate.h"
#include "mqtt/connect.h"
#include "mqtt/encoder.h"
#include "mqtt/payload.h"
#include "obs/log.h"
#include "util/clock.h"
#include "util/hex.h"
#include "ws/frame.h"

namespace wsa {
namespace {

constexpr std::size_t ws_pool_max = 64;
constexpr subscriber_id nobody{UINT32_MAX, 0};  // wills: no connection waits for the answer

bool is_v5(const conn& c) { return c.mqtt->wire.level == mqtt::protocol::v5; }

}  // namespace

mqtt::limits mqtt_limits_of(const config& cfg) {
  mqtt::limits l;
  l.max_packet_size = cfg.mqtt_max_packet_bytes;
  l.max_inflight = static_cast<uint16_t>(cfg.mqtt_max_inflight);
  l.max_pending = cfg.mqtt_max_pending;
  l.max_subscriptions = cfg.mqtt_max_subscriptions;
  l.idle_timeout_ms = cfg.idle_timeout_ms;
  l.max_will_payload = cfg.mqtt_max_will_bytes;
  return l;
}

mqtt_handler::mqtt_handler(conn_host& host, router& r, mail_port& mail, token_gate& gate,
                           const config& cfg, shard_metrics& metrics, unsigned shard,
                           unsigned shards, session_store* store)
    : host_(host),
      router_(r),
      mail_(mail),
      gate_(gate),
      cfg_(cfg),
      metrics_(metrics),
      limits_(mqtt_limits_of(cfg)),
      pub_rate_(rate_limit::of(cfg.pub_rate, cfg.pub_burst)),
      sub_rate_(rate_limit::of(cfg.sub_rate, cfg.sub_burst)),
      shard_(shard),
      shards_(shards),
      retained_({cfg.mqtt_retained_max, cfg.mqtt_retained_max_bytes}),
      store_(store),
      max_sessions_((cfg.mqtt_max_sessions + shards - 1) / shards),
      max_session_bytes_((cfg.mqtt_max_session_bytes + shards - 1) / shards),
      ws_pool_(this, limits_.max_packet_size, 0, ws_pool_max) {}

mqtt_handler::~mqtt_handler() = default;

// ---- connection life ----

void mqtt_handler::on_open(conn& c, bool over_ws, std::string_view early) {
  metrics_.mqtt_connections.add();
  c.mqtt = new mqtt_conn(limits_.max_packet_size, over_ws);
  // The first packet must be CONNECT, in time (MQTT 3.1.4: "a reasonable amount of time").
  host_.set_deadline(c, monotonic_ms() + cfg_.auth_timeout_ms);
  if (!early.empty()) {
    on_bytes(c, early.data(), early.size());
  }
}

void mqtt_handler::on_bytes(conn& c, const char* data, std::size_t size) {
  if (!c.mqtt->wire.over_ws) {
    feed(c, std::string_view(data, size));
    return;
  }
  ws_session* s = c.mqtt->ws;
  if (s == nullptr) {
    s = ws_pool_.acquire(&c);
    c.mqtt->ws = s;
  }
  feeding_ = s;
  const ws_session::result result = s->feed(data, size);
  feeding_ = nullptr;
  if (!c.open_as(conn_protocol::mqtt)) {
    // A packet ended the connection while wslay was running: on_closed left it.
    ws_pool_.release(s);
    return;
  }
  switch (result) {
    case ws_session::result::ok:
    case ws_session::result::stopped:
      if (s->idle()) {
        c.mqtt->ws = nullptr;
        ws_pool_.release(s);
      }
      return;
    case ws_session::result::closing:
      host_.close_after_flush(c);  // wslay queued its close frame
      return;
    case ws_session::result::protocol_error:
    case ws_session::result::too_big: {
      metrics_.mqtt_protocol_errors.add();
      frame* f = make_ws_close(result == ws_session::result::too_big ? 1009 : 1002, {});
      host_.queue_control(c, f);
      f->unref();
      host_.close_after_flush(c);
      return;
    }
  }
}

bool mqtt_handler::on_ws_message(void* owner, ws_opcode opcode, char* data, std::size_t size,
                                 std::size_t /*capacity*/) {
  conn& c = *static_cast<conn*>(owner);
  if (!c.open_as(conn_protocol::mqtt)) {
    return false;
  }
  if (opcode != ws_opcode::binary) {
    // MQTT over WebSocket is binary only ([MQTT-6.0.0-1]).
    metrics_.mqtt_protocol_errors.add();
    close(c, mqtt::reason::malformed_packet);
    return false;
  }
  feed(c, std::string_view(data, size));
  return c.open_as(conn_protocol::mqtt);
}

void mqtt_handler::on_ws_output(void* owner, const char* data, std::size_t size) {
  conn& c = *static_cast<conn*>(owner);
  if (!c.open_as(conn_protocol::mqtt)) {
    return;
  }
  frame* f = frame::make_raw(std::string_view(data, size));
  host_.queue_control(c, f);  // pongs and the close reply: tiny, never refused
  f->unref();
}

void mqtt_handler::on_deadline(conn& c) {
  mqtt_conn& mc = *c.mqtt;
  if (mc.awaiting_resume) {
    // The session's state did not come in time (its owner shard, or the session store, is
    // stuck): refused as "server unavailable" rather than started without it.
    metrics_.mqtt_resume_timeouts.add();
    metrics_.mqtt_connect_refusals.add();
    mqtt::connack_fields f;
    f.code = mqtt::reason::server_unavailable;
    send_connack(c, mc.awaiting_resume->params.level, f);
    mc.awaiting_resume.reset();
    mc.clean_end = true;  // refused: no will
    close(c, mqtt::reason::success);
    return;
  }
  metrics_.mqtt_connect_timeouts.add();
  close(c, mqtt::reason::success);
}

void mqtt_handler::on_sweep(conn& c, int64_t now_ms, int64_t unix_now) {
  mqtt_conn& mc = *c.mqtt;
  if (!mc.session) {
    return;  // before CONNECT the deadline rules
  }
  if (mc.token_exp != 0 && unix_now >= mc.token_exp) {
    metrics_.token_expiries.add();
    close(c, mqtt::reason::not_authorized);
    return;
  }
  if (mc.session->keep_alive_expired(now_ms)) {
    // Keep-alive 0 from a 3.1.1 client: silent for the server's idle timeout.
    (mc.session->params().keep_alive == 0 ? metrics_.idle_closes
                                          : metrics_.mqtt_keep_alive_timeouts)
        .add();
    close(c, mqtt::reason::keep_alive_timeout);
  }
}

bool mqtt_handler::input_blocked(const conn& c) const {
  // 3.1.1 has no Receive Maximum to tell the client: past it, the client is not read until
  // acknowledgements go out (TCP pushes back). 5.0 clients were told; past it they are
  // closed (session::on_publish).
  const mqtt_conn* mc = c.mqtt;
  return mc != nullptr && mc->session &&
         (mc->awaiting_resume ||
          (mc->wire.level == mqtt::protocol::v311 && mc->session->reading_paused()));
}

void mqtt_handler::on_overflow(conn& c) {
  metrics_.slow_consumer_closes.add();
  close(c, mqtt::reason::quota_exceeded, /*drop_unsent=*/true);
}

void mqtt_handler::on_drain(conn& c) { close(c, mqtt::reason::server_shutting_down); }

void mqtt_handler::close(conn& c, mqtt::reason code, bool drop_unsent) {
  if (!c.open_as(conn_protocol::mqtt)) {
    return;
  }
  if (drop_unsent) {
    c.out.drop_unsent();
  }
  if (code != mqtt::reason::success && c.mqtt->session && is_v5(c)) {
    frame* f = make_mqtt_frame(c.mqtt->wire.over_ws, mqtt::disconnect_size(code),
                               [&](char* out) { mqtt::write_disconnect(out, code); });
    host_.queue_control(c, f);
    f->unref();
  }
  if (c.mqtt->wire.over_ws) {
    frame* f = make_ws_close(1000, {});
    host_.queue_control(c, f);
    f->unref();
  }
  host_.close_after_flush(c);
}

void mqtt_handler::on_closed(conn& c) {
  metrics_.mqtt_connections.sub();
  mqtt_conn* mc = c.mqtt;
  if (mc->session) {
    publish_will(c);
    release_session(c);
  }
  router_.drop(c.slot);
  if (mc->ws != nullptr && mc->ws != feeding_) {
    ws_pool_.release(mc->ws);  // (one being fed is on_bytes' to release when feed returns)
  }
  delete mc;
  c.mqtt = nullptr;
}

void mqtt_handler::publish_will(conn& c) {
  mqtt::session& s = *c.mqtt->session;
  const mqtt::connection_end end = s.on_connection_end(c.mqtt->clean_end);
  if (!end.publish_will) {
    return;
  }
  // Sessions end with their connection here (none is kept yet), and a will never waits
  // past its session's end: it goes now.
  const mqtt::will_message& will = s.params().will;
  metrics_.mqtt_wills.add();
  const std::string_view data = mqtt::payload_to_data(will.payload, scratch_);
  const uint32_t expiry = will.has_message_expiry ? will.message_expiry_interval : 0;
  const std::string_view meta =
      write_meta({will.qos, will.retain, expiry, c.mqtt->publisher, will.forwarded_properties});
  // Refused at once only when a backlog between shards is full: the will is lost then, as
  // a QoS 0 message may be.
  if (router_.publish(nobody, {}, will.tag, data, {}, meta) && will.retain) {
    keep_retained(will.tag, will.payload.empty() ? std::string_view() : data, meta, will.qos,
                  expiry);
  }
}

// ---- bytes in ----

void mqtt_handler::feed(conn& c, std::string_view input) {
  mqtt_conn& mc = *c.mqtt;
  while (c.open_as(conn_protocol::mqtt)) {
    if (mc.awaiting_resume) {
      // Packets after the CONNECT wait for its CONNACK (input is paused meanwhile, so this
      // holds at most what one read brought).
      mc.held_input.append(input);
      return;
    }
    mqtt::decode_error err;
    switch (mc.decoder.next(input, packet_, err)) {
      case mqtt::decode_status::need_more:
        return;
      case mqtt::decode_status::error:
        on_decode_error(c, err);
        return;
      case mqtt::decode_status::packet:
        metrics_.messages_in.add();
        on_packet(c, packet_);
        break;
    }
  }
}

void mqtt_handler::on_decode_error(conn& c, const mqtt::decode_error& err) {
  metrics_.mqtt_protocol_errors.add();
  switch (mqtt::action_for(err)) {
    case mqtt::error_action::close:
      close(c, mqtt::reason::success);
      return;
    case mqtt::error_action::connack_v311:
    case mqtt::error_action::connack_v5: {
      mqtt::connack_fields f;
      f.code = err.code;
      send_connack(c, err.level, f);
      close(c, mqtt::reason::success);
      return;
    }
    case mqtt::error_action::disconnect_v5:
      close(c, err.code);
      return;
  }
}

void mqtt_handler::on_packet(conn& c, const mqtt::packet& p) {
  mqtt_conn& mc = *c.mqtt;
  if (p.type == mqtt::packet_type::connect) {
    on_connect(c, p.connect);
    return;
  }
  mc.session->packet_received(monotonic_ms());
  switch (p.type) {
    case mqtt::packet_type::publish:
      on_publish(c, p.publish);
      return;
    case mqtt::packet_type::puback:
      on_puback(c, p.ack.packet_id);
      return;
    case mqtt::packet_type::pubrel:
      send_ack(c, mqtt::packet_type::pubcomp, mc.session->on_pubrel(p.ack.packet_id));
      return;
    case mqtt::packet_type::subscribe:
      on_subscribe(c, p.subscribe);
      return;
    case mqtt::packet_type::unsubscribe:
      on_unsubscribe(c, p.unsubscribe);
      return;
    case mqtt::packet_type::pingreq:
      send(c, make_mqtt_frame(mc.wire.over_ws, mqtt::pingresp_size,
                              [](char* out) { mqtt::write_pingresp(out); }));
      return;
    case mqtt::packet_type::disconnect:
      on_disconnect(c, p.disconnect);
      return;
    default:
      // PUBREC/PUBCOMP answer QoS 2 deliveries, which this server never sends (subscriptions
      // are granted QoS 1 at most); AUTH needs an authentication method, which none has.
      metrics_.mqtt_protocol_errors.add();
      close(c, mqtt::reason::protocol_error);
      return;
  }
}

// ---- CONNECT ----

void mqtt_handler::on_connect(conn& c, const mqtt::connect_packet& p) {
  mqtt_conn& mc = *c.mqtt;
  host_.clear_deadline(c);
  std::string fresh = "wsa-" + std::to_string(shard_) + "-";
  append_hex(fresh, ++next_client_id_);
  append_hex(fresh, static_cast<uint64_t>(unix_ms()));
  mqtt::connect_outcome o = mqtt::negotiate(p, limits_, fresh);
  auto refuse = [&](mqtt::reason code) {
    metrics_.mqtt_connect_refusals.add();
    mqtt::connack_fields f;
    f.code = code;
    send_connack(c, p.level, f);
    close(c, mqtt::reason::success);
  };
  if (o.code != mqtt::reason::success) {
    refuse(o.code);
    return;
  }
  std::string session_key;
  if (gate_.required()) {
    const token_status status =
        p.has_password ? gate_.verify(o.params.token, "mqtt_connect") : token_status{};
    if (!p.has_password || !status.ok()) {
      if (!p.has_password) {
        gate_.count_failure();
      }
      refuse(mqtt::reason::not_authorized);
      return;
    }
    token_claims& claims = gate_.claims();
    mc.perms = std::make_unique<permissions>(std::move(claims.perm));
    mc.token_exp = gate_.expiry_s();
    // Sessions are the token subject's: another user reusing a client id gets its own.
    session_key = claims.sub + "\n" + o.params.client_id;
  }
  if (o.params.has_will && !may_publish(c, o.params.will.tag)) {
    refuse(mqtt::reason::not_authorized);
    return;
  }
  mc.wire.level = o.params.level;
  // No Local compares the publisher's session with the subscriber's, on any node.
  mc.publisher = mqtt::session_hash(session_key.empty() ? std::string_view(o.params.client_id)
                                                        : std::string_view(session_key));
  mc.session.emplace(o.params, limits_, monotonic_ms(), std::move(session_key));
  mc.window.emplace(o.params.outbound_window, limits_.max_pending);
  // The CONNACK waits for the key's owner shard: it closes an older connection of the
  // session (takeover) and answers with the stored session, if any (on_resume), within
  // --auth-timeout (on_deadline refuses it then).
  mc.awaiting_resume.emplace(std::move(o));
  host_.set_deadline(c, monotonic_ms() + cfg_.auth_timeout_ms);
  claim_session(c);
}

// ---- packets out ----

bool mqtt_handler::send(conn& c, frame* f) {
  const bool queued = host_.queue(c, f);
  f->unref();
  return queued;
}

void mqtt_handler::send_connack(conn& c, mqtt::protocol level, const mqtt::connack_fields& f) {
  if (level == mqtt::protocol::v311) {
    mqtt::connack_v311 code;
    if (!mqtt::connack_code_v311(f.code, code)) {
      return;  // 3.1.1 closes without a CONNACK for this one
    }
  } else if (level != mqtt::protocol::v5) {
    return;  // not even the protocol level is known
  }
  send(c, make_mqtt_frame(c.mqtt->wire.over_ws, mqtt::connack_size(level, f),
                          [&](char* out) { mqtt::write_connack(out, level, f); }));
}

void mqtt_handler::send_ack(conn& c, mqtt::packet_type type, const mqtt::ack_fields& ack) {
  const mqtt::protocol level = c.mqtt->wire.level;
  send(c, make_mqtt_frame(c.mqtt->wire.over_ws, mqtt::ack_size(level, ack),
                          [&](char* out) { mqtt::write_ack(out, level, type, ack); }));
}

void mqtt_handler::send_suback(conn& c, uint16_t packet_id, std::span<const mqtt::reason> codes) {
  const mqtt::protocol level = c.mqtt->wire.level;
  send(c, make_mqtt_frame(c.mqtt->wire.over_ws, mqtt::suback_size(level, codes),
                          [&](char* out) { mqtt::write_suback(out, level, packet_id, codes); }));
}

bool mqtt_handler::may_publish(const conn& c, std::string_view tag) const {
  return c.mqtt->perms == nullptr || c.mqtt->perms->may_publish(tag);
}

bool mqtt_handler::may_subscribe(const conn& c, std::string_view pattern) const {
  return c.mqtt->perms == nullptr || c.mqtt->perms->may_subscribe(pattern);
}

}  // namespace wsa
