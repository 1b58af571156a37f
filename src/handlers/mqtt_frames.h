// MQTT bytes on the wire for the MQTT handler: every packet the server sends, over TCP as it
// is or over WebSocket (subprotocol mqtt) inside one binary frame, and the PUBLISH of a
// message, encoded once per message, protocol version and transport and cached on the
// message (as ws/msg_frame.h caches the WebSocket `msg` frame), so that every QoS 0
// subscriber of that kind on the shard gets the same frame by reference.
// Shard thread only (the message's).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "broker/message.h"
#include "mqtt/publish.h"
#include "mqtt/reason.h"
#include "net/frame.h"

namespace wsa {

/// How a connection carries MQTT: level (3.1.1 or 5.0) and transport.
struct mqtt_wire {
  mqtt::protocol level = mqtt::protocol::v311;
  bool over_ws = false;
};

/// A frame of `size` packet bytes (plus, over WebSocket, the binary frame header in front);
/// returns it with `body` pointing where the packet goes.
frame* allocate_mqtt_frame(bool over_ws, std::size_t size, char*& body);

/// Writes a packet with a sizer and a writer (the encoder.h pairs) into a new frame.
template <class Write>
frame* make_mqtt_frame(bool over_ws, std::size_t size, Write&& write) {
  char* body = nullptr;
  frame* f = allocate_mqtt_frame(over_ws, size, body);
  write(body);
  return f;
}

/// What a message looks like to MQTT: its topic, payload and forwarded 5.0 properties (from
/// its metadata; false: the tag has no topic). `scratch` holds the payload when it is
/// neither a view of the message's data nor of its cached body.
bool mqtt_view(const message& m, std::string_view forwarded, std::string& topic,
               std::string& scratch, mqtt::outgoing_message& out);

/// The shared QoS 0 PUBLISH of `m` for `wire` (cached on the message; no reference is handed
/// over). `om` must be mqtt_view's answer for `m`.
frame* mqtt_shared_publish(message& m, const mqtt_wire& wire, const mqtt::outgoing_message& om);

/// The shared body of `m`'s PUBLISH at `level` (the payload; in 5.0 the forwarded
/// properties first): cached on the message, the same bytes for every transport (and both
/// levels when there is no property to forward).
frame* mqtt_shared_body(message& m, const mqtt::outgoing_message& om, mqtt::protocol level);

/// The head of one delivery's PUBLISH (QoS 1, or per-delivery properties), to be followed
/// on the wire by mqtt_shared_body: over WebSocket it starts with the binary frame header
/// of the whole packet. The payload is never copied per delivery.
frame* mqtt_own_head(const mqtt_wire& wire, const mqtt::outgoing_message& om,
                     const mqtt::delivery& d);

}  // namespace wsa
