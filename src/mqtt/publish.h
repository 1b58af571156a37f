// PUBLISH from the server, encoded once per message and protocol version and shared by
// every subscriber of that version (as WebSocket `msg` frames are, docs/style.md guideline 4).
//
// A PUBLISH is   [fixed header][topic][packet id if QoS > 0][5.0: property length, properties]
//                [payload]
// Only a few of its bytes differ between subscribers: the first byte (DUP, QoS, RETAIN), the
// remaining length (2 bytes more with a packet id), the packet id, and in 5.0 the topic alias
// and the per-delivery properties (subscription identifiers, the message expiry interval
// left). Properties may come in any order, so the per-delivery ones are written first and
// the forwarded ones (user properties, content type, ... copied from the publisher's packet)
// last, right before the payload. That splits every PUBLISH into
//
//   head  (per delivery, small: at most 1+4+2+topic+2+4+3+5+5*ids bytes), then
//   body  (shared: 5.0 forwarded properties, then the payload; 3.1.1 the payload alone).
//
// The shared frame is the whole QoS 0 PUBLISH with no per-delivery property: its last
// body_size() bytes are the body. A subscriber that takes the message as it is (QoS 0, no
// retain flag, no alias, no subscription identifier, no expiry) gets a reference to the
// shared frame; any other gets its own head (write_head) followed by a reference to the body
// slice of the shared frame: two iovecs, no copy of the payload. A head for QoS 1 can also be
// made once per message and copied per subscriber with only its packet id and DUP flag
// patched (patch_head), the cheapest path for QoS 1 fan-out. Over WebSocket (subprotocol
// mqtt) the WebSocket frame header depends only on the total size, so it can be put in front
// of the shared frame, or of each head, the same way.
//
// Pure: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "mqtt/reason.h"

namespace wsa::mqtt {

/// What is the same for every delivery of one message.
struct outgoing_message {
  std::string_view topic;  ///< the MQTT topic name (1..65535 bytes)
  std::string_view payload;
  /// 5.0 only: forwarded properties, as copy_forwarded_properties wrote them (may be empty).
  std::string_view forwarded_properties;
};

/// What one delivery adds.
struct delivery {
  uint8_t qos = 0;
  uint16_t packet_id = 0;  ///< required when qos > 0
  bool dup = false;
  bool retain = false;
  // 5.0 only:
  uint16_t topic_alias = 0;  ///< 0: none
  bool omit_topic = false;   ///< the alias is already known to the client: no topic
  bool has_message_expiry = false;
  uint32_t message_expiry_interval = 0;  ///< seconds left
  std::span<const uint32_t> subscription_ids;
};

/// Bytes of the shared body: the payload, and in 5.0 the forwarded properties before it.
std::size_t body_size(protocol level, const outgoing_message& m);

/// Size of the shared frame (a complete QoS 0 PUBLISH with no per-delivery property).
std::size_t shared_frame_size(protocol level, const outgoing_message& m);
/// Writes it; returns the end. The body is its last body_size() bytes.
char* write_shared_frame(char* out, protocol level, const outgoing_message& m);

/// True when a delivery can use the shared frame as it is.
bool uses_shared_frame(const delivery& d);

/// Size of the head of a delivery (all of the PUBLISH before the body).
std::size_t head_size(protocol level, const outgoing_message& m, const delivery& d);
/// Writes the head; returns its end. The packet is complete once the body follows it.
char* write_head(char* out, protocol level, const outgoing_message& m, const delivery& d);

/// Largest head write_head can make for a topic of `topic_size` bytes and `ids`
/// subscription identifiers: a bound for buffers on the stack or in a slab.
constexpr std::size_t max_head_size(std::size_t topic_size, std::size_t ids = 0) {
  return 1 + 4 + 2 + topic_size + 2 + 4 + 3 + 5 + 5 * ids;
}

/// Offset of the packet id in a head with qos > 0 (just after the topic).
std::size_t packet_id_offset(protocol level, const outgoing_message& m, const delivery& d);

/// Sets the packet id and the DUP flag of a QoS > 0 head written by write_head for the same
/// message (its other bytes stay right for any delivery with the same qos, retain, alias
/// and properties).
void patch_head(char* head, std::size_t packet_id_at, uint16_t packet_id, bool dup);

}  // namespace wsa::mqtt
