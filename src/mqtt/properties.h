// MQTT 5.0 properties (section 2.2.2): their identifiers, data types, the packets each may
// appear in, the rules on repeats and values, and reading a property block into a flat
// struct of views into the packet (no allocation). Writers for the properties a server sends
// are in encoder.h. Pure: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mqtt/reason.h"
#include "mqtt/wire.h"

namespace wsa::mqtt {

enum class property_id : uint8_t {
  payload_format_indicator = 0x01,
  message_expiry_interval = 0x02,
  content_type = 0x03,
  response_topic = 0x08,
  correlation_data = 0x09,
  subscription_identifier = 0x0b,
  session_expiry_interval = 0x11,
  assigned_client_identifier = 0x12,
  server_keep_alive = 0x13,
  authentication_method = 0x15,
  authentication_data = 0x16,
  request_problem_information = 0x17,
  will_delay_interval = 0x18,
  request_response_information = 0x19,
  response_information = 0x1a,
  server_reference = 0x1c,
  reason_string = 0x1f,
  receive_maximum = 0x21,
  topic_alias_maximum = 0x22,
  topic_alias = 0x23,
  maximum_qos = 0x24,
  retain_available = 0x25,
  user_property = 0x26,
  maximum_packet_size = 0x27,
  wildcard_subscription_available = 0x28,
  subscription_identifier_available = 0x29,
  shared_subscription_available = 0x2a,
};

enum class property_type : uint8_t { none, byte, two_byte, four_byte, varint, utf8, binary, pair };

/// Where a property block sits. PUBACK, PUBREC, PUBREL and PUBCOMP share `ack`.
enum class property_context : uint8_t {
  connect,
  will,
  publish,
  ack,
  subscribe,
  unsubscribe,
  disconnect,
  auth,
  connack,
  suback,
  unsuback,
};

/// The data type of a property identifier; `none` for a byte that identifies no property.
property_type type_of(uint8_t id);

/// May `id` appear in a block of this context (MQTT 5.0 table 2-4)?
bool allowed_in(uint8_t id, property_context ctx);

/// A decoded property block. Values are meaningful when has() says so; the defaults are the
/// specification's meaning of an absent property where it has one. Views point into the
/// packet that was read.
struct properties {
  uint64_t present = 0;  ///< bit `id` set for each identifier seen
  std::string_view raw;  ///< the block's bytes without its length, for iteration and copying

  uint8_t payload_format_indicator = 0;
  uint32_t message_expiry_interval = 0;
  std::string_view content_type;
  std::string_view response_topic;
  std::string_view correlation_data;
  uint32_t subscription_identifier = 0;
  uint32_t session_expiry_interval = 0;
  std::string_view authentication_method;
  std::string_view authentication_data;
  uint8_t request_problem_information = 1;
  uint8_t request_response_information = 0;
  uint32_t will_delay_interval = 0;
  std::string_view reason_string;
  std::string_view server_reference;
  uint16_t receive_maximum = 65535;
  uint16_t topic_alias_maximum = 0;
  uint16_t topic_alias = 0;
  uint32_t maximum_packet_size = 0;  ///< 0: not given (the protocol's own limit applies)
  uint32_t user_property_count = 0;

  bool has(property_id id) const { return (present >> static_cast<uint8_t>(id)) & 1; }
};

/// Why a property block was refused: malformed_packet (bad type, truncated, not allowed in
/// this packet, bad UTF-8) or protocol_error (a repeat, a forbidden value).
struct property_error {
  reason code = reason::malformed_packet;
  const char* what = "";
};

/// Reads a property block (its Variable Byte Integer length, then the properties) in
/// context `ctx`. On failure `out` is unspecified.
bool read_properties(reader& r, property_context ctx, properties& out, property_error& err);

/// Calls f(id, bytes) for each property of a block, in order; `bytes` is the whole property,
/// identifier included. Returns false, having stopped there, at a property that is unknown
/// or cut short (never in a block read_properties accepted; possible in bytes from elsewhere).
template <class F>
bool for_each_property(std::string_view raw, F&& f) {
  reader r(raw);
  while (!r.done()) {
    const std::size_t start = raw.size() - r.left();
    uint8_t id = 0;
    r.u8(id);
    std::string_view skip;
    uint32_t v = 0;
    bool whole = false;
    switch (type_of(id)) {
      case property_type::byte:
        whole = r.bytes(1, skip);
        break;
      case property_type::two_byte:
        whole = r.bytes(2, skip);
        break;
      case property_type::four_byte:
        whole = r.bytes(4, skip);
        break;
      case property_type::varint:
        whole = r.varint(v);
        break;
      case property_type::utf8:
      case property_type::binary:
        whole = r.binary(skip);
        break;
      case property_type::pair:
        whole = r.binary(skip) && r.binary(skip);
        break;
      case property_type::none:
        break;
    }
    if (!whole) {
      return false;
    }
    f(id, raw.substr(start, raw.size() - r.left() - start));
  }
  return true;
}

/// Calls f(name, value) for each User Property of a block read by read_properties, in order.
template <class F>
void for_each_user_property(std::string_view raw, F&& f) {
  for_each_property(raw, [&](uint8_t id, std::string_view bytes) {
    if (id == static_cast<uint8_t>(property_id::user_property)) {
      reader r(bytes.substr(1));
      std::string_view name;
      std::string_view value;
      r.binary(name);
      r.binary(value);
      f(name, value);
    }
  });
}

/// Is `id` one a server forwards to subscribers unchanged (below)?
bool forwarded_property(uint8_t id);

/// Size of the properties of `raw` (a block read in the publish or will context) that a
/// server forwards to subscribers unchanged: payload format indicator, content type,
/// response topic, correlation data and user properties, in their order. Topic alias,
/// subscription identifiers and the message expiry interval are per delivery.
std::size_t forwarded_properties_size(std::string_view raw);

/// Copies those properties, byte for byte, to `out`; returns the end.
char* copy_forwarded_properties(std::string_view raw, char* out);

}  // namespace wsa::mqtt
