// Server packets other than PUBLISH. Each body is one template over a sink (sink.h), used
// once to size and once to write. See encoder.h.
#include "mqtt/encoder.h"

#include "mqtt/properties.h"
#include "mqtt/sink.h"

namespace wsa::mqtt {
namespace {

using namespace detail;

constexpr uint8_t first_byte(packet_type t, uint8_t flags = 0) {
  return static_cast<uint8_t>(static_cast<uint8_t>(t) << 4 | flags);
}

auto connack_body(protocol level, const connack_fields& f) {
  return [level, &f](auto& s) {
    s.u8(f.session_present ? 1 : 0);
    if (level != protocol::v5) {
      connack_v311 code = connack_v311::server_unavailable;
      connack_code_v311(f.code, code);
      s.u8(static_cast<uint8_t>(code));
      return;
    }
    s.u8(static_cast<uint8_t>(f.code));
    property_block(s, [&f](auto& p) {
      if (f.has_session_expiry) {
        prop_u32(p, property_id::session_expiry_interval, f.session_expiry_interval);
      }
      if (f.receive_maximum < 65535) {
        prop_u16(p, property_id::receive_maximum, f.receive_maximum);
      }
      if (f.maximum_qos < 2) {
        prop_u8(p, property_id::maximum_qos, f.maximum_qos);
      }
      if (!f.retain_available) {
        prop_u8(p, property_id::retain_available, 0);
      }
      if (f.maximum_packet_size != 0) {
        prop_u32(p, property_id::maximum_packet_size, f.maximum_packet_size);
      }
      if (!f.assigned_client_id.empty()) {
        prop_string(p, property_id::assigned_client_identifier, f.assigned_client_id);
      }
      if (f.topic_alias_maximum != 0) {
        prop_u16(p, property_id::topic_alias_maximum, f.topic_alias_maximum);
      }
      if (!f.reason_string.empty()) {
        prop_string(p, property_id::reason_string, f.reason_string);
      }
      if (!f.wildcard_subscription_available) {
        prop_u8(p, property_id::wildcard_subscription_available, 0);
      }
      if (!f.subscription_identifier_available) {
        prop_u8(p, property_id::subscription_identifier_available, 0);
      }
      if (!f.shared_subscription_available) {
        prop_u8(p, property_id::shared_subscription_available, 0);
      }
      if (f.has_server_keep_alive) {
        prop_u16(p, property_id::server_keep_alive, f.server_keep_alive);
      }
    });
  };
}

auto ack_body(protocol level, const ack_fields& f) {
  return [level, &f](auto& s) {
    s.u16(f.packet_id);
    if (level != protocol::v5 || (f.code == reason::success && f.reason_string.empty())) {
      return;  // 5.0 [3.4.2.1]: reason code and properties may be left out
    }
    s.u8(static_cast<uint8_t>(f.code));
    if (!f.reason_string.empty()) {
      property_block(
          s, [&f](auto& p) { prop_string(p, property_id::reason_string, f.reason_string); });
    }
  };
}

// SUBACK and UNSUBACK bodies; 3.1.1's UNSUBACK has no codes (`v311_codes` false).
auto sub_ack_body(protocol level, uint16_t packet_id, std::span<const reason> codes,
                  std::string_view reason_string, bool v311_codes) {
  return [=](auto& s) {
    s.u16(packet_id);
    if (level == protocol::v5) {
      property_block(s, [&](auto& p) {
        if (!reason_string.empty()) {
          prop_string(p, property_id::reason_string, reason_string);
        }
      });
      for (const reason r : codes) {
        s.u8(static_cast<uint8_t>(r));
      }
    } else if (v311_codes) {
      for (const reason r : codes) {
        s.u8(suback_code_v311(r));
      }
    }
  };
}

auto disconnect_body(reason code, std::string_view reason_string,
                     std::string_view server_reference) {
  return [=](auto& s) {
    if (code == reason::success && reason_string.empty() && server_reference.empty()) {
      return;  // [3.14.2.1]: a normal disconnection may have no body
    }
    s.u8(static_cast<uint8_t>(code));
    if (reason_string.empty() && server_reference.empty()) {
      return;
    }
    property_block(s, [&](auto& p) {
      if (!reason_string.empty()) {
        prop_string(p, property_id::reason_string, reason_string);
      }
      if (!server_reference.empty()) {
        prop_string(p, property_id::server_reference, server_reference);
      }
    });
  };
}

template <class Body>
std::size_t size_of(Body&& body) {
  uint32_t body_size = 0;
  return packet_size(body, body_size);
}

}  // namespace

std::size_t connack_size(protocol level, const connack_fields& f) {
  return size_of(connack_body(level, f));
}

char* write_connack(char* out, protocol level, const connack_fields& f) {
  return write_packet(out, first_byte(packet_type::connack), connack_body(level, f));
}

std::size_t ack_size(protocol level, const ack_fields& f) { return size_of(ack_body(level, f)); }

char* write_ack(char* out, protocol level, packet_type type, const ack_fields& f) {
  const uint8_t flags = type == packet_type::pubrel ? 0x02 : 0x00;  // [MQTT-3.6.1-1]
  return write_packet(out, first_byte(type, flags), ack_body(level, f));
}

std::size_t suback_size(protocol level, std::span<const reason> codes,
                        std::string_view reason_string) {
  return size_of(sub_ack_body(level, 0, codes, reason_string, true));
}

char* write_suback(char* out, protocol level, uint16_t packet_id, std::span<const reason> codes,
                   std::string_view reason_string) {
  return write_packet(out, first_byte(packet_type::suback),
                      sub_ack_body(level, packet_id, codes, reason_string, true));
}

std::size_t unsuback_size(protocol level, std::span<const reason> codes,
                          std::string_view reason_string) {
  return size_of(sub_ack_body(level, 0, codes, reason_string, false));
}

char* write_unsuback(char* out, protocol level, uint16_t packet_id, std::span<const reason> codes,
                     std::string_view reason_string) {
  return write_packet(out, first_byte(packet_type::unsuback),
                      sub_ack_body(level, packet_id, codes, reason_string, false));
}

char* write_pingresp(char* out) {
  out[0] = static_cast<char>(first_byte(packet_type::pingresp));
  out[1] = 0;
  return out + 2;
}

std::size_t disconnect_size(reason code, std::string_view reason_string,
                            std::string_view server_reference) {
  return size_of(disconnect_body(code, reason_string, server_reference));
}

char* write_disconnect(char* out, reason code, std::string_view reason_string,
                       std::string_view server_reference) {
  return write_packet(out, first_byte(packet_type::disconnect),
                      disconnect_body(code, reason_string, server_reference));
}

}  // namespace wsa::mqtt
