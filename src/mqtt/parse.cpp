// The bodies of client packets, field by field (MQTT 3.1.1 and 5.0 chapter 3), with the
// reason code each violation gets (MQTT 5.0 section 4.13: a malformed packet breaks the
// format, a protocol error breaks a rule about values). See decoder.h.
#include <string_view>

#include "mqtt/decoder.h"

namespace wsa::mqtt {
namespace {

struct context {
  protocol level;
  decode_error& err;

  bool fail(reason code, const char* what) const {
    err.code = code;
    err.what = what;
    return false;
  }
  bool malformed(const char* what) const { return fail(reason::malformed_packet, what); }
  bool protocol_error(const char* what) const { return fail(reason::protocol_error, what); }

  bool props(reader& r, property_context where, properties& out) const {
    if (level != protocol::v5) {
      out = properties{};
      return true;
    }
    property_error pe;
    if (!read_properties(r, where, out, pe)) {
      return fail(pe.code, pe.what);
    }
    return true;
  }
};

// A packet identifier: present, and not 0 ([MQTT-2.2.1-3], 5.0 [MQTT-2.2.1-3]).
bool read_packet_id(const context& cx, reader& r, uint16_t& id, const char* truncated) {
  if (!r.u16(id)) {
    return cx.malformed(truncated);
  }
  return id != 0 || cx.protocol_error("packet identifier 0");
}

bool parse_connect(std::string_view body, connect_packet& c, decode_error& err) {
  context cx{protocol::none, err};
  reader r(body);
  std::string_view name;
  uint8_t level = 0;
  if (!r.utf8(name) || !r.u8(level)) {
    return cx.malformed("truncated CONNECT");
  }
  if (name != "MQTT") {
    // 3.1 ("MQIsdp", level 3) is not served; anything else is no MQTT ([MQTT-3.1.2-1]).
    return name == "MQIsdp" ? cx.fail(reason::unsupported_protocol_version, "MQTT 3.1")
                            : cx.protocol_error("not an MQTT protocol name");
  }
  if (level != 4 && level != 5) {
    return cx.fail(reason::unsupported_protocol_version, "unsupported protocol level");
  }
  c.level = static_cast<protocol>(level);
  cx.level = c.level;
  err.level = c.level;  // from here on, errors are answered in this protocol
  uint8_t flags = 0;
  if (!r.u8(flags) || !r.u16(c.keep_alive)) {
    return cx.malformed("truncated CONNECT");
  }
  if ((flags & 0x01) != 0) {
    return cx.malformed("reserved CONNECT flag set");
  }
  c.clean_start = (flags & 0x02) != 0;
  c.will = (flags & 0x04) != 0;
  c.will_qos = (flags >> 3) & 0x03;
  c.will_retain = (flags & 0x20) != 0;
  c.has_password = (flags & 0x40) != 0;
  c.has_username = (flags & 0x80) != 0;
  if (c.will_qos == 3) {
    return cx.malformed("will QoS 3");
  }
  if (!c.will && (c.will_qos != 0 || c.will_retain)) {
    return cx.malformed("will QoS or retain without a will");
  }
  if (c.level == protocol::v311 && c.has_password && !c.has_username) {
    return cx.protocol_error("password without a user name");  // [MQTT-3.1.2-22]
  }
  if (!cx.props(r, property_context::connect, c.props)) {
    return false;
  }
  if (c.props.has(property_id::authentication_data) &&
      !c.props.has(property_id::authentication_method)) {
    return cx.protocol_error("authentication data without a method");
  }
  if (!r.utf8(c.client_id)) {
    return cx.malformed("bad client identifier");
  }
  if (c.will) {
    if (!cx.props(r, property_context::will, c.will_props)) {
      return false;
    }
    if (!r.utf8(c.will_topic) || !r.binary(c.will_payload)) {
      return cx.malformed("bad will topic or payload");
    }
    if (c.will_topic.empty() || has_wildcard(c.will_topic)) {
      return cx.fail(reason::topic_name_invalid, "will topic is not a topic name");
    }
  }
  if (c.has_username && !r.utf8(c.username)) {
    return cx.malformed("bad user name");
  }
  if (c.has_password && !r.binary(c.password)) {
    return cx.malformed("bad password");
  }
  if (!r.done()) {
    return cx.malformed("bytes after the CONNECT payload");
  }
  return true;
}

bool parse_publish(const context& cx, uint8_t flags, std::string_view body, publish_packet& p) {
  reader r(body);
  p.dup = (flags & 0x08) != 0;
  p.qos = (flags >> 1) & 0x03;  // 3 and DUP with QoS 0 were refused with the fixed header
  p.retain = (flags & 0x01) != 0;
  p.packet_id = 0;
  if (!r.utf8(p.topic)) {
    return cx.malformed("bad topic name");
  }
  if (p.qos > 0) {
    if (!read_packet_id(cx, r, p.packet_id, "truncated PUBLISH")) {
      return false;
    }
  }
  if (!cx.props(r, property_context::publish, p.props)) {
    return false;
  }
  if (p.topic.empty() && !p.props.has(property_id::topic_alias)) {
    return cx.protocol_error("empty topic name");  // [MQTT-4.7.3-1], 5.0 [MQTT-3.3.2-1]
  }
  if (has_wildcard(p.topic)) {
    return cx.fail(reason::topic_name_invalid, "wildcard in a topic name");
  }
  p.payload = r.rest();
  return true;
}

bool parse_ack(const context& cx, packet_type type, std::string_view body, ack_packet& a) {
  reader r(body);
  a.code = reason::success;
  a.props = properties{};
  if (!read_packet_id(cx, r, a.packet_id, "truncated acknowledgement")) {
    return false;
  }
  if (cx.level == protocol::v5 && !r.done()) {
    uint8_t code = 0;
    r.u8(code);
    if (!client_may_send(type, code)) {
      return cx.protocol_error("reason code not valid in this packet");
    }
    a.code = static_cast<reason>(code);
    if (!r.done() && !cx.props(r, property_context::ack, a.props)) {
      return false;
    }
  }
  return r.done() || cx.malformed("bytes after the acknowledgement");
}

// Validates one SUBSCRIBE entry's options byte.
bool check_options(const context& cx, uint8_t options) {
  if ((options & 0x03) == 3) {
    return cx.malformed("subscription QoS 3");
  }
  if (cx.level != protocol::v5) {
    return (options & 0xfc) == 0 || cx.malformed("reserved subscription option bits");
  }
  if ((options & 0xc0) != 0) {
    return cx.malformed("reserved subscription option bits");
  }
  return ((options >> 4) & 0x03) != 3 || cx.protocol_error("retain handling 3");
}

// SUBSCRIBE and UNSUBSCRIBE: a packet identifier, properties, then one or more topic filters
// (each with an options byte in SUBSCRIBE). `payload` and `count` describe the filters.
bool parse_filters(const context& cx, std::string_view body, bool with_options,
                   property_context where, uint16_t& packet_id, properties& props,
                   std::string_view& payload, std::size_t& count) {
  reader r(body);
  if (!read_packet_id(cx, r, packet_id, "truncated SUBSCRIBE or UNSUBSCRIBE") ||
      !cx.props(r, where, props)) {
    return false;
  }
  payload = r.rest();
  count = 0;
  while (!r.done()) {
    std::string_view filter;
    uint8_t options = 0;
    if (!r.utf8(filter) || (with_options && !r.u8(options))) {
      return cx.malformed("bad topic filter");
    }
    if (with_options && !check_options(cx, options)) {
      return false;
    }
    if (filter.empty()) {
      return cx.protocol_error("empty topic filter");
    }
    ++count;
  }
  // [MQTT-3.8.3-3], [MQTT-3.10.3-2]
  return count != 0 || cx.protocol_error("SUBSCRIBE or UNSUBSCRIBE without a topic filter");
}

bool parse_subscribe(const context& cx, std::string_view body, subscribe_packet& s) {
  std::string_view payload;
  std::size_t count = 0;
  if (!parse_filters(cx, body, true, property_context::subscribe, s.packet_id, s.props, payload,
                     count)) {
    return false;
  }
  s.entries = subscription_list(payload, count);
  return true;
}

bool parse_unsubscribe(const context& cx, std::string_view body, unsubscribe_packet& u) {
  std::string_view payload;
  std::size_t count = 0;
  if (!parse_filters(cx, body, false, property_context::unsubscribe, u.packet_id, u.props, payload,
                     count)) {
    return false;
  }
  u.filters = filter_list(payload, count);
  return true;
}

// DISCONNECT and AUTH: an optional reason code, then optional properties (5.0 only).
bool parse_disconnect(const context& cx, packet_type type, std::string_view body,
                      disconnect_packet& d) {
  reader r(body);
  d.code = reason::success;
  d.props = properties{};
  if (cx.level != protocol::v5) {
    return r.done() || cx.malformed("bytes in DISCONNECT");
  }
  if (r.done()) {
    return true;
  }
  uint8_t code = 0;
  r.u8(code);
  if (!client_may_send(type, code)) {
    return cx.protocol_error("reason code not valid in this packet");
  }
  d.code = static_cast<reason>(code);
  const auto where =
      type == packet_type::auth ? property_context::auth : property_context::disconnect;
  if (!r.done() && !cx.props(r, where, d.props)) {
    return false;
  }
  return r.done() || cx.malformed("bytes after the properties");
}

}  // namespace

bool parse_packet(protocol level, uint8_t first_byte, std::string_view body, packet& out,
                  decode_error& err) {
  const auto type = static_cast<packet_type>(first_byte >> 4);
  out.type = type;
  err.packet = type;
  err.level = level;
  const context cx{level, err};
  switch (type) {
    case packet_type::connect:
      out.connect = connect_packet{};
      return parse_connect(body, out.connect, err);
    case packet_type::publish:
      return parse_publish(cx, first_byte & 0x0f, body, out.publish);
    case packet_type::puback:
    case packet_type::pubrec:
    case packet_type::pubrel:
    case packet_type::pubcomp:
      return parse_ack(cx, type, body, out.ack);
    case packet_type::subscribe:
      return parse_subscribe(cx, body, out.subscribe);
    case packet_type::unsubscribe:
      return parse_unsubscribe(cx, body, out.unsubscribe);
    case packet_type::pingreq:
      return body.empty() || cx.malformed("bytes in PINGREQ");
    case packet_type::disconnect:
    case packet_type::auth:
      return parse_disconnect(cx, type, body, out.disconnect);
    default:  // the decoder refuses the other types on their fixed header
      return cx.protocol_error("unexpected packet type");
  }
}

}  // namespace wsa::mqtt
