// The property table (MQTT 5.0 section 2.2.2.2, table 2-4) and block reading. See properties.h.
#include "mqtt/properties.h"

#include <array>

namespace wsa::mqtt {
namespace {

constexpr uint16_t in(property_context c) { return uint16_t{1} << static_cast<uint8_t>(c); }

struct property_info {
  property_type type = property_type::none;
  uint16_t contexts = 0;  // bit per property_context
};

constexpr std::array<property_info, 0x2b> make_table() {
  using c = property_context;
  using t = property_type;
  std::array<property_info, 0x2b> table{};
  const uint16_t message = in(c::publish) | in(c::will);
  const uint16_t acks = in(c::ack) | in(c::connack) | in(c::suback) | in(c::unsuback) |
                        in(c::disconnect) | in(c::auth);
  table[0x01] = {t::byte, message};
  table[0x02] = {t::four_byte, message};
  table[0x03] = {t::utf8, message};
  table[0x08] = {t::utf8, message};
  table[0x09] = {t::binary, message};
  table[0x0b] = {t::varint, uint16_t(in(c::publish) | in(c::subscribe))};
  table[0x11] = {t::four_byte, uint16_t(in(c::connect) | in(c::connack) | in(c::disconnect))};
  table[0x12] = {t::utf8, in(c::connack)};
  table[0x13] = {t::two_byte, in(c::connack)};
  table[0x15] = {t::utf8, uint16_t(in(c::connect) | in(c::connack) | in(c::auth))};
  table[0x16] = {t::binary, uint16_t(in(c::connect) | in(c::connack) | in(c::auth))};
  table[0x17] = {t::byte, in(c::connect)};
  table[0x18] = {t::four_byte, in(c::will)};
  table[0x19] = {t::byte, in(c::connect)};
  table[0x1a] = {t::utf8, in(c::connack)};
  table[0x1c] = {t::utf8, uint16_t(in(c::connack) | in(c::disconnect))};
  table[0x1f] = {t::utf8, acks};
  table[0x21] = {t::two_byte, uint16_t(in(c::connect) | in(c::connack))};
  table[0x22] = {t::two_byte, uint16_t(in(c::connect) | in(c::connack))};
  table[0x23] = {t::two_byte, in(c::publish)};
  table[0x24] = {t::byte, in(c::connack)};
  table[0x25] = {t::byte, in(c::connack)};
  table[0x26] = {t::pair, 0x7ff};  // every context
  table[0x27] = {t::four_byte, uint16_t(in(c::connect) | in(c::connack))};
  table[0x28] = {t::byte, in(c::connack)};
  table[0x29] = {t::byte, in(c::connack)};
  table[0x2a] = {t::byte, in(c::connack)};
  return table;
}

constexpr auto table = make_table();

bool fail(property_error& err, reason code, const char* what) {
  err.code = code;
  err.what = what;
  return false;
}

bool is_boolean_byte(uint8_t id) {
  return id == 0x01 || id == 0x17 || id == 0x19;  // payload format, request problem/response
}

// Stores one property's value; false (with err) for a value the specification forbids.
bool store(properties& p, property_id id, uint32_t number, std::string_view text,
           property_context ctx, property_error& err) {
  switch (id) {
    case property_id::payload_format_indicator:
      p.payload_format_indicator = static_cast<uint8_t>(number);
      break;
    case property_id::message_expiry_interval:
      p.message_expiry_interval = number;
      break;
    case property_id::content_type:
      p.content_type = text;
      break;
    case property_id::response_topic:
      if (text.empty() || has_wildcard(text)) {
        return fail(err, reason::protocol_error, "response topic is not a topic name");
      }
      p.response_topic = text;
      break;
    case property_id::correlation_data:
      p.correlation_data = text;
      break;
    case property_id::subscription_identifier:
      if (ctx == property_context::publish) {  // [MQTT-3.3.4-6]: only servers send it
        return fail(err, reason::protocol_error, "subscription identifier in a client PUBLISH");
      }
      if (number == 0) {
        return fail(err, reason::protocol_error, "subscription identifier 0");
      }
      p.subscription_identifier = number;
      break;
    case property_id::session_expiry_interval:
      p.session_expiry_interval = number;
      break;
    case property_id::authentication_method:
      p.authentication_method = text;
      break;
    case property_id::authentication_data:
      p.authentication_data = text;
      break;
    case property_id::request_problem_information:
      p.request_problem_information = static_cast<uint8_t>(number);
      break;
    case property_id::request_response_information:
      p.request_response_information = static_cast<uint8_t>(number);
      break;
    case property_id::will_delay_interval:
      p.will_delay_interval = number;
      break;
    case property_id::reason_string:
      p.reason_string = text;
      break;
    case property_id::server_reference:
      p.server_reference = text;
      break;
    case property_id::receive_maximum:
      if (number == 0) {
        return fail(err, reason::protocol_error, "receive maximum 0");
      }
      p.receive_maximum = static_cast<uint16_t>(number);
      break;
    case property_id::topic_alias_maximum:
      p.topic_alias_maximum = static_cast<uint16_t>(number);
      break;
    case property_id::topic_alias:
      if (number == 0) {
        return fail(err, reason::protocol_error, "topic alias 0");
      }
      p.topic_alias = static_cast<uint16_t>(number);
      break;
    case property_id::maximum_packet_size:
      if (number == 0) {
        return fail(err, reason::protocol_error, "maximum packet size 0");
      }
      p.maximum_packet_size = number;
      break;
    case property_id::user_property:
      ++p.user_property_count;
      break;
    default:
      break;  // server-only properties never reach here (not allowed in client packets)
  }
  return true;
}

}  // namespace

property_type type_of(uint8_t id) {
  return id < table.size() ? table[id].type : property_type::none;
}

bool allowed_in(uint8_t id, property_context ctx) {
  return id < table.size() && (table[id].contexts & in(ctx)) != 0;
}

bool read_properties(reader& r, property_context ctx, properties& out, property_error& err) {
  out = properties{};
  uint32_t length = 0;
  if (!r.varint(length)) {
    return fail(err, reason::malformed_packet, "bad property length");
  }
  if (!r.bytes(length, out.raw)) {
    return fail(err, reason::malformed_packet, "property length past the end of the packet");
  }
  reader block(out.raw);
  uint8_t id = 0;
  while (block.u8(id)) {
    if (type_of(id) == property_type::none) {
      return fail(err, reason::malformed_packet, "unknown property");
    }
    if (!allowed_in(id, ctx)) {
      return fail(err, reason::malformed_packet, "property not allowed in this packet");
    }
    const uint64_t bit = uint64_t{1} << id;
    if ((out.present & bit) != 0 && id != static_cast<uint8_t>(property_id::user_property)) {
      return fail(err, reason::protocol_error, "property given twice");
    }
    out.present |= bit;
    uint32_t number = 0;
    std::string_view text;
    bool ok = false;
    switch (type_of(id)) {
      case property_type::byte: {
        uint8_t v = 0;
        ok = block.u8(v);
        number = v;
        if (ok && is_boolean_byte(id) && v > 1) {
          return fail(err, reason::protocol_error, "property value must be 0 or 1");
        }
        break;
      }
      case property_type::two_byte: {
        uint16_t v = 0;
        ok = block.u16(v);
        number = v;
        break;
      }
      case property_type::four_byte:
        ok = block.u32(number);
        break;
      case property_type::varint:
        ok = block.varint(number);
        break;
      case property_type::utf8:
        ok = block.utf8(text);
        break;
      case property_type::binary:
        ok = block.binary(text);
        break;
      case property_type::pair: {
        std::string_view value;
        ok = block.utf8(text) && block.utf8(value);
        break;
      }
      case property_type::none:
        break;
    }
    if (!ok) {
      return fail(err, reason::malformed_packet, "truncated or invalid property value");
    }
    if (!store(out, static_cast<property_id>(id), number, text, ctx, err)) {
      return false;
    }
  }
  return true;
}

bool forwarded_property(uint8_t id) {
  switch (static_cast<property_id>(id)) {
    case property_id::payload_format_indicator:
    case property_id::content_type:
    case property_id::response_topic:
    case property_id::correlation_data:
    case property_id::user_property:
      return true;
    default:
      return false;
  }
}

std::size_t forwarded_properties_size(std::string_view raw) {
  std::size_t size = 0;
  for_each_property(raw, [&](uint8_t id, std::string_view bytes) {
    if (forwarded_property(id)) {
      size += bytes.size();
    }
  });
  return size;
}

char* copy_forwarded_properties(std::string_view raw, char* out) {
  for_each_property(raw, [&](uint8_t id, std::string_view bytes) {
    if (forwarded_property(id)) {
      out = write_bytes(out, bytes);
    }
  });
  return out;
}

}  // namespace wsa::mqtt
