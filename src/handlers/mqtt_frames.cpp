#include "handlers/mqtt_frames.h"

#include "mqtt/payload.h"
#include "mqtt/topic.h"
#include "ws/frame.h"

namespace wsa {
namespace {

// One encoding slot per protocol version and transport for the whole QoS 0 PUBLISH, and one
// for the body that per-delivery heads share (ws/msg_frame.h has slot 0).
constexpr encoding_slot mqtt_body_encoding = 5;

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

bool mqtt_view(const message& m, std::string& topic, std::string& scratch,
               mqtt::outgoing_message& out) {
  if (!mqtt::tag_to_topic(m.tag(), topic)) {
    return false;
  }
  out.topic = topic;
  out.payload = mqtt::data_to_payload(m.data(), scratch);
  out.forwarded_properties = {};
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

frame* mqtt_shared_body(message& m, const mqtt::outgoing_message& om) {
  if (frame* cached = m.encoded(mqtt_body_encoding)) {
    return cached;
  }
  frame* f = frame::make_raw(om.payload);  // forwarded properties: none carried yet
  m.set_encoded(mqtt_body_encoding, f);
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
