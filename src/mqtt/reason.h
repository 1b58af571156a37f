// MQTT protocol levels, packet types and reason codes (MQTT 5.0 section 2.4), and how a
// refusal expressed as an MQTT 5 reason code is said to an MQTT 3.1.1 client, which only has
// CONNACK return codes (3.1.1 section 3.2.2.3) and SUBACK's 0x80. Pure: any thread.
#pragma once

#include <cstdint>

namespace wsa::mqtt {

/// The CONNECT's protocol level. `none` until a CONNECT was decoded.
enum class protocol : uint8_t { none = 0, v311 = 4, v5 = 5 };

enum class packet_type : uint8_t {
  reserved = 0,
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  pubrec = 5,
  pubrel = 6,
  pubcomp = 7,
  subscribe = 8,
  suback = 9,
  unsubscribe = 10,
  unsuback = 11,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
  auth = 15,
};

const char* packet_type_name(packet_type t);

enum class reason : uint8_t {
  success = 0x00,  // also "normal disconnection" and "granted QoS 0"
  granted_qos1 = 0x01,
  granted_qos2 = 0x02,
  disconnect_with_will = 0x04,
  no_matching_subscribers = 0x10,
  no_subscription_existed = 0x11,
  continue_authentication = 0x18,
  reauthenticate = 0x19,
  unspecified_error = 0x80,
  malformed_packet = 0x81,
  protocol_error = 0x82,
  implementation_specific_error = 0x83,
  unsupported_protocol_version = 0x84,
  client_identifier_not_valid = 0x85,
  bad_user_name_or_password = 0x86,
  not_authorized = 0x87,
  server_unavailable = 0x88,
  server_busy = 0x89,
  banned = 0x8a,
  server_shutting_down = 0x8b,
  bad_authentication_method = 0x8c,
  keep_alive_timeout = 0x8d,
  session_taken_over = 0x8e,
  topic_filter_invalid = 0x8f,
  topic_name_invalid = 0x90,
  packet_identifier_in_use = 0x91,
  packet_identifier_not_found = 0x92,
  receive_maximum_exceeded = 0x93,
  topic_alias_invalid = 0x94,
  packet_too_large = 0x95,
  message_rate_too_high = 0x96,
  quota_exceeded = 0x97,
  administrative_action = 0x98,
  payload_format_invalid = 0x99,
  retain_not_supported = 0x9a,
  qos_not_supported = 0x9b,
  use_another_server = 0x9c,
  server_moved = 0x9d,
  shared_subscriptions_not_supported = 0x9e,
  connection_rate_exceeded = 0x9f,
  maximum_connect_time = 0xa0,
  subscription_identifiers_not_supported = 0xa1,
  wildcard_subscriptions_not_supported = 0xa2,
};

/// The specification's name of a reason code ("malformed packet"); "unknown" for a byte
/// that is no reason code.
const char* reason_name(reason r);

/// True when `code` is a reason code MQTT 5 allows in a packet of this type sent by a client
/// (PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH).
bool client_may_send(packet_type t, uint8_t code);

/// MQTT 3.1.1 CONNACK return codes.
enum class connack_v311 : uint8_t {
  accepted = 0,
  unacceptable_protocol_version = 1,
  identifier_rejected = 2,
  server_unavailable = 3,
  bad_user_name_or_password = 4,
  not_authorized = 5,
};

/// How a CONNECT refused for `r` is answered to a 3.1.1 client: the return code to send in
/// CONNACK, or false when 3.1.1 wants the connection closed without one (a malformed or
/// otherwise invalid CONNECT, 3.1.1 section 3.1.4).
bool connack_code_v311(reason r, connack_v311& code);

/// The 3.1.1 SUBACK return code for a granted QoS or a failure (any code >= 0x80).
inline uint8_t suback_code_v311(reason r) {
  return static_cast<uint8_t>(r) >= 0x80 ? 0x80 : static_cast<uint8_t>(r);
}

}  // namespace wsa::mqtt
