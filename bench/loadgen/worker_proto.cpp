// Worker protocol handling, the general path: the upgrade response, WebSocket frames (any
// size, fragmented, interleaved control frames, ping -> pong, close), wsagent protocol v1
// JSON frames, and MQTT 3.1.1 packets over TCP or inside WebSocket binary messages. The
// receive loop and the deliveries' fast path are in worker_recv.cpp.
#include <cstring>
#include <string>

#include "mqtt_codec.h"
#include "payload.h"
#include "stream_feed.h"
#include "worker.h"

namespace wsa::loadgen {

namespace {

constexpr std::size_t max_http_head = 16 * 1024;

}  // namespace

void worker::on_http(uint32_t slot, char* data, std::size_t len) {
  conn& c = conns_[slot];
  c.carry.append(data, len);
  std::string_view buf(c.carry.data(), c.carry.size());
  std::size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buf.size() > max_http_head) {
      fail(slot, res_.handshake_errors, "HTTP response head too large");
    }
    return;
  }
  std::size_t head = end + 4;
  const char* why = ws_check_response(buf.substr(0, head), c.accept,
                                      opt_.proto == proto_kind::wsagent ? "wsagent.v1" : "mqtt",
                                      opt_.proto == proto_kind::mqtt_ws);
  if (why != nullptr) {
    std::size_t eol = buf.find("\r\n");
    fail(slot, res_.handshake_errors,
         std::string("upgrade refused: ") + why + " [" + std::string(buf.substr(0, eol)) + "]");
    return;
  }
  c.carry.consume_front(head);
  on_session_open(slot);
  if (!c.alive() || c.carry.empty()) {
    return;
  }
  // Frames that came with the 101 (e.g. hello): parse them from the carry buffer.
  byte_buffer rest = std::move(c.carry);
  c.carry = byte_buffer();
  on_stream(slot, rest.data(), rest.size());
}

bool worker::on_ws_control(uint32_t slot, uint8_t opcode, char* payload, std::size_t n) {
  conn& c = conns_[slot];
  switch (opcode) {
    case ws_ping:
      if (n <= 125) {
        queue_ws(slot, ws_pong, payload, n);
      }
      break;
    case ws_pong:
      break;
    case ws_close: {
      if (c.state == conn_state::closing) {
        return false;  // the answer to ours (or a repeat): wait for the TCP close
      }
      uint32_t code = n >= 2 ? (static_cast<uint32_t>(static_cast<uint8_t>(payload[0])) << 8 |
                                static_cast<uint8_t>(payload[1]))
                             : 1005;
      std::string why = "server sent close " + std::to_string(code) +
                        (n > 2 ? ": " + std::string(payload + 2, n - 2) : std::string());
      if (c.state != conn_state::ready || c.role == conn_role::churn) {
        fail(slot, res_.handshake_errors, why);
        return false;
      }
      ++res_.disconnects;
      note_error(why);
      queue_ws(slot, ws_close, payload, n >= 2 ? 2 : 0);
      c.close_sent = true;
      c.state = conn_state::closing;
      c.deadline = now_ + 2 * 1000000000ull;
      return false;  // nothing after a close frame counts
    }
    default:
      break;
  }
  return conns_[slot].alive();
}

void worker::on_json(uint32_t slot, const char* p, std::size_t n) {
  if (n >= 11 && std::memcmp(p, "{\"op\":\"msg\"", 11) == 0) {
    on_delivery(slot, p, n);
    return;
  }
  std::string_view op = json_op(p, n);
  if (op == "msg") {
    on_delivery(slot, p, n);
    return;
  }
  uint64_t id = 0;
  bool has_id = json_u64(p, n, "\"id\"", id);
  if (op == "ok") {
    if (has_id && id == 1) {
      on_subscribed(slot, p, n);
    } else if (has_id && id >= 2) {
      on_ack(slot);
    }
  } else if (op == "err") {
    ++res_.err_frames;
    note_error("err frame: " + std::string(p, n < 200 ? n : 200));
    if (has_id && id == 1) {
      fail(slot, res_.handshake_errors, "subscription refused");
    } else if (has_id && id >= 2) {
      on_ack(slot);
      --res_.acked;  // counted as answered, not as acknowledged
    }
  }
}

bool worker::on_mqtt_packet(uint32_t slot, char* p, std::size_t header, std::size_t total) {
  conn& c = conns_[slot];
  auto type = static_cast<uint8_t>(static_cast<uint8_t>(p[0]) >> 4);
  auto flags = static_cast<uint8_t>(p[0] & 0x0f);
  char* body = p + header;
  std::size_t n = total - header;
  switch (type) {
    case mqtt_publish: {
      std::string_view topic;
      uint16_t packet_id = 0;
      const char* payload = nullptr;
      std::size_t size = 0;
      if (!mqtt_parse_publish(flags, body, n, topic, packet_id, payload, size)) {
        fail(slot, res_.handshake_errors, "malformed PUBLISH");
        return false;
      }
      if (((flags >> 1) & 3) == 1) {
        char ack[4];
        mqtt_write_puback(ack, packet_id);
        queue_mqtt(slot, ack, 4);
      }
      on_delivery(slot, payload, size);
      break;
    }
    case mqtt_connack:
      if (c.state != conn_state::mqtt_wait || n < 2 || body[1] != 0) {
        fail(slot, res_.handshake_errors,
             "CONNACK refused, code " + std::to_string(n >= 2 ? body[1] : -1));
        return false;
      }
      if (c.role == conn_role::churn) {
        res_.handshake.record(now_ - c.t_start);
      }
      if (c.role == conn_role::pub) {
        c.state = conn_state::ready;
        settle_ready(slot);
      } else {
        queue_subscribe(slot);
      }
      break;
    case mqtt_suback:
      if (n < 3 || static_cast<uint8_t>(body[2]) == 0x80) {
        fail(slot, res_.handshake_errors, "SUBACK refused the subscription");
        return false;
      }
      on_subscribed(slot, nullptr, 0);
      break;
    case mqtt_puback:
      on_ack(slot);
      break;
    case mqtt_pingresp:
      break;
    default:
      break;
  }
  return conns_[slot].alive();
}

