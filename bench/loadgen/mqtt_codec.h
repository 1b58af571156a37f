// MQTT 3.1.1 client packets for the load generator: the few the benchmark sends (CONNECT,
// SUBSCRIBE, PUBLISH QoS 0/1, PUBACK, PINGREQ, DISCONNECT) and the framing of what the
// broker sends back. Writers produce bytes into caller memory so the same bytes can go to
// TCP or inside WebSocket binary frames. Pure functions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsa::loadgen {

constexpr uint8_t mqtt_connect = 1;
constexpr uint8_t mqtt_connack = 2;
constexpr uint8_t mqtt_publish = 3;
constexpr uint8_t mqtt_puback = 4;
constexpr uint8_t mqtt_subscribe = 8;
constexpr uint8_t mqtt_suback = 9;
constexpr uint8_t mqtt_pingreq = 12;
constexpr uint8_t mqtt_pingresp = 13;
constexpr uint8_t mqtt_disconnect = 14;

constexpr uint32_t mqtt_max_remaining = 268435455;  // 4-byte remaining length

std::size_t mqtt_varint_size(uint32_t v);
char* mqtt_write_varint(char* out, uint32_t v);

// Framing of one packet at p[0..n): returns true and sets header/total sizes when the
// fixed header is complete; false when more bytes are needed; `malformed` on a bad length.
bool mqtt_packet_size(const char* p, std::size_t n, std::size_t& header, std::size_t& total,
                      bool& malformed);

// Upper bound of bytes the writers below need.
inline std::size_t mqtt_connect_size(std::size_t client_id) { return 5 + 10 + 2 + client_id; }
inline std::size_t mqtt_subscribe_size(std::size_t topic) { return 5 + 2 + 2 + topic + 1; }

// Each writer returns the end of what it wrote.
char* mqtt_write_connect(char* out, std::string_view client_id, uint16_t keepalive_s,
                         bool clean_session);
char* mqtt_write_subscribe(char* out, uint16_t packet_id, std::string_view topic, uint8_t qos);
// Two-byte packets: PUBACK (with id), PINGREQ, DISCONNECT.
char* mqtt_write_puback(char* out, uint16_t packet_id);
char* mqtt_write_short(char* out, uint8_t type);

// PUBLISH: total size, and the header (fixed header, topic, packet id when qos > 0) after
// which exactly `payload` bytes must follow.
std::size_t mqtt_publish_size(std::size_t topic, uint8_t qos, std::size_t payload);
char* mqtt_write_publish_head(char* out, std::string_view topic, uint8_t qos,
                              uint16_t packet_id, std::size_t payload);

// Splits a received PUBLISH body (after the fixed header) into topic and payload.
bool mqtt_parse_publish(uint8_t flags, const char* body, std::size_t n, std::string_view& topic,
                        uint16_t& packet_id, const char*& payload, std::size_t& payload_size);

// The payload of a QoS 0 PUBLISH without DUP or RETAIN (what a broker forwards to a QoS 0
// subscriber) in the packet p[0..total) whose fixed header has `header` bytes; false for any
// other packet. Inline: the receive path asks it once per packet.
inline bool mqtt_qos0_payload(const char* p, std::size_t header, std::size_t total,
                              const char*& payload, std::size_t& n) {
  if (static_cast<uint8_t>(p[0]) != (mqtt_publish << 4) || total - header < 2) {
    return false;
  }
  const char* body = p + header;
  std::size_t at = 2 + ((static_cast<std::size_t>(static_cast<uint8_t>(body[0])) << 8) |
                        static_cast<uint8_t>(body[1]));
  if (at > total - header) {
    return false;
  }
  payload = body + at;
  n = total - header - at;
  return true;
}

// Topic for a tag per docs/protocol.md: '.' becomes '/'.
void tag_to_topic(char* s, std::size_t n);

}  // namespace wsa::loadgen
