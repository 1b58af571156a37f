// Decoding helpers for the MQTT tests: run a decoder over bytes fed in chosen pieces and
// describe each packet as one line, so that tests compare readable text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hex.h"
#include "mqtt/decoder.h"

namespace wsa::mqtt::test {

/// A packet: first byte, then the remaining length, then the body (hex, spaces ignored).
inline std::string frame(uint8_t first, std::string_view body_hex) {
  const std::string body = unhex(body_hex);
  std::string out(1, static_cast<char>(first));
  char length[4];
  out.append(length, write_varint(length, static_cast<uint32_t>(body.size())));
  return out + body;
}

inline std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += hex_digits[u >> 4];
      out += hex_digits[u & 15];
    }
  }
  return out;
}

inline std::string describe_properties(const properties& p) {
  std::string out;
  auto add = [&](const std::string& s) { out += " " + s; };
  using id = property_id;
  if (p.has(id::payload_format_indicator))
    add("format=" + std::to_string(p.payload_format_indicator));
  if (p.has(id::message_expiry_interval))
    add("expiry=" + std::to_string(p.message_expiry_interval));
  if (p.has(id::content_type)) add("content_type=" + printable(p.content_type));
  if (p.has(id::response_topic)) add("response_topic=" + printable(p.response_topic));
  if (p.has(id::correlation_data)) add("correlation=" + printable(p.correlation_data));
  if (p.has(id::subscription_identifier))
    add("sub_id=" + std::to_string(p.subscription_identifier));
  if (p.has(id::session_expiry_interval))
    add("session_expiry=" + std::to_string(p.session_expiry_interval));
  if (p.has(id::request_problem_information))
    add("problem_info=" + std::to_string(p.request_problem_information));
  if (p.has(id::request_response_information))
    add("response_info=" + std::to_string(p.request_response_information));
  if (p.has(id::will_delay_interval)) add("will_delay=" + std::to_string(p.will_delay_interval));
  if (p.has(id::reason_string)) add("reason_string=" + printable(p.reason_string));
  if (p.has(id::receive_maximum)) add("receive_max=" + std::to_string(p.receive_maximum));
  if (p.has(id::topic_alias_maximum)) add("alias_max=" + std::to_string(p.topic_alias_maximum));
  if (p.has(id::topic_alias)) add("alias=" + std::to_string(p.topic_alias));
  if (p.has(id::maximum_packet_size)) add("max_packet=" + std::to_string(p.maximum_packet_size));
  for_each_user_property(p.raw, [&](std::string_view k, std::string_view v) {
    add("user:" + printable(k) + "=" + printable(v));
  });
  return out;
}

inline std::string describe(const packet& pk) {
  std::string out = packet_type_name(pk.type);
  switch (pk.type) {
    case packet_type::connect: {
      const connect_packet& c = pk.connect;
      out += c.level == protocol::v5 ? " v5" : " v311";
      out += " id=" + printable(c.client_id);
      out += c.clean_start ? " clean" : " keep";
      out += " ka=" + std::to_string(c.keep_alive);
      if (c.will) {
        out += " will=" + printable(c.will_topic) + ":" + printable(c.will_payload) + ":q" +
               std::to_string(c.will_qos) + (c.will_retain ? ":r" : "");
        out += describe_properties(c.will_props);
      }
      if (c.has_username) out += " user=" + printable(c.username);
      if (c.has_password) out += " pass=" + printable(c.password);
      out += describe_properties(c.props);
      break;
    }
    case packet_type::publish: {
      const publish_packet& p = pk.publish;
      out += " q" + std::to_string(p.qos);
      if (p.dup) out += " dup";
      if (p.retain) out += " retain";
      if (p.qos > 0) out += " id=" + std::to_string(p.packet_id);
      out += " topic=" + printable(p.topic) + " payload=" + printable(p.payload);
      out += describe_properties(p.props);
      break;
    }
    case packet_type::puback:
    case packet_type::pubrec:
    case packet_type::pubrel:
    case packet_type::pubcomp:
      out += " id=" + std::to_string(pk.ack.packet_id);
      if (pk.ack.code != reason::success) out += std::string(" code=") + reason_name(pk.ack.code);
      out += describe_properties(pk.ack.props);
      break;
    case packet_type::subscribe:
      out += " id=" + std::to_string(pk.subscribe.packet_id);
      for (const subscription_request& r : pk.subscribe.entries) {
        out += " " + printable(r.filter) + ":q" + std::to_string(r.max_qos);
        if (r.no_local) out += ":nl";
        if (r.retain_as_published) out += ":rap";
        if (r.retain_handling != 0) out += ":rh" + std::to_string(r.retain_handling);
      }
      out += describe_properties(pk.subscribe.props);
      break;
    case packet_type::unsubscribe:
      out += " id=" + std::to_string(pk.unsubscribe.packet_id);
      for (const std::string_view f : pk.unsubscribe.filters) {
        out += " " + printable(f);
      }
      out += describe_properties(pk.unsubscribe.props);
      break;
    case packet_type::disconnect:
    case packet_type::auth:
      if (pk.disconnect.code != reason::success) {
        out += std::string(" code=") + reason_name(pk.disconnect.code);
      }
      out += describe_properties(pk.disconnect.props);
      break;
    default:
      break;
  }
  return out;
}

/// Feeds `bytes` in pieces of the given sizes (the last piece takes the rest) and describes
/// every packet; an error ends the list with "error: <reason name>: <what>".
inline std::vector<std::string> decode_all(std::string_view bytes,
                                           const std::vector<std::size_t>& pieces = {},
                                           uint32_t max_packet = 1 << 20) {
  decoder d(max_packet);
  std::vector<std::string> out;
  std::size_t at = 0;
  std::size_t piece = 0;
  while (at < bytes.size()) {
    std::size_t n = piece < pieces.size() ? pieces[piece++] : bytes.size() - at;
    n = std::min(n, bytes.size() - at);
    // Each piece lives in its own buffer that is overwritten afterwards, as a recycled
    // receive buffer would be: views must not outlive the call that returned them.
    std::string buffer(bytes.substr(at, n));
    std::string_view input(buffer);
    at += n;
    for (;;) {
      packet p;
      decode_error e;
      const decode_status s = d.next(input, p, e);
      if (s == decode_status::need_more) {
        break;
      }
      if (s == decode_status::error) {
        out.push_back(std::string("error: ") + reason_name(e.code) + ": " + e.what);
        return out;
      }
      out.push_back(describe(p));
      if (input.empty()) {
        break;
      }
    }
    buffer.assign(buffer.size(), '\xee');
  }
  return out;
}

}  // namespace wsa::mqtt::test
