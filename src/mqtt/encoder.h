// Encoders of the packets a server sends, except PUBLISH (publish.h): CONNACK, PUBACK,
// PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP and (5.0) DISCONNECT, in the form of
// the connection's protocol. Each has a size function and a writer into caller memory of
// at least that size; the writer returns the end of what it wrote (exactly size bytes).
// 5.0 properties are written only when they say something their absence does not.
// Pure: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "mqtt/reason.h"

namespace wsa::mqtt {

struct connack_fields {
  bool session_present = false;
  /// MQTT 5 reason code. A 3.1.1 CONNACK carries connack_code_v311(code); a code that 3.1.1
  /// cannot say (see reason.h) must not be sent in a 3.1.1 CONNACK (the connection closes).
  reason code = reason::success;
  // 5.0 properties.
  bool has_session_expiry = false;  ///< send the (server-chosen) session expiry interval
  uint32_t session_expiry_interval = 0;
  uint16_t receive_maximum = 65535;               ///< sent when below 65535
  uint8_t maximum_qos = 2;                        ///< sent when below 2
  bool retain_available = true;                   ///< sent when false
  uint32_t maximum_packet_size = 0;               ///< sent when non-zero
  std::string_view assigned_client_id;            ///< sent when non-empty
  uint16_t topic_alias_maximum = 0;               ///< sent when non-zero
  std::string_view reason_string;                 ///< sent when non-empty
  bool wildcard_subscription_available = true;    ///< sent when false
  bool subscription_identifier_available = true;  ///< sent when false
  bool shared_subscription_available = false;     ///< sent when false (absent means true)
  bool has_server_keep_alive = false;  ///< send server_keep_alive (overrides the client's)
  uint16_t server_keep_alive = 0;
};

std::size_t connack_size(protocol level, const connack_fields& f);
char* write_connack(char* out, protocol level, const connack_fields& f);

/// PUBACK, PUBREC, PUBREL or PUBCOMP. In 5.0 the short forms are used where allowed: no
/// reason code when it is success without properties.
struct ack_fields {
  uint16_t packet_id = 0;
  reason code = reason::success;
  std::string_view reason_string;  ///< 5.0, sent when non-empty
};

std::size_t ack_size(protocol level, const ack_fields& f);
char* write_ack(char* out, protocol level, packet_type type, const ack_fields& f);

/// SUBACK: one code per topic filter of the SUBSCRIBE, in order (granted QoS or a failure);
/// 3.1.1 says every failure as 0x80.
std::size_t suback_size(protocol level, std::span<const reason> codes,
                        std::string_view reason_string = {});
char* write_suback(char* out, protocol level, uint16_t packet_id, std::span<const reason> codes,
                   std::string_view reason_string = {});

/// UNSUBACK: 3.1.1 carries only the packet identifier; 5.0 one code per topic filter
/// (success or no_subscription_existed, or a failure).
std::size_t unsuback_size(protocol level, std::span<const reason> codes,
                          std::string_view reason_string = {});
char* write_unsuback(char* out, protocol level, uint16_t packet_id, std::span<const reason> codes,
                     std::string_view reason_string = {});

inline constexpr std::size_t pingresp_size = 2;
char* write_pingresp(char* out);

/// DISCONNECT from the server, 5.0 only (3.1.1 servers just close). `server_reference`
/// goes with use_another_server / server_moved.
std::size_t disconnect_size(reason code, std::string_view reason_string = {},
                            std::string_view server_reference = {});
char* write_disconnect(char* out, reason code, std::string_view reason_string = {},
                       std::string_view server_reference = {});

}  // namespace wsa::mqtt
