#include "handlers/mqtt_frames.h"

#include <algorithm>

#include "mqtt/payload.h"
#include "mqtt/topic.h"
#include "ws/frame.h"

namespace wsa {
namespace {

// One encoding slot per protocol version and transport for the whole QoS 0 PUBLISH, and one
// for the body that per-delivery heads share: the payload, and for 5.0 when the publisher
// sent properties to forward, those properties then the payload (ws/msg_frame.h has slot 0).
constexpr encoding_slot mqtt_body_encoding = 5;
constexpr encoding_slot mqtt_v5_body_encoding = 6;

bool separate_v5_body(mqtt::protocol level, const mqtt::outgoing_message& om) {
  return level == mqtt::protocol::v5 && !om.forwarded_properties.empty();
}

encoding_slot slot_of(const mqtt_wire& wire) {
  const unsigned base = wire.over_ws ? 3 : 1;
  return static_cast<encoding_slot>(base + (wire.level == mqtt::protocol::v5 ? 1 : 0));
}

}  // namespace

frame* allocate_mqtt_frame(bool over_ws, std::size_t size, char*& body) {
  if (!over_ws) {
    frame* f = frame::allocate(size);
    body = f->data();
    return f;
  }
  const std::size_t header = frame_header_size(size);
  frame* f = frame::allocate(header + size);
  write_frame_header(f->data(), ws_opcode::binary, size);
  body = f->data() + header;
  return f;
}

bool mqtt_view(const message& m, std::string_view forwarded, std::string& topic,
               std::string& scratch, mqtt::outgoing_message& out) {
  if (!mqtt::tag_to_topic(m.tag(), topic)) {
    return false;
  }
  out.topic = topic;
  out.forwarded_properties = forwarded;
  // The payload was made once already if a body is cached (a QoS 1 delivery released from
  // a session's queue comes back here long after its message's other deliveries).
  if (const frame* body = m.encoded(mqtt_body_encoding)) {
    out.payload = {body->data(), body->size()};
  } else if (const frame* v5_body = m.encoded(mqtt_v5_body_encoding)) {
    out.payload = std::string_view(v5_body->data(), v5_body->size()).substr(forwarded.size());
  } else {
    out.payload = mqtt::data_to_payload(m.data(), scratch);
  }
  return true;
}

frame* mqtt_shared_publish(message& m, const mqtt_wire& wire, const mqtt::outgoing_message& om) {
  const encoding_slot slot = slot_of(wire);
  if (frame* cached = m.encoded(slot)) {
    return cached;
  }
  frame* f = make_mqtt_frame(wire.over_ws, mqtt::shared_frame_size(wire.level, om),
                             [&](char* out) { mqtt::write_shared_frame(out, wire.level, om); });
  m.set_encoded(slot, f);
  f->unref();  // the message holds it
  return f;
}

frame* mqtt_shared_body(message& m, const mqtt::outgoing_message& om, mqtt::protocol level) {
  const bool v5 = separate_v5_body(level, om);
  const encoding_slot slot = v5 ? mqtt_v5_body_encoding : mqtt_body_encoding;
  if (frame* cached = m.encoded(slot)) {
    return cached;
  }
  frame* f = frame::allocate(mqtt::body_size(level, om));
  char* out = f->data();
  if (v5) {
    out = std::copy(om.forwarded_properties.begin(), om.forwarded_properties.end(), out);
  }
  std::copy(om.payload.begin(), om.payload.end(), out);
  m.set_encoded(slot, f);
  f->unref();  // the message holds it
  return f;
}

frame* mqtt_own_head(const mqtt_wire& wire, const mqtt::outgoing_message& om,
                     const mqtt::delivery& d) {
  const std::size_t head = mqtt::head_size(wire.level, om, d);
  const std::size_t body = mqtt::body_size(wire.level, om);
  const std::size_t ws_header = wire.over_ws ? frame_header_size(head + body) : 0;
  frame* f = frame::allocate(ws_header + head);
  if (wire.over_ws) {
    write_frame_header(f->data(), ws_opcode::binary, head + body);
  }
  mqtt::write_head(f->data() + ws_header, wire.level, om, d);
  return f;
}

}  // namespace wsa
