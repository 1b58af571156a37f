// CONNECT validation and negotiation: from a decoded CONNECT and the server's limits to the
// values the session runs with and the CONNACK that says them (or the refusal). No I/O:
// the token's verification, the session store and the unique identifier for clients that
// send none are the caller's. Pure: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/encoder.h"
#include "mqtt/limits.h"
#include "mqtt/packet.h"

namespace wsa::mqtt {

/// The will message of a session, as the server will publish it.
struct will_message {
  std::string tag;
  std::string payload;               ///< the MQTT payload (mapped to `data` when published)
  std::string forwarded_properties;  ///< 5.0 properties carried to subscribers
  uint8_t qos = 0;
  bool retain = false;
  uint32_t delay_interval = 0;  ///< seconds after the connection ends (5.0)
  bool has_message_expiry = false;
  uint32_t message_expiry_interval = 0;
};

/// What a session runs with once its CONNECT is accepted.
struct session_params {
  protocol level = protocol::v311;
  std::string client_id;
  bool client_id_assigned = false;  ///< the client sent none; 5.0 is told it in CONNACK
  bool clean_start = true;
  uint32_t session_expiry = 0;          ///< seconds after the connection ends; 0: ends with it
  uint16_t keep_alive = 0;              ///< seconds in force (the client's or the server's)
  int64_t keep_alive_deadline_ms = 0;   ///< 1.5 x keep_alive: silence allowed; 0: none
  uint16_t outbound_window = 0;         ///< QoS 1 deliveries in flight
  uint32_t client_max_packet_size = 0;  ///< largest packet the client takes; 0: no limit
  uint16_t outbound_alias_maximum = 0;  ///< topic aliases the server may assign
  uint16_t inbound_alias_maximum = 0;   ///< topic aliases the client may set
  uint16_t receive_maximum = 0;         ///< unacknowledged QoS 1/2 PUBLISHes from the client
  bool problem_information = true;      ///< reason strings allowed beyond CONNACK/DISCONNECT
  bool has_will = false;
  will_message will;
  std::string_view token;  ///< the password (the JWT), a view into the CONNECT
};

struct connect_outcome {
  reason code = reason::success;  ///< success, or why the CONNECT is refused
  const char* what = "";
  session_params params;
  connack_fields connack;  ///< without session_present and assigned id: see connack_for
};

/// Validates `c` against `lim`. `fresh_client_id` (unique, printable ASCII) is used when the
/// client sent none. On refusal, connack carries the code: send it (3.1.1: if
/// connack_code_v311 has a code for it, else just close), then close.
connect_outcome negotiate(const connect_packet& c, const limits& lim,
                          std::string_view fresh_client_id);

/// The CONNACK for an outcome: `session_present` when the store held a session for this
/// client (never on refusal), and the assigned client identifier for a 5.0 client that sent
/// none (a view into `o`: keep it alive until the CONNACK is written).
connack_fields connack_for(const connect_outcome& o, bool session_present);

/// A client identifier this server keeps sessions under: 1..max bytes of printable ASCII.
bool is_valid_client_id(std::string_view id, std::size_t max);

}  // namespace wsa::mqtt
