// The receive path, once per frame, in one file so that the compiler inlines it whole.
// Deliveries laid out the way our own messages are (a whole text message
// {"op":"msg","tag":"<the subscriber's tag>","seq":N,"data":{"t":T,"i":I,"n":S,...; an MQTT
// QoS 0 PUBLISH whose payload starts {"t":T,"i":I,"n":S) are read and counted right where
// they lie in the receive buffer: no JSON parser, no search, no copy, no allocation. A wsagent
// frame is read from its end when --size fixes the body's length (read_msg_tail_stamp): only
// the stamp's three numbers are parsed, not the envelope.
// Everything else (control frames, acks, other layouts, churn replays) takes the general
// path of worker_proto.cpp, which ends in on_delivery for what is a delivery after all.
#include "mqtt_codec.h"
#include "payload.h"
#include "stream_feed.h"
#include "worker.h"

namespace wsa::loadgen {

inline void worker::count_delivery(conn& c, const stamp& s) {
  ++res_.received;
  uint64_t now = now_;
  last_delivery_ = now;
  if (now >= window_ && now < window_end_) {
    ++res_.delivered_window;
  }
  if (s.t >= window_ && s.t < window_end_) {
    ++res_.received_window;
    res_.latency.record(now > s.t ? now - s.t : 0);
  }
  if (s.publisher < local_pub_.size() && local_pub_[s.publisher] >= 0) {
    publisher& pb = pubs_[static_cast<std::size_t>(local_pub_[s.publisher])];
    if (pb.owed > 0) {
      --pb.owed;
    }
  }
  if (c.next_seq && s.publisher < seq_sources()) {
    uint32_t& next = c.next_seq[s.publisher];
    if (s.seq == next) {
      ++next;
    } else if (s.seq > next) {
      res_.gaps += s.seq - next;
      next = s.seq + 1;
    } else {
      ++res_.reordered;
    }
  }
}

void worker::on_delivery(uint32_t slot, const char* p, std::size_t n) {
  conn& c = conns_[slot];
  if (c.role == conn_role::churn) {
    ++res_.received;
    ++res_.replayed;
    ++c.replay_got;
    if (c.state == conn_state::ready && c.replay_got >= c.replay_expected) {
      begin_close(slot);
    }
    return;
  }
  stamp s;
  bool parsed = opt_.proto == proto_kind::wsagent ? parse_msg_stamp(p, n, msg_prefix_[c.tag], s)
                                                 : parse_data_stamp(p, n, s);
  if (!parsed) {
    ++res_.received;
    ++res_.malformed;
    return;
  }
  count_delivery(c, s);
}

// MQTT packets from a byte stream (TCP, or the messages of a WebSocket): a QoS 0 PUBLISH of
// ours is counted here, any other packet goes to on_mqtt_packet.
bool worker::on_mqtt_stream(uint32_t slot, byte_buffer& carry, char* data, std::size_t len) {
  conn& c = conns_[slot];
  auto size_of = [](const char* p, std::size_t n, std::size_t& header, std::size_t& total) {
    bool malformed = false;
    if (!mqtt_packet_size(p, n, header, total, malformed)) {
      return malformed ? -1 : 0;
    }
    return 1;
  };
  auto on_packet = [this, slot, &c](char* p, std::size_t header, std::size_t total) {
    const char* payload = nullptr;
    std::size_t n = 0;
    stamp s;
    if (c.role != conn_role::churn && mqtt_qos0_payload(p, header, total, payload, n) &&
        read_data_stamp(payload, n, s)) {
      count_delivery(c, s);
      return true;
    }
    return on_mqtt_packet(slot, p, header, total);
  };
  return feed_units(carry, data, len, size_of, on_packet);
}

// MQTT over WebSocket should use binary messages; text ones are read the same way.
inline bool worker::on_ws_message(uint32_t slot, uint8_t /*opcode*/, char* p, std::size_t n) {
  conn& c = conns_[slot];
  if (opt_.proto == proto_kind::wsagent) {
    stamp s;
    if (c.role != conn_role::churn && (read_msg_tail_stamp(p, n, tail_data_len_, s) ||
                                       read_msg_stamp(p, n, msg_prefix_[c.tag], s))) {
      count_delivery(c, s);
      return true;
    }
    on_json(slot, p, n);
  } else if (!on_mqtt_stream(slot, c.inner, p, n) && conns_[slot].alive() &&
             conns_[slot].state != conn_state::closing) {
    fail(slot, res_.handshake_errors, "malformed MQTT packet");
  }
  return conns_[slot].alive();
}

struct worker::ws_events {
  worker& w;
  uint32_t slot;
  bool message(uint8_t opcode, char* p, std::size_t n) {
    return w.on_ws_message(slot, opcode, p, n);
  }
  bool control(uint8_t opcode, char* p, std::size_t n) {
    return w.on_ws_control(slot, opcode, p, n);
  }
  void error(const char* why) { w.fail(slot, w.res_.handshake_errors, why); }
};

void worker::on_stream(uint32_t slot, char* data, std::size_t len) {
  conn& c = conns_[slot];
  if (c.state == conn_state::http) {
    on_http(slot, data, len);
    return;
  }
  bool ok;
  if (opt_.proto == proto_kind::mqtt) {
    ok = on_mqtt_stream(slot, c.carry, data, len);
  } else {
    ws_events events{*this, slot};
    ok = c.ws.feed(c.carry, data, len, events);
  }
  if (!ok && conns_[slot].alive() && conns_[slot].state != conn_state::closing) {
    fail(slot, res_.handshake_errors, "malformed or oversized frame from server");
  }
}

}  // namespace wsa::loadgen
