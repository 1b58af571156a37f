// Two sinks for the encoders: one counts bytes, one writes them. Each packet's body is
// written by one template run over a sink, so a packet's size and its bytes come from the
// same code and cannot disagree. Internal to the encoders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mqtt/properties.h"
#include "mqtt/wire.h"

namespace wsa::mqtt::detail {

struct size_sink {
  std::size_t size = 0;
  void u8(uint8_t) { size += 1; }
  void u16(uint16_t) { size += 2; }
  void u32(uint32_t) { size += 4; }
  void varint(uint32_t v) { size += varint_size(v); }
  void bytes(std::string_view s) { size += s.size(); }
  void string(std::string_view s) { size += 2 + s.size(); }
};

struct write_sink {
  char* p;
  void u8(uint8_t v) { p = write_u8(p, v); }
  void u16(uint16_t v) { p = write_u16(p, v); }
  void u32(uint32_t v) { p = write_u32(p, v); }
  void varint(uint32_t v) { p = write_varint(p, v); }
  void bytes(std::string_view s) { p = write_bytes(p, s); }
  void string(std::string_view s) { p = write_string(p, s); }
};

template <class Sink>
void prop_u8(Sink& s, property_id id, uint8_t v) {
  s.u8(static_cast<uint8_t>(id));
  s.u8(v);
}
template <class Sink>
void prop_u16(Sink& s, property_id id, uint16_t v) {
  s.u8(static_cast<uint8_t>(id));
  s.u16(v);
}
template <class Sink>
void prop_u32(Sink& s, property_id id, uint32_t v) {
  s.u8(static_cast<uint8_t>(id));
  s.u32(v);
}
template <class Sink>
void prop_varint(Sink& s, property_id id, uint32_t v) {
  s.u8(static_cast<uint8_t>(id));
  s.varint(v);
}
template <class Sink>
void prop_string(Sink& s, property_id id, std::string_view v) {
  s.u8(static_cast<uint8_t>(id));
  s.string(v);
}

/// Writes a property block (length, then what `props(sink)` writes).
template <class Sink, class Props>
void property_block(Sink& s, Props&& props) {
  size_sink counted;
  props(counted);
  s.varint(static_cast<uint32_t>(counted.size));
  props(s);
}

/// Size of a whole packet whose body `body(sink)` writes; `body_size` receives the body's.
template <class Body>
std::size_t packet_size(Body&& body, uint32_t& body_size) {
  size_sink counted;
  body(counted);
  body_size = static_cast<uint32_t>(counted.size);
  return 1 + varint_size(body_size) + counted.size;
}

/// Writes a whole packet: the fixed header with `first_byte`, then the body.
template <class Body>
char* write_packet(char* out, uint8_t first_byte, Body&& body) {
  uint32_t body_size = 0;
  packet_size(body, body_size);
  write_sink w{write_varint(write_u8(out, first_byte), body_size)};
  body(w);
  return w.p;
}

}  // namespace wsa::mqtt::detail
