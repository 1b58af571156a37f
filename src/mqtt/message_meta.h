// What an MQTT publisher's message carries for MQTT subscribers besides its tag and data,
// kept with the message by every broker as opaque metadata (broker/message.h `meta`):
//
//   byte 0     flags: bits 0-1 QoS, bit 2 retain, bit 3 expiry, bit 4 publisher (5-7: 0)
//   8 bytes    the publisher's session hash (big-endian), when bit 4 is set: No Local
//   4 bytes    the Message Expiry Interval in seconds (big-endian), when bit 3 is set
//   the rest   the forwarded 5.0 properties (payload format indicator, content type,
//              response topic, correlation data, user properties), MQTT's own encoding,
//              exactly the bytes that go before the payload of every 5.0 delivery
//
// A message without metadata (a WebSocket `pub`, the HTTP API) reads as QoS 1, no retain
// flag, no expiry, no publisher and no properties. Metadata comes back from Redis written by
// other nodes: read_message_meta checks its shape before anything is sent from it.
// Pure: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsa::mqtt {

struct message_meta {
  uint8_t qos = 1;
  bool retain = false;
  uint32_t expiry_s = 0;       ///< Message Expiry Interval; 0: none
  uint64_t publisher = 0;      ///< the publisher's session_hash; 0: not an MQTT publisher
  std::string_view forwarded;  ///< forwarded 5.0 properties (may be empty)
};

/// Bytes of metadata besides the forwarded properties, at most.
inline constexpr std::size_t message_meta_header = 13;

/// A session key's 64-bit hash, the same on every node (FNV-1a; never 0).
uint64_t session_hash(std::string_view session_key);

/// Appends the encoding of `m` to `out` (cleared first).
void write_message_meta(const message_meta& m, std::string& out);
/// The same with the forwarded properties copied straight from `properties` (a PUBLISH's or
/// will's whole property block; m.forwarded unused): one copy of them, not two.
void write_message_meta(const message_meta& m, std::string_view properties, std::string& out);

/// Reads metadata; an empty `meta` gives the defaults. False when malformed (then `out`
/// holds the defaults).
bool read_message_meta(std::string_view meta, message_meta& out);

}  // namespace wsa::mqtt
