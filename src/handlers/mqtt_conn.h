// What the MQTT handler keeps per connection (conn::mqtt points here; the handler owns it):
// the decoder from the first byte, and from an accepted CONNECT on the session logic, the
// QoS 1 outbound window, the token's permissions and the SUBACKs waiting for the router.
// Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "auth/perm.h"
#include "broker/message.h"
#include "handlers/mqtt_frames.h"
#include "mqtt/connect.h"
#include "mqtt/decoder.h"
#include "mqtt/outbound.h"
#include "mqtt/session.h"
#include "net/token_bucket.h"

namespace wsa {

class ws_session;

/// A SUBSCRIBE whose new subscriptions wait for the router's answer.
struct mqtt_pending_suback {
  uint16_t packet_id = 0;
  std::vector<mqtt::reason> codes;
  std::vector<mqtt::filter_patterns> retained;  ///< whose retained messages follow the SUBACK
};

/// A QoS 1 delivery in the session's window or queue: the message, and how it goes out as
/// planned once, when it arrived (a subscription changed meanwhile does not re-plan it:
/// MQTT lets a server finish delivering what it had buffered, [MQTT-3.10.4-3]).
struct mqtt_outgoing {
  message_ref m;
  bool retain_as_published = false;
  bool retained = false;  ///< a retained message sent on SUBSCRIBE (retain flag set)
  std::vector<uint32_t> subscription_ids;  ///< 5.0 Subscription Identifiers; mostly empty
};

struct mqtt_conn {
  explicit mqtt_conn(uint32_t max_packet_size, bool over_ws)
      : decoder(max_packet_size), wire{mqtt::protocol::v311, over_ws} {}

  mqtt::decoder decoder;
  mqtt_wire wire;
  ws_session* ws = nullptr;  ///< over WebSocket: the wslay context, attached mid-message
  /// Set by an accepted CONNECT.
  std::optional<mqtt::session> session;
  uint64_t publisher = 0;  ///< mqtt::session_hash of the session key: No Local's identity
  std::optional<mqtt::outbound_window<mqtt_outgoing>> window;
  /// What the token grants; null with --no-auth (everything allowed).
  std::unique_ptr<permissions> perms;
  int64_t token_exp = 0;  ///< unix seconds; 0: none
  token_bucket pub_bucket;  ///< --pub-rate, as a WebSocket's
  token_bucket sub_bucket;  ///< --sub-rate
  bool clean_end = false;  ///< a DISCONNECT with reason 0 came: no will
  /// Between an accepted CONNECT and the session owner's answer (resume): the CONNACK to
  /// send then, and the bytes that came after the CONNECT (handled after the CONNACK).
  std::optional<mqtt::connect_outcome> awaiting_resume;
  std::string held_input;
  std::string session_token;  ///< its holder token in the session store (Redis); else empty
  bool keeps_session = false;  ///< persistent: positions are tracked for its resume
  std::vector<mqtt_pending_suback> subacks;
};

}  // namespace wsa
