// Names and per-packet validity of MQTT reason codes; the 3.1.1 translation. See reason.h.
#include "mqtt/reason.h"

namespace wsa::mqtt {

const char* packet_type_name(packet_type t) {
  static constexpr const char* names[16] = {"reserved",  "CONNECT",  "CONNACK",     "PUBLISH",
                                            "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                            "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                            "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
  return names[static_cast<uint8_t>(t) & 0x0f];
}

const char* reason_name(reason r) {
  switch (r) {
    case reason::success:
      return "success";
    case reason::granted_qos1:
      return "granted QoS 1";
    case reason::granted_qos2:
      return "granted QoS 2";
    case reason::disconnect_with_will:
      return "disconnect with will message";
    case reason::no_matching_subscribers:
      return "no matching subscribers";
    case reason::no_subscription_existed:
      return "no subscription existed";
    case reason::continue_authentication:
      return "continue authentication";
    case reason::reauthenticate:
      return "re-authenticate";
    case reason::unspecified_error:
      return "unspecified error";
    case reason::malformed_packet:
      return "malformed packet";
    case reason::protocol_error:
      return "protocol error";
    case reason::implementation_specific_error:
      return "implementation specific error";
    case reason::unsupported_protocol_version:
      return "unsupported protocol version";
    case reason::client_identifier_not_valid:
      return "client identifier not valid";
    case reason::bad_user_name_or_password:
      return "bad user name or password";
    case reason::not_authorized:
      return "not authorized";
    case reason::server_unavailable:
      return "server unavailable";
    case reason::server_busy:
      return "server busy";
    case reason::banned:
      return "banned";
    case reason::server_shutting_down:
      return "server shutting down";
    case reason::bad_authentication_method:
      return "bad authentication method";
    case reason::keep_alive_timeout:
      return "keep alive timeout";
    case reason::session_taken_over:
      return "session taken over";
    case reason::topic_filter_invalid:
      return "topic filter invalid";
    case reason::topic_name_invalid:
      return "topic name invalid";
    case reason::packet_identifier_in_use:
      return "packet identifier in use";
    case reason::packet_identifier_not_found:
      return "packet identifier not found";
    case reason::receive_maximum_exceeded:
      return "receive maximum exceeded";
    case reason::topic_alias_invalid:
      return "topic alias invalid";
    case reason::packet_too_large:
      return "packet too large";
    case reason::message_rate_too_high:
      return "message rate too high";
    case reason::quota_exceeded:
      return "quota exceeded";
    case reason::administrative_action:
      return "administrative action";
    case reason::payload_format_invalid:
      return "payload format invalid";
    case reason::retain_not_supported:
      return "retain not supported";
    case reason::qos_not_supported:
      return "QoS not supported";
    case reason::use_another_server:
      return "use another server";
    case reason::server_moved:
      return "server moved";
    case reason::shared_subscriptions_not_supported:
      return "shared subscriptions not supported";
    case reason::connection_rate_exceeded:
      return "connection rate exceeded";
    case reason::maximum_connect_time:
      return "maximum connect time";
    case reason::subscription_identifiers_not_supported:
      return "subscription identifiers not supported";
    case reason::wildcard_subscriptions_not_supported:
      return "wildcard subscriptions not supported";
  }
  return "unknown";
}

bool client_may_send(packet_type t, uint8_t code) {
  switch (t) {
    case packet_type::puback:
    case packet_type::pubrec:  // MQTT 5.0 sections 3.4.2.1 and 3.5.2.1
      switch (code) {
        case 0x00:
        case 0x10:
        case 0x80:
        case 0x83:
        case 0x87:
        case 0x90:
        case 0x91:
        case 0x97:
        case 0x99:
          return true;
        default:
          return false;
      }
    case packet_type::pubrel:
    case packet_type::pubcomp:  // sections 3.6.2.1 and 3.7.2.1
      return code == 0x00 || code == 0x92;
    case packet_type::disconnect:  // section 3.14.2.1, the codes marked "Client" or "Client &
                                   // Server"
      switch (code) {
        case 0x00:
        case 0x04:
        case 0x80:
        case 0x81:
        case 0x82:
        case 0x83:
        case 0x90:
        case 0x93:
        case 0x94:
        case 0x95:
        case 0x96:
        case 0x97:
        case 0x98:
        case 0x99:
          return true;
        default:
          return false;
      }
    case packet_type::auth:  // section 3.15.2.1
      return code == 0x00 || code == 0x18 || code == 0x19;
    default:
      return false;
  }
}

bool connack_code_v311(reason r, connack_v311& code) {
  switch (r) {
    case reason::success:
      code = connack_v311::accepted;
      return true;
    case reason::unsupported_protocol_version:
      code = connack_v311::unacceptable_protocol_version;
      return true;
    case reason::client_identifier_not_valid:
      code = connack_v311::identifier_rejected;
      return true;
    case reason::bad_user_name_or_password:
    case reason::bad_authentication_method:
      code = connack_v311::bad_user_name_or_password;
      return true;
    case reason::not_authorized:
    case reason::banned:
    case reason::topic_name_invalid:  // a will topic this server cannot publish to
    case reason::retain_not_supported:
    case reason::qos_not_supported:
      code = connack_v311::not_authorized;
      return true;
    case reason::unspecified_error:
    case reason::implementation_specific_error:
    case reason::server_unavailable:
    case reason::server_busy:
    case reason::server_shutting_down:
    case reason::quota_exceeded:
    case reason::connection_rate_exceeded:
    case reason::use_another_server:
    case reason::server_moved:
      code = connack_v311::server_unavailable;
      return true;
    default:  // malformed packet, protocol error, packet too large...: close, say nothing
      return false;
  }
}

}  // namespace wsa::mqtt