void worker::on_session_open(uint32_t slot) {
  conn& c = conns_[slot];
  if (opt_.proto != proto_kind::wsagent) {
    char pkt[128];
    std::string id = "lg-" + std::to_string(getpid()) + "-" + std::to_string(slot) + "-" +
                     std::to_string(c.gen);
    char* end = mqtt_write_connect(pkt, id, static_cast<uint16_t>(opt_.keepalive_s), true);
    c.state = conn_state::mqtt_wait;
    queue_mqtt(slot, pkt, static_cast<std::size_t>(end - pkt));
    return;
  }
  if (c.role == conn_role::churn) {
    res_.handshake.record(now_ - c.t_start);
  }
  if (c.role == conn_role::pub) {
    c.state = conn_state::ready;
    settle_ready(slot);
    return;
  }
  queue_subscribe(slot);
}

void worker::queue_subscribe(uint32_t slot) {
  conn& c = conns_[slot];
  c.state = conn_state::subscribing;
  const std::string& tag = tag_names_[c.tag];
  if (opt_.proto != proto_kind::wsagent) {
    std::string pkt(mqtt_subscribe_size(tag.size()), '\0');
    char* end = mqtt_write_subscribe(pkt.data(), 1, tag, opt_.qos);
    queue_mqtt(slot, pkt.data(), static_cast<std::size_t>(end - pkt.data()));
    return;
  }
  std::string msg = "{\"op\":\"sub\",\"id\":1,\"tags\":[\"" + tag + "\"]";
  if (c.role == conn_role::churn) {
    c.replay_expected = last_seq_[c.tag];  // remembered `since`, used by on_subscribed
    msg += ",\"since\":{\"" + tag + "\":" + std::to_string(last_seq_[c.tag]) + "}";
  }
  msg += "}";
  queue_ws(slot, ws_text, msg.data(), msg.size());
}

void worker::on_subscribed(uint32_t slot, const char* ok, std::size_t n) {
  conn& c = conns_[slot];
  if (c.state != conn_state::subscribing) {
    return;
  }
  if (c.role != conn_role::churn) {
    c.state = conn_state::ready;
    if (c.role == conn_role::sub) {
      c.next_seq.reset(new uint32_t[seq_sources()]());
    }
    ++res_.subs_per_tag[c.tag];
    ++live_subs_[c.tag];
    c.live = true;
    settle_ready(slot);
    return;
  }
  res_.subscribe.record(now_ - c.t_start);
  uint64_t since = c.replay_expected;
  uint64_t top = 0;
  c.replay_expected = 0;
  if (ok != nullptr && json_u64(ok, n, "\"seq\"", top)) {
    if (top > last_seq_[c.tag]) {
      last_seq_[c.tag] = top;
    }
    bool gaps = std::string_view(ok, n).find("\"gaps\"") != std::string_view::npos;
    if (top > since && !gaps) {
      c.replay_expected = top - since;
    }
  }
  c.state = conn_state::ready;
  if (c.replay_got >= c.replay_expected) {
    begin_close(slot);
  }
}

void worker::on_ack(uint32_t slot) {
  conn& c = conns_[slot];
  if (c.acks_inflight > 0) {
    --c.acks_inflight;
  }
  ++res_.acked;
}

void worker::begin_close(uint32_t slot) {
  conn& c = conns_[slot];
  if (c.close_sent) {
    return;
  }
  c.close_sent = true;
  if (opt_.proto == proto_kind::mqtt || opt_.proto == proto_kind::mqtt_ws) {
    char pkt[2];
    mqtt_write_short(pkt, mqtt_disconnect);
    queue_mqtt(slot, pkt, 2);
  } else {
    const char code[2] = {static_cast<char>(1000 >> 8), static_cast<char>(1000 & 0xff)};
    queue_ws(slot, ws_close, code, 2);
  }
  c.state = conn_state::closing;
  c.deadline = now_ + 2 * 1000000000ull;
}

void worker::queue_ws(uint32_t slot, uint8_t opcode, const char* p, std::size_t n) {
  conn& c = conns_[slot];
  uint32_t mask = c.next_mask();
  char* w = c.pending.extend(ws_client_header_size(n) + n);
  std::size_t h = ws_write_header(w, opcode, n, mask);
  std::memcpy(w + h, p, n);
  ws_mask(w + h, n, mask);
  mark_dirty(slot);
}

void worker::queue_mqtt(uint32_t slot, const char* p, std::size_t n) {
  if (opt_.proto == proto_kind::mqtt_ws) {
    queue_ws(slot, ws_binary, p, n);
    return;
  }
  conns_[slot].pending.append(p, n);
  mark_dirty(slot);
}

}  // namespace wsa::loadgen
